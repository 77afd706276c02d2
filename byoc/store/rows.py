"""Rows of the SQL stores as values: both select links, jobs and dead letters in one column
order (the `*_COLUMNS` strings), so one function reads each."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .base import UserLink
from .queue import Attempt, DeadLetter, Job

__all__ = [
    "DEAD_COLUMNS",
    "JOB_COLUMNS",
    "LINK_COLUMNS",
    "decode_attempts",
    "dead_letter_from_row",
    "encode_attempts",
    "job_from_row",
    "link_from_row",
    "link_params",
]

LINK_COLUMNS = (
    "channel, channel_user_id, helpdesk_user_id, conversation_id, resolved, unreachable_since"
)
JOB_COLUMNS = (
    "id, lane, kind, payload, accepted_at, not_before, attempts, recovering, owner, lease_until"
)
DEAD_COLUMNS = "id, job_id, lane, kind, payload, accepted_at, attempts, reason, died_at"


def encode_attempts(attempts: Sequence[Attempt]) -> str:
    """Attempts as JSON: `[[at, error], ...]`."""
    return json.dumps([[a.at, a.error] for a in attempts], ensure_ascii=False)


def decode_attempts(value: str | list[Any]) -> tuple[Attempt, ...]:
    """Attempts from their JSON text (SQLite) or from the decoded JSON (PostgreSQL's jsonb)."""
    pairs = json.loads(value) if isinstance(value, str) else value
    return tuple(Attempt(at=float(at), error=str(error)) for at, error in pairs)


def link_from_row(row: Sequence[Any] | None) -> UserLink | None:
    if row is None:
        return None
    return UserLink(
        channel=row[0],
        channel_user_id=row[1],
        helpdesk_user_id=row[2],
        conversation_id=row[3],
        resolved=bool(row[4]),
        unreachable_since=row[5],
    )


def link_params(link: UserLink) -> tuple[str, str, str, str | None, bool, float | None]:
    """A link's values in `LINK_COLUMNS` order."""
    return (
        link.channel,
        link.channel_user_id,
        link.helpdesk_user_id,
        link.conversation_id,
        link.resolved,
        link.unreachable_since,
    )


def job_from_row(row: Sequence[Any]) -> Job:
    return Job(
        id=int(row[0]),
        lane=row[1],
        kind=row[2],
        payload=row[3],
        accepted_at=row[4],
        not_before=row[5],
        attempts=decode_attempts(row[6]),
        recovering=bool(row[7]),
        owner=row[8],
        lease_until=row[9],
    )


def dead_letter_from_row(row: Sequence[Any]) -> DeadLetter:
    job = Job(
        id=int(row[1]),
        lane=row[2],
        kind=row[3],
        payload=row[4],
        accepted_at=row[5],
        not_before=row[5],
        attempts=decode_attempts(row[6]),
    )
    return DeadLetter(id=int(row[0]), job=job, reason=row[7], died_at=row[8])
