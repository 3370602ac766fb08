"""The ``eventschema`` command groups; ``eventschema_tools.cli`` assembles them into one app."""
