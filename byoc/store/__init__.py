"""Stores: where the bridge keeps what it must not lose."""

from .base import Store, UserLink
from .memory import MemoryStore
from .sqlite import SQLiteStore

__all__ = ["MemoryStore", "SQLiteStore", "Store", "UserLink"]
