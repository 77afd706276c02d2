"""The state the bridge must not lose, behind one protocol.

Implementations: `MemoryStore` (tests, one process, nothing survives), `SQLiteStore` (the
embedded default: one file, one process, survives restarts) and `PostgresStore` (several
bridge replicas on one PostgreSQL database; `byoc[postgres]`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Protocol

import attrs

from ..errors import RetryableError
from .queue import DeadLetter, Job

__all__ = ["Store", "StoreUnavailable", "UserLink"]


class StoreUnavailable(RetryableError):
    """The store cannot be reached or cannot answer now (the database is down, restarting, or
    out of connections). Nothing was changed, or the change is not known to have been: a
    webhook answered with it gets 503 and is retried by its sender."""


@attrs.frozen(kw_only=True)
class UserLink:
    """A channel user's help-desk user and the conversation its messages go to.

    `conversation_id` is None until the first message created one; `resolved` records that the
    help desk resolved that conversation (the resolved-conversation policy reads it).
    `unreachable_since` is when the channel said the user unsubscribed or blocked the bot
    (None: reachable); agent replies to such a user are dead-lettered without a try.
    """

    channel: str
    channel_user_id: str
    helpdesk_user_id: str
    conversation_id: str | None = None
    resolved: bool = False
    unreachable_since: float | None = None


class Store(Protocol):
    """Mappings, processed ids, install data, counters, per-user locks and the delivery queue.

    **The queue.** Jobs wait in *lanes* (one per channel user and direction) and run strictly
    in the order they were accepted, one job per lane at a time, across every process that
    shares the store. A job is run under a *lease*: its `owner` (one dispatcher, see
    `byoc.delivery`) holds it until `lease_until`, renewing it while the delivery lasts. A
    lease that runs out (its owner died) lets another owner take the job over, marked
    `recovering`; nobody ever takes a job whose lease is live. A job waiting for a retry keeps
    its lane: later jobs of that user wait behind it.
    """

    async def get_link(self, channel: str, channel_user_id: str) -> UserLink | None:
        """The link of a channel user, or None."""

    async def get_link_by_helpdesk_user(self, helpdesk_user_id: str) -> UserLink | None:
        """The link whose help-desk user is this, or None."""

    async def get_link_by_conversation(self, conversation_id: str) -> UserLink | None:
        """The link currently routed to this conversation, or None."""

    async def save_link(self, link: UserLink) -> None:
        """Insert or replace the link of `(link.channel, link.channel_user_id)`."""

    async def claim(self, key: str, ttl: float, *, synced: bool = True) -> bool:
        """Record `key` as processed for `ttl` seconds; False if it already was (a duplicate).

        `synced=False` lets the store commit the claim without waiting for the disk: it still
        survives the process dying at any instant, but an OS crash or power loss in the next
        second or so may forget it. For a claim that guards only against a sender repeating
        a webhook it was already answered for (inline delivery), not for one that stands for
        acknowledged work. A store may sync it anyway."""

    async def release(self, key: str) -> None:
        """Forget a claim, so a retry of work that failed is not taken for a duplicate."""

    async def get_setting(self, key: str) -> str | None:
        """Install data (target URLs, secrets) by key."""

    async def set_setting(self, key: str, value: str) -> None:
        """Keep install data under `key`."""

    async def delete_setting(self, key: str) -> None:
        """Forget `key` (nothing happens when it is not there)."""

    async def add_counts(self, deltas: Mapping[str, int]) -> None:
        """Add `deltas` to the counters of the same keys (missing ones start at 0), in one
        write. Every process sharing the store adds to the same totals."""

    async def counts(self) -> dict[str, int]:
        """Every counter's total since the store was created."""

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """Mutual exclusion for one key (one channel user) among everyone sharing the store.

        First come first served within a process.
        """

    # -- the durable delivery queue ------------------------------------------------------------

    async def enqueue(
        self,
        *,
        lane: str,
        kind: str,
        payload: str,
        dedupe_key: str,
        ttl: float,
        owner: str | None = None,
        lease: float = 0.0,
    ) -> Job | None:
        """Accept a job unless `dedupe_key` was claimed (then None), atomically and durably.

        When this returns, the job survives a crash: the bridge acknowledges the webhook after
        it. With an `owner`, a job that is the head of its lane at once (nothing of that user
        queued before it) comes back leased to `owner` for `lease` seconds, so the caller can
        run it without a `take_due`; otherwise it comes back unleased and waits its turn.
        """

    async def take_due(self, *, owner: str, now: float, limit: int, lease: float) -> list[Job]:
        """Lease up to `limit` jobs that may run at `now` to `owner`, until `now + lease`.

        A job may run when it is the head of its lane, its retry time has come, and nobody
        holds a live lease on it. A job whose lease ran out is taken over: it comes back
        `recovering`. Taken by an index, oldest due first.
        """

    async def renew(self, *, owner: str, job_ids: Collection[int], until: float) -> set[int]:
        """Extend `owner`'s leases on `job_ids` to `until`, in one statement.

        Returns the ids it still held; a missing id was taken over by another owner.
        """

    async def next_due(self) -> float | None:
        """When the earliest lane head may be taken (its retry time, or when its lease runs
        out); None when the queue is empty."""

    async def finish(
        self,
        job_id: int,
        *,
        owner: str,
        claims: Collection[str] = (),
        claim_ttl: float = 0.0,
        next_lease: float | None = None,
    ) -> Job | None:
        """The job was delivered: forget it, and claim `claims` for `claim_ttl` seconds.

        One transaction: the keys crash recovery needs (`posted:<help-desk message id>`) are
        recorded exactly when the job stops being in flight. With `next_lease`, the lane's next
        job, if any, comes back leased to `owner` for that long (the caller runs it at once).
        Raises `LeaseLost` when `owner` no longer holds the job; nothing is changed then.
        """

    async def retry(
        self, job_id: int, *, owner: str, not_before: float, error: str, at: float
    ) -> None:
        """The try failed: record it, release the lease, and let the job run again not before
        `not_before`. It keeps its lane meanwhile. Raises `LeaseLost` as `finish` does."""

    async def bury(
        self,
        job_id: int,
        *,
        owner: str,
        reason: str,
        error: str,
        at: float,
        next_lease: float | None = None,
    ) -> Job | None:
        """Give up on the job: move it to the dead letters with its history, in one
        transaction. The lane moves on; `next_lease` and `LeaseLost` as in `finish`."""

    async def hand_back(self, *, owner: str) -> int:
        """Release every lease `owner` holds, marking the jobs `recovering` (at shutdown: they
        may have reached the peer). Returns how many."""

    def watch(self, wake: Callable[[], None]) -> None:
        """Call `wake()` on the event loop whenever another process queued work that may run
        now (PostgreSQL: LISTEN/NOTIFY). A store that cannot hear other processes does nothing:
        the dispatcher polls as well."""

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

    # -- housekeeping --------------------------------------------------------------------------

    async def purge(self, *, now: float) -> int:
        """Delete some expired claims and dead letters past the store's retention; how many.

        Found by index, never by a scan, and bounded per call. Stores call it themselves now
        and then; it is public so that tools and tests can run it.
        """

    async def ping(self) -> None:
        """A cheap round trip: returns when the store answers, raises when it cannot.

        For health checks (`/healthz`, `byoc check`).
        """

    async def aclose(self) -> None:
        """Flush and close."""
