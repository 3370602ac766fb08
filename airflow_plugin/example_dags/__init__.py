"""Example DAGs for the eventschema-tools Airflow operators (copy them into your DAGs folder)."""
