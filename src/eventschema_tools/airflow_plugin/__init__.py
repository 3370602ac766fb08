"""Airflow adapter of eventschema-tools: hook, operators, sensor, provider info and plugin.

Install with ``pip install 'eventschema-tools[airflow]'`` and import from the submodules::

    from eventschema_tools.airflow_plugin.hooks import EventSchemaHook
    from eventschema_tools.airflow_plugin.operators import EventSchemaAuditOperator
    from eventschema_tools.airflow_plugin.sensors import EventSchemaConformanceSensor

Example DAGs live in the repository's ``airflow_plugin/example_dags/``; the wheel carries them
as ``eventschema_tools/airflow_plugin/example_dags/``, and
``python -m eventschema_tools.airflow_plugin.examples dags`` prints whichever folder is there.

This package's ``__init__`` and ``provider_info`` never import Airflow: Airflow's provider
discovery loads ``provider_info`` in every Airflow process, and it must stay cheap and safe.
"""
