"""What the admin page shows, gathered from a bridge in one place (and testable without HTML)."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

import attrs

from ..channel import InstallResult
from ..errors import ConfigurationError
from ..store.queue import DeadLetter

if TYPE_CHECKING:
    from ..bridge import Bridge

__all__ = ["AdminView", "ChannelRow", "gather"]

DEAD_LETTERS_SHOWN = 200


@attrs.frozen(kw_only=True)
class ChannelRow:
    """One channel: where it must call, how that was arranged, what went through."""

    name: str
    target_url: str | None
    """The URL recorded at install, else the one install would use (None: no public URL)."""
    state: str
    """"registered" (the channel's API points at the URL), "manual" (to paste by hand) or
    "not installed"."""
    instructions: str = ""
    installed_at: float | None = None
    messages_in: int = 0
    messages_out: int = 0
    failed: int = 0
    last_in: float | None = None
    last_out: float | None = None


@attrs.frozen(kw_only=True)
class AdminView:
    label: str | None
    public_url: str | None
    messaging_webhook_url: str | None
    last_helpdesk_event: float | None
    channels: tuple[ChannelRow, ...]
    queue_depth: int
    in_flight: int
    dead_letters: tuple[DeadLetter, ...]
    delivery: str


async def _install_state(bridge: Bridge, name: str) -> tuple[InstallResult | None, float | None]:
    recorded = await bridge.installed(name)
    if recorded is not None:
        return recorded
    # Channels that keep their own record (Kakao's `installed()`), e.g. from an older bridge.
    own = getattr(bridge.channels[name], "installed", None)
    if callable(own):
        answer = own()
        if inspect.isawaitable(answer):
            answer = await answer
        if isinstance(answer, InstallResult):
            return answer, None
    return None, None


async def gather(bridge: Bridge) -> AdminView:
    """Everything the page shows: install state, counts, queue, dead letters."""
    rows = []
    for name in bridge.channels:
        result, at = await _install_state(bridge, name)
        messages_in, messages_out, failed = bridge.hops.counts(name)
        row = ChannelRow(
            name=name,
            target_url=None,
            state="not installed",
            messages_in=messages_in,
            messages_out=messages_out,
            failed=failed,
            last_in=bridge.hops.last_event.get((name, "in")),
            last_out=bridge.hops.last_event.get((name, "out")),
        )
        if result is not None:
            row = attrs.evolve(
                row,
                target_url=result.target_url,
                state="registered" if result.registered else "manual",
                instructions=result.instructions,
                installed_at=at,
            )
        else:
            try:
                row = attrs.evolve(row, target_url=bridge.target_url(name))
            except ConfigurationError:
                pass  # no public URL yet: the page says how to set one
        rows.append(row)
    try:
        messaging_url: str | None = bridge.messaging_webhook_url()
    except ConfigurationError:
        messaging_url = None
    return AdminView(
        label=bridge.label,
        public_url=bridge.public_url,
        messaging_webhook_url=messaging_url,
        last_helpdesk_event=bridge.hops.last_helpdesk_event,
        channels=tuple(rows),
        queue_depth=await bridge.store.depth(),
        in_flight=bridge.dispatcher.in_flight,
        dead_letters=tuple(await bridge.dead_letters(limit=DEAD_LETTERS_SHOWN)),
        delivery=bridge.delivery,
    )
