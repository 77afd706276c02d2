"""Whether a channel user can be reached: recorded on their link, so that agent replies to a user
who unsubscribed or blocked the bot are dead-lettered at once instead of being sent.

A user becomes unreachable when their channel says so (`Unsubscribed`) or refuses a send to
them (`UserUnreachable`); reachable again when they write or subscribe (`Subscribed`). Each
change is one link write, made only when the state changes: the steady state costs nothing
beyond the link read the bridge makes anyway. An operator who replays a dead letter gives its
user another chance (`replaying`): if they still cannot be reached, the send says so again.
"""

from __future__ import annotations

from datetime import datetime, timezone

import attrs

from .errors import UserUnreachable
from .store import Store, UserLink
from .store.queue import Job

__all__ = [
    "REPLY_LANE_PREFIX",
    "mark_reachable",
    "mark_unreachable",
    "refuse_unreachable",
    "replaying",
    "unreachable_reason",
]

REPLY_LANE_PREFIX = "out:"
"""Lanes of agent replies are `out:<help-desk user id>` (or the conversation id, when the
help desk named no user)."""


def unreachable_reason(link: UserLink) -> str:
    """Why a reply to this user is not sent: `user unsubscribed/blocked the bot on <channel>
    since <UTC time>`."""
    since = link.unreachable_since or 0.0
    when = datetime.fromtimestamp(since, timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    return f"user unsubscribed/blocked the bot on {link.channel} since {when}"


def refuse_unreachable(link: UserLink) -> None:
    """Raise `UserUnreachable` (a permanent error: dead-lettered without retries) when the link
    says the user cannot be reached."""
    if link.unreachable_since is not None:
        raise UserUnreachable(unreachable_reason(link), user_id=link.channel_user_id)


async def mark_unreachable(
    store: Store, channel: str, user_id: str, since: float, *, link: UserLink | None = None
) -> UserLink | None:
    """Record that the user cannot be reached since `since` (kept when already recorded: the
    first time counts). Returns the link, None when the user has none (nothing to stop)."""
    if link is None:
        link = await store.get_link(channel, user_id)
    if link is None or link.unreachable_since is not None:
        return link
    link = attrs.evolve(link, unreachable_since=since)
    await store.save_link(link)
    return link


async def mark_reachable(store: Store, link: UserLink) -> UserLink:
    """Forget that the user could not be reached (they wrote or subscribed again)."""
    if link.unreachable_since is None:
        return link
    link = attrs.evolve(link, unreachable_since=None)
    await store.save_link(link)
    return link


async def replaying(store: Store, job: Job) -> None:
    """A dead letter is replayed by hand: forget that its user could not be reached, so the
    reply is tried (a user may unblock the bot without the channel telling)."""
    if not job.lane.startswith(REPLY_LANE_PREFIX):
        return
    key = job.lane.removeprefix(REPLY_LANE_PREFIX)
    link = await store.get_link_by_helpdesk_user(key) or await store.get_link_by_conversation(key)
    if link is not None:
        await mark_reachable(store, link)
