"""Stores: where the bridge keeps what it must not lose.

`MemoryStore` and `SQLiteStore` are here; `PostgresStore` is in `byoc.store.postgres`, since it
needs the `postgres` extra (psycopg).
"""

from .base import Store, StoreUnavailable, UserLink
from .memory import MemoryStore
from .queue import DeadLetter, Job, LeaseLost
from .sqlite import SQLiteStore

__all__ = [
    "DeadLetter",
    "Job",
    "LeaseLost",
    "MemoryStore",
    "SQLiteStore",
    "Store",
    "StoreUnavailable",
    "UserLink",
]
