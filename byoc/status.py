"""A snapshot of a bridge's state, for the admin page, `/healthz` and anyone who asks.

`Bridge.status()` gathers it in one place; readers (the admin page) depend on these values, not
on the bridge's internals.
"""

from __future__ import annotations

import attrs

from .store.queue import DeadLetter

__all__ = ["BridgeStatus", "ChannelStatus", "Health", "RefusedWebhooks"]


@attrs.frozen(kw_only=True)
class ChannelStatus:
    """One channel: where it must call, how that was arranged, what went through.

    The counts are totals since the store was created (over every replica sharing it); the
    last-message times are this process's.
    """

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
class RefusedWebhooks:
    """Webhooks one endpoint refused since the store was created, and the last one's reason.

    A storm of 401s looks like silence from outside; here it shows, with the cause (a wrong
    Freshchat public key is the usual one).
    """

    endpoint: str
    """`channel:<name>`, `helpdesk` or `unknown` (a route to no enabled channel)."""
    count: int
    last_at: float
    last_status: int
    last_reason: str


@attrs.frozen(kw_only=True)
class Health:
    """Whether the bridge can do its job now; `problems` says what stands in the way."""

    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


@attrs.frozen(kw_only=True)
class BridgeStatus:
    """Everything the admin page shows."""

    label: str | None
    public_url: str | None
    messaging_webhook_url: str | None
    last_helpdesk_event: float | None
    channels: tuple[ChannelStatus, ...]
    queue_depth: int
    in_flight: int
    dead_letters: tuple[DeadLetter, ...]
    delivery: str
    helpdesk_signatures: bool = True
    """Whether the help desk's webhooks are verified (off only when turned off explicitly)."""
    helpdesk: str = "the help desk"
    """The help desk's name (`Messaging.title`)."""
    helpdesk_webhook_help: str = ""
    """Where to paste the messaging webhook URL (`Messaging.webhook_help`)."""
    refused: tuple[RefusedWebhooks, ...] = ()
    health: Health = Health()
