"""A store in process memory: for tests and throwaway runs; nothing survives a restart."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from ..clock import Clock, SystemClock
from .base import UserLink
from .locks import KeyedLock

__all__ = ["MemoryStore"]


class MemoryStore:
    """`Store` in dictionaries."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._links: dict[tuple[str, str], UserLink] = {}
        self._by_helpdesk_user: dict[str, UserLink] = {}
        self._by_conversation: dict[str, UserLink] = {}
        self._claims: dict[str, float] = {}
        self._settings: dict[str, str] = {}
        self._locks = KeyedLock()

    async def get_link(self, channel: str, channel_user_id: str) -> UserLink | None:
        return self._links.get((channel, channel_user_id))

    async def get_link_by_helpdesk_user(self, helpdesk_user_id: str) -> UserLink | None:
        return self._by_helpdesk_user.get(helpdesk_user_id)

    async def get_link_by_conversation(self, conversation_id: str) -> UserLink | None:
        return self._by_conversation.get(conversation_id)

    async def save_link(self, link: UserLink) -> None:
        old = self._links.get((link.channel, link.channel_user_id))
        if old is not None and old.conversation_id is not None:
            self._by_conversation.pop(old.conversation_id, None)
        self._links[(link.channel, link.channel_user_id)] = link
        self._by_helpdesk_user[link.helpdesk_user_id] = link
        if link.conversation_id is not None:
            self._by_conversation[link.conversation_id] = link

    async def claim(self, key: str, ttl: float) -> bool:
        now = self._clock.time()
        expires = self._claims.get(key)
        if expires is not None and expires > now:
            return False
        self._claims[key] = now + ttl
        if len(self._claims) % 1024 == 0:
            self._purge(now)
        return True

    def _purge(self, now: float) -> None:
        for key in [k for k, exp in self._claims.items() if exp <= now]:
            del self._claims[key]

    async def release(self, key: str) -> None:
        self._claims.pop(key, None)

    async def get_setting(self, key: str) -> str | None:
        return self._settings.get(key)

    async def set_setting(self, key: str, value: str) -> None:
        self._settings[key] = value

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        return self._locks(key)

    async def aclose(self) -> None:
        return None
