"""``eventschema-mcp`` and ``python -m eventschema_tools.mcp_server``.

The server needs the ``mcp`` extra; without it this entry point says so in one line.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> None:
    """Run the MCP server, or exit 1 with an install hint when the ``mcp`` extra is missing."""
    try:
        from eventschema_tools.mcp_server.server import main as serve
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.partition(".")[0] != "mcp":
            raise
        sys.stderr.write(
            "eventschema-mcp: the MCP server needs the mcp extra: "
            "pip install 'eventschema-tools[mcp]'\n"
        )
        raise SystemExit(1) from None
    serve(argv)


if __name__ == "__main__":
    main()
