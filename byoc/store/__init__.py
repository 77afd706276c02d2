"""Stores: where the bridge keeps what it must not lose."""

from .base import Store, UserLink
from .memory import MemoryStore

__all__ = ["MemoryStore", "Store", "UserLink"]
