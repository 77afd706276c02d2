"""Value types of the durable delivery queue that every store keeps."""

from __future__ import annotations

import attrs

__all__ = [
    "DEFAULT_DEAD_LETTER_RETENTION",
    "Attempt",
    "DeadLetter",
    "Job",
    "LeaseLost",
]

DEFAULT_DEAD_LETTER_RETENTION = 30 * 24 * 3600.0
"""Dead letters older than this (seconds) are purged: long enough to notice and replay them."""


@attrs.frozen(kw_only=True)
class Attempt:
    """One failed try: when, and what went wrong."""

    at: float
    error: str


@attrs.frozen(kw_only=True)
class Job:
    """A webhook event accepted by the bridge and not yet delivered.

    `lane` orders jobs: one lane per channel user and direction, delivered strictly in `id`
    order, one at a time. `payload` is the event in `byoc.codec` JSON.

    A job being delivered is *leased*: `owner` names the dispatcher (one per bridge process)
    that holds it, until `lease_until` unless renewed. When a lease runs out, another owner may
    take the job over; it is then `recovering`: it may have reached the peer already. A job
    handed back at shutdown, or left leased by a crashed one-process bridge, is recovering too.
    """

    id: int
    lane: str
    kind: str
    payload: str
    accepted_at: float
    not_before: float = 0.0
    attempts: tuple[Attempt, ...] = ()
    recovering: bool = False
    owner: str | None = None
    lease_until: float | None = None


@attrs.frozen(kw_only=True)
class DeadLetter:
    """A job given up on, with why and every attempt; it can be replayed or dropped."""

    id: int
    job: Job
    reason: str
    died_at: float


class LeaseLost(Exception):
    """The job is no longer leased to the caller: its lease ran out and another owner took it
    over (or it was finished already). Whatever the caller learnt about it is not recorded."""

    def __init__(self, job_id: int, owner: str) -> None:
        super().__init__(f"job {job_id} is not leased to {owner} any more")
        self.job_id = job_id
        self.owner = owner
