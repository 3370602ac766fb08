"""``eventschema-mcp`` and ``python -m eventschema_tools.mcp_server``.

The server needs the ``mcp`` extra; without it this entry point says so in one line and exits 1.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from eventschema_tools.errors import MissingExtraError, requires_extra


def main(argv: Sequence[str] | None = None) -> None:
    """Run the MCP server, or exit 1 with an install hint when the ``mcp`` extra is missing."""
    try:
        with requires_extra("mcp", "the MCP server"):
            from eventschema_tools.mcp_server.server import main as serve
    except MissingExtraError as exc:
        sys.stderr.write(f"eventschema-mcp: {exc}\n")
        raise SystemExit(1) from None
    serve(argv)


if __name__ == "__main__":
    main()
