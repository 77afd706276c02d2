"""One log line per hop of a message, and the counters behind `/metrics`.

A message crosses the bridge in two hops each way; each hop writes one `key=value` line on the
`byoc.hops` logger carrying the ids that tie the hops together:

```
hop=channel.webhook channel=viber channel_message_id=5412 channel_user=jc9H== outcome=queued
hop=helpdesk.posted channel=viber channel_message_id=5412 channel_user=jc9H== helpdesk_user=u1
    conversation=c9 helpdesk_message=m3
hop=helpdesk.webhook helpdesk_message=m4 conversation=c9 helpdesk_user=u1 actor=agent
    outcome=queued
hop=channel.sent helpdesk_message=m4 conversation=c9 helpdesk_user=u1 channel=viber
    channel_user=jc9H== channel_message_ids=5413
```

(one line each; wrapped here)

and `hop=retry` / `hop=dead_letter` when a delivery fails. `grep channel_message_id=5412` or
`grep conversation=c-9` finds a message's whole path. Recording costs a counter increment and
a log call: no store access, no upstream call. A line is formatted only when a handler writes
it (`kv` is lazy), and lines made of ids alone skip the search for credentials
(`byoc.redaction.SECRET_FREE`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence

import attrs

from .clock import Clock, SystemClock
from .json_text import compact_json
from .messaging import AgentMessage, Posted
from .metrics import Registry
from .models import Failed, InboundMessage, SendResult
from .redaction import SECRET_FREE
from .store import UserLink

__all__ = ["Hops", "KeyValues", "Refusal", "kv"]

log = logging.getLogger("byoc.hops")

_PLAIN = re.compile(r"[a-zA-Z0-9\-_.:/+=@,]+")


# Enough to say why; a refused body can put anything in a parser's message.
_REASON_KEPT = 300


@attrs.frozen(kw_only=True)
class Refusal:
    """A refused webhook: when, with which status, and why."""

    at: float
    status: int
    reason: str


_plain = _PLAIN.fullmatch


class KeyValues:
    """A log message of `key=value` pairs, formatted when a handler writes it.

    `log.debug(kv(...))` at a level that is off costs a small object, not a formatted line.
    """

    __slots__ = ("_fields", "_text")

    def __init__(self, fields: Mapping[str, object]) -> None:
        self._fields = fields
        self._text: str | None = None

    def __str__(self) -> str:
        text = self._text
        if text is None:
            # A plain loop, not a generator over a helper: two lines a message pay for this.
            pairs = []
            for key, value in self._fields.items():
                if value is None:
                    continue
                shown = value if isinstance(value, str) else str(value)
                if _plain(shown) is None:
                    shown = compact_json(shown)
                pairs.append(f"{key}={shown}")
            text = self._text = " ".join(pairs)
        return text

    def __repr__(self) -> str:
        return f"kv({str(self)!r})"


def kv(**fields: object) -> KeyValues:
    """`key=value` pairs in the given order; None is left out, odd values are JSON-quoted.

    ```python
    log.info(kv(hop="install", channel="viber"))   # hop=install channel=viber
    ```
    """
    return KeyValues(fields)


class Hops:
    """Where the bridge reports each hop: a log line, counters, and the last event times."""

    def __init__(self, *, registry: Registry | None = None, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()
        self.registry = registry or Registry()
        r = self.registry
        self.received = r.counter(
            "byoc_messages_received_total",
            "User messages accepted from a channel's webhook (duplicates not counted).",
            ("channel",),
        )
        self.messages_in = r.counter(
            "byoc_messages_in_total", "User messages delivered to the help desk.", ("channel",)
        )
        self.messages_out = r.counter(
            "byoc_messages_out_total", "Agent replies delivered to channel users.", ("channel",)
        )
        self.duplicates = r.counter(
            "byoc_duplicates_total",
            "Webhooks for a message already accepted, ignored (direction in: from a channel, "
            "out: from the help desk).",
            ("direction",),
        )
        self.failed = r.counter(
            "byoc_messages_failed_total",
            "Deliveries given up on: each one is a dead letter.",
            ("channel", "direction"),
        )
        self.retries = r.counter(
            "byoc_delivery_retries_total",
            "Failed delivery attempts that will be retried.",
            ("direction",),
        )
        self.refused = r.counter(
            "byoc_webhooks_refused_total",
            "Webhooks answered with an error, by endpoint (channel:<name>, helpdesk, unknown) "
            "and status.",
            ("endpoint", "status"),
        )
        self.latency = r.histogram(
            "byoc_delivery_seconds",
            "Seconds from a webhook's arrival to the delivery of its message.",
            ("direction",),
        )
        self.media_copy_failures = r.counter(
            "byoc_media_copy_failures_total",
            "Media a user sent that could not be copied into the help desk (the agent sees a "
            "placeholder), by channel and reason.",
            ("channel", "reason"),
        )
        self.channel_failures = r.counter(
            "byoc_channel_delivery_failures_total",
            "Messages a channel reported it could not deliver after accepting them.",
            ("channel",),
        )
        self.queue_depth = r.gauge(
            "byoc_queue_depth", "Messages accepted and not yet delivered (waiting or in flight)."
        )
        self.in_flight = r.gauge("byoc_deliveries_in_flight", "Deliveries running right now.")
        self.dead_letters = r.gauge(
            "byoc_dead_letters", "Dead letters waiting for a replay or a drop."
        )
        self.info = r.gauge("byoc_info", "Always 1; the labels describe the bridge.", ("mode",))
        self.last_event: dict[tuple[str, str], float] = {}
        """When a channel last sent (`(name, "in")`) or received (`(name, "out")`) a message."""
        self.last_helpdesk_event: float | None = None
        self.last_refusal: dict[str, Refusal] = {}
        """The last webhook each endpoint refused, and why (shown on the admin page)."""

    # -- user → agent ------------------------------------------------------------------------

    def channel_webhook(
        self, message: InboundMessage, *, outcome: str, job: int | None = None
    ) -> None:
        self.last_event[(message.channel, "in")] = self.clock.time()
        if outcome == "duplicate":
            self.duplicates.inc("in")
        else:
            self.received.inc(message.channel)
        log.info(
            kv(
                hop="channel.webhook",
                channel=message.channel,
                channel_message_id=message.message_id,
                channel_user=message.user_id,
                outcome=outcome,
                job=job,
            ),
            extra=SECRET_FREE,
        )

    def inbound_delivered(self, message: InboundMessage, link: UserLink, posted: Posted) -> None:
        self.messages_in.inc(message.channel)
        log.info(
            kv(
                hop="helpdesk.posted",
                channel=message.channel,
                channel_message_id=message.message_id,
                channel_user=message.user_id,
                helpdesk_user=link.helpdesk_user_id,
                conversation=posted.conversation_id,
                helpdesk_message=posted.message_id,
            ),
            extra=SECRET_FREE,
        )

    # -- agent → user ------------------------------------------------------------------------

    def helpdesk_webhook(
        self, event: AgentMessage, *, outcome: str, job: int | None = None
    ) -> None:
        self.last_helpdesk_event = self.clock.time()
        if outcome == "duplicate":
            self.duplicates.inc("out")
        log.info(
            kv(
                hop="helpdesk.webhook",
                helpdesk_message=event.message_id,
                conversation=event.conversation_id,
                helpdesk_user=event.user_id,
                actor=event.actor_type,
                type=event.message_type if event.message_type != "normal" else None,
                outcome=outcome,
                job=job,
            ),
            extra=SECRET_FREE,
        )

    def reply_delivered(self, event: AgentMessage, link: UserLink, result: SendResult) -> None:
        self.last_event[(link.channel, "out")] = self.clock.time()
        self.messages_out.inc(link.channel)
        log.info(
            kv(
                hop="channel.sent",
                helpdesk_message=event.message_id,
                conversation=event.conversation_id,
                helpdesk_user=link.helpdesk_user_id,
                channel=link.channel,
                channel_user=link.channel_user_id,
                channel_message_ids=",".join(result.message_ids) or None,
                notes="; ".join(result.notes) or None,
            ),
            # A channel's notes are free text: they may quote a URL.
            extra=None if result.notes else SECRET_FREE,
        )

    def media_copy_failed(
        self, message: InboundMessage, kind: str, error: str, too_large: bool
    ) -> None:
        reason = "too_large" if too_large else "failed"
        self.media_copy_failures.inc(message.channel, reason)
        log.warning(
            kv(
                hop="media_copy_failed",
                channel=message.channel,
                channel_message_id=message.message_id,
                channel_user=message.user_id,
                kind=kind,
                reason=reason,
                error=error,
            )
        )

    def channel_failed(self, event: Failed) -> None:
        self.channel_failures.inc(event.channel)
        log.warning(
            kv(
                hop="channel.failed",
                channel=event.channel,
                channel_user=event.user_id,
                channel_message_id=event.message_id,
                reason=event.reason or None,
            )
        )

    # -- delivery ----------------------------------------------------------------------------

    def delivered(self, direction: str, seconds: float) -> None:
        """A queued (or inline) delivery finished `seconds` after its webhook arrived."""
        self.latency.observe(max(0.0, seconds), direction)

    def retry(
        self, *, job: int, lane: str, direction: str, attempt: int, delay: float, error: str
    ) -> None:
        self.retries.inc(direction)
        log.warning(
            kv(
                hop="retry",
                job=job,
                lane=lane,
                attempt=attempt,
                retry_in=f"{delay:.1f}s",
                error=error,
            )
        )

    def dead_letter(
        self, *, job: int, lane: str, channel: str, direction: str, reason: str, error: str
    ) -> None:
        self.failed.inc(channel, direction)
        log.error(
            kv(hop="dead_letter", job=job, lane=lane, channel=channel, reason=reason, error=error)
        )

    def refused_webhook(self, endpoint: str, status: int, reason: str) -> None:
        self.refused.inc(endpoint, str(status))
        self.last_refusal[endpoint] = Refusal(
            at=self.clock.time(), status=status, reason=reason[:_REASON_KEPT]
        )

    # -- what the admin page shows -----------------------------------------------------------

    def counts(self, channel: str) -> tuple[int, int, int]:
        """Messages in, out and failed for a channel since the store was created."""
        return (
            int(self.messages_in.get(channel)),
            int(self.messages_out.get(channel)),
            int(self.failed.total(channel=channel)),
        )

    def channels_seen(self) -> Sequence[str]:
        return sorted({c for c, _ in self.last_event} | {k[0] for k in self.messages_in.series()})
