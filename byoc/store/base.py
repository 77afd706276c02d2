"""The state the bridge must not lose, behind one protocol.

Implementations: `MemoryStore` (tests, one process, nothing survives), `SQLiteStore` (the
embedded default: one file, survives restarts).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

import attrs

__all__ = ["Store", "UserLink"]


@attrs.frozen(kw_only=True)
class UserLink:
    """A channel user's help-desk user and the conversation its messages go to.

    `conversation_id` is None until the first message created one; `resolved` records that the
    help desk resolved that conversation (the resolved-conversation policy reads it).
    """

    channel: str
    channel_user_id: str
    helpdesk_user_id: str
    conversation_id: str | None = None
    resolved: bool = False


class Store(Protocol):
    """Mappings, processed ids, install data and per-user mutual exclusion."""

    async def get_link(self, channel: str, channel_user_id: str) -> UserLink | None:
        """The link of a channel user, or None."""

    async def get_link_by_helpdesk_user(self, helpdesk_user_id: str) -> UserLink | None:
        """The link whose help-desk user is this, or None."""

    async def get_link_by_conversation(self, conversation_id: str) -> UserLink | None:
        """The link currently routed to this conversation, or None."""

    async def save_link(self, link: UserLink) -> None:
        """Insert or replace the link of `(link.channel, link.channel_user_id)`."""

    async def claim(self, key: str, ttl: float) -> bool:
        """Record `key` as processed for `ttl` seconds; False if it already was (a duplicate)."""

    async def release(self, key: str) -> None:
        """Forget a claim, so a retry of work that failed is not taken for a duplicate."""

    async def get_setting(self, key: str) -> str | None:
        """Install data (target URLs, secrets) by key."""

    async def set_setting(self, key: str, value: str) -> None:
        """Keep install data under `key`."""

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """Mutual exclusion for one key (one channel user), first come first served."""

    async def aclose(self) -> None:
        """Flush and close."""
