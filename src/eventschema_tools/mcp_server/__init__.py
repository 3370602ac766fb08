"""``eventschema-mcp``: the schema operations as tools for AI assistants (``mcp`` extra)."""
