"""``python mcp_server.py``: the same server as ``eventschema-mcp`` (see docs/mcp.md)."""

from eventschema_tools.mcp_server.__main__ import main

if __name__ == "__main__":
    main()
