"""Value types of the durable delivery queue that every store keeps."""

from __future__ import annotations

import attrs

__all__ = ["Attempt", "DeadLetter", "Job"]


@attrs.frozen(kw_only=True)
class Attempt:
    """One failed try: when, and what went wrong."""

    at: float
    error: str


@attrs.frozen(kw_only=True)
class Job:
    """A webhook event accepted by the bridge and not yet delivered.

    `lane` orders jobs: one lane per channel user and direction, delivered strictly in `id`
    order, one at a time. `payload` is the event in `byoc.codec` JSON. `recovering` is set when
    the job was in flight when the process stopped: it may have reached the peer already.
    """

    id: int
    lane: str
    kind: str
    payload: str
    accepted_at: float
    not_before: float = 0.0
    attempts: tuple[Attempt, ...] = ()
    recovering: bool = False


@attrs.frozen(kw_only=True)
class DeadLetter:
    """A job given up on, with why and every attempt; it can be replayed or dropped."""

    id: int
    job: Job
    reason: str
    died_at: float
