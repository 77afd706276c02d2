"""The state the bridge must not lose, behind one protocol.

Implementations: `MemoryStore` (tests, one process, nothing survives), `SQLiteStore` (the
embedded default: one file, survives restarts).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

import attrs

from .queue import DeadLetter, Job

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

    async def delete_setting(self, key: str) -> None:
        """Forget `key` (nothing happens when it is not there)."""

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """Mutual exclusion for one key (one channel user), first come first served."""

    # -- the durable delivery queue ------------------------------------------------------------

    async def enqueue(
        self, *, lane: str, kind: str, payload: str, dedupe_key: str, ttl: float
    ) -> int | None:
        """Accept a job unless `dedupe_key` was claimed (then None), atomically and durably.

        When this returns, the job survives a crash: the bridge acknowledges the webhook after it.
        """

    async def take_due(self, *, now: float, limit: int) -> list[Job]:
        """Lease up to `limit` jobs that may run now: the head of each lane with none in flight.

        Oldest first. A leased job is in flight until `finish`, `retry`, `bury` or `release_all`.
        """

    async def next_due(self) -> float | None:
        """When the earliest waiting lane head may run (None: the queue is empty)."""

    async def finish(self, job_id: int) -> None:
        """The job was delivered: forget it."""

    async def retry(self, job_id: int, *, not_before: float, error: str, at: float) -> None:
        """The try failed: record it and run the job again not before `not_before`."""

    async def bury(self, job_id: int, *, reason: str, error: str, at: float) -> None:
        """Give up on the job: move it to the dead letters with its history."""

    async def release_all(self, *, recovering: bool) -> int:
        """Hand every in-flight job back to the queue (at start-up after a crash, or at shutdown).

        `recovering` marks them as possibly delivered already. Returns how many.
        """

    async def depth(self) -> int:
        """Jobs waiting or in flight."""

    async def dead_letters(self, *, limit: int = 100) -> list[DeadLetter]:
        """Dead letters, oldest first."""

    async def count_dead_letters(self) -> int:
        """How many dead letters there are."""

    async def dead_letter(self, dead_id: int) -> DeadLetter | None:
        """One dead letter."""

    async def replay(self, dead_id: int, *, now: float) -> int | None:
        """Put a dead letter back in the queue as a fresh job (None if no such dead letter)."""

    async def drop(self, dead_id: int) -> bool:
        """Delete a dead letter for good."""

    async def aclose(self) -> None:
        """Flush and close."""
