"""Name-level operations every face shares (CLI, MCP server, Airflow).

Modules: ``operations`` (:class:`Catalog` and :class:`AsyncCatalog`), ``steps`` (each operation
written once, without I/O, and the sync and async drivers that run it), ``resolve`` (names to
ids, with close-name suggestions), ``views`` (compact, name-first results), ``paging`` (cursor
windows over the client's row iterators) and ``links`` (URLs into PostHog's app).
"""

from eventschema_tools.catalog.operations import AsyncCatalog, Catalog

__all__ = ["AsyncCatalog", "Catalog"]
