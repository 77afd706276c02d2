"""Where CLI commands find the store and settings."""

from __future__ import annotations

import os

from ..errors import ConfigurationError
from ..store import Store

DEFAULT_STORE = "byoc.sqlite3"


def open_store(location: str | None = None) -> Store:
    """The store named by `location`, else `$BYOC_STORE`, else `byoc.sqlite3` here."""
    where = location or os.environ.get("BYOC_STORE") or DEFAULT_STORE
    if where.startswith("memory:"):
        raise ConfigurationError(
            "BYOC_STORE=memory: keeps nothing between processes; point BYOC_STORE at the "
            "SQLite file the bridge uses"
        )
    from ..store.sqlite import SQLiteStore

    return SQLiteStore(where.removeprefix("sqlite:///").removeprefix("sqlite://"))
