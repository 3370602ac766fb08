"""The sandbox's SQLite storage of definitions, groups and schemas, its timestamps and seed data."""
