"""The ``eventschema`` command line: ``main`` assembles the command groups of the other modules."""
