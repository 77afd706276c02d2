"""`Bridge`: channels + help desk + store, wired together and served as an ASGI app.

```python
bridge = Bridge(
    messaging=FreshchatMessaging.from_env(os.environ),
    channels=[ViberChannel.from_env(os.environ)],
    store=SQLiteStore("byoc.sqlite3"),
)
app = bridge          # any ASGI server, or mount it in FastAPI/Starlette/... under any prefix
```

Routes: `POST /channels/{name}/webhook` (a channel's target URL), `POST /messaging/webhook`
(Freshchat webhooks), `GET /healthz`, `GET /metrics` (Prometheus text) and `GET /admin` (the
settings page, on when `admin_token` is given; see `byoc.admin`).

**Delivery.** By default (`delivery="durable"`) a webhook is answered 2xx only once its event is
stored in the queue; workers deliver it afterwards, retrying as the `RetryPolicy` says, and what
cannot be delivered becomes a dead letter (`dead_letters()`, `replay()`). If the store cannot take
the event, the answer is 503 and the sender retries. `delivery="inline"` delivers inside the
webhook request instead (lower latency, nothing survives a crash mid-delivery).

A help-desk conversation's resolution is queued behind the agent replies accepted before it, in
the same lane, so a channel that ends its chat session on resolution (a KakaoTalk dealer) does so
only after the agent's last words reached the user.

**Answer deadlines.** A channel whose sender gives up on the webhook after a few seconds (an Open
Builder skill: 5 s) says so in `Capabilities.answer_deadline`. Inline delivery makes that answer
wait for the help desk, so the bridge refuses to build with both.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Literal

from . import codec
from .asgi import Receive, Scope, Send
from .channel import Channel, InstallResult
from .clock import Clock, SystemClock
from .delivery import DEFAULT_CONCURRENCY, Dispatcher
from .errors import ByocError, ConfigurationError, MalformedPayload, NotFound, RetryableError
from .hops import Hops, kv
from .http import BridgeApp
from .messaging import AgentMessage, ConversationChanged, Messaging, MessagingEvent
from .models import ChannelEvent, InboundMessage
from .retry import RetryPolicy
from .store import MemoryStore, Store
from .store.queue import DeadLetter, Job
from .sync import DEFAULT_DEDUPE_TTL, Outcome, ReferenceIds, ResolvedPolicy, Sync
from .webhook import WebhookRequest, WebhookResponse

__all__ = ["Bridge"]

log = logging.getLogger("byoc.bridge")

DEFAULT_MAX_BODY_SIZE = 1024 * 1024

# Clocks of the bridge and the help desk differ; look this far back for a message that a
# delivery interrupted by a crash may already have posted.
_RECOVERY_CLOCK_SKEW = timedelta(minutes=5)

Delivery = Literal["durable", "inline"]


def _target_url_key(name: str) -> str:
    return f"target_url:{name}"


def _payload(event: object) -> str:
    """The event as queue JSON; text no peer could encode is bad input, refused now (400).

    A lone UTF-16 surrogate (`"\\ud83d"`, half an emoji) parses as JSON but can be neither
    stored nor sent: refusing it at the door beats retrying it for an hour.
    """
    payload = json.dumps(codec.encode(event), ensure_ascii=False)
    try:
        payload.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedPayload(
            f"the message holds text that is not valid Unicode ({exc.reason})"
        ) from None
    return payload


def _reply_lane(helpdesk_user: str) -> str:
    return f"out:{helpdesk_user}"


def _refuse_inline_deadlines(channels: Sequence[Channel]) -> None:
    for channel in channels:
        deadline = channel.capabilities.answer_deadline
        if deadline is not None:
            raise ConfigurationError(
                f"channel {channel.name!r} must answer its webhook within {deadline:g} s, but "
                "delivery='inline' makes the answer wait for the help desk; use "
                "delivery='durable' (the default) with a store that keeps the queue, e.g. "
                "SQLiteStore"
            )


def _install_key(name: str) -> str:
    return f"install:{name}"


class Bridge:
    """The bridge. Call it as an ASGI app; `install()` registers the channels' webhooks.

    Besides the wiring (`messaging`, `channels`, `store`) and delivery options:

    - `public_url`: where the bridge is reachable; target URLs are made from it.
    - `hops`: where hop log lines and metrics go (one `Hops` per bridge by default).
    - `admin_token`: turns the admin page on (`byoc.admin`); `label` marks the page and the
      metrics (the demo passes "DEMO").
    - `shutdown_grace`: how long `aclose()` lets deliveries in flight finish.
    """

    def __init__(
        self,
        *,
        messaging: Messaging,
        channels: Sequence[Channel],
        store: Store | None = None,
        public_url: str | None = None,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        reference_ids: ReferenceIds | None = None,
        resolved_policy: ResolvedPolicy = ResolvedPolicy.REOPEN,
        delivery: Delivery = "durable",
        retry_policy: RetryPolicy | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        clock: Clock | None = None,
        hops: Hops | None = None,
        admin_token: str | None = None,
        label: str | None = None,
        shutdown_grace: float = 10.0,
    ) -> None:
        names = [c.name for c in channels]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigurationError(
                f"two channels share the name {duplicates[0]!r}; names must differ"
            )
        if delivery not in ("durable", "inline"):
            raise ConfigurationError(f"delivery must be 'durable' or 'inline', not {delivery!r}")
        if delivery == "inline":
            _refuse_inline_deadlines(channels)
        if store is None:
            log.warning("no store given: using memory, so mappings are lost on restart")
            store = MemoryStore()
        self.messaging = messaging
        self.channels = {c.name: c for c in channels}
        self.store = store
        self.public_url = public_url.rstrip("/") if public_url else None
        self.max_body_size = max_body_size
        self.delivery = delivery
        self.clock = clock or SystemClock()
        self.hops = hops or Hops(clock=self.clock)
        self.admin_token = admin_token or None
        self.label = label
        self.shutdown_grace = shutdown_grace
        for channel in channels:
            channel.bind(store)
        self.sync = Sync(
            messaging=messaging,
            channels=self.channels,
            store=store,
            reference_ids=reference_ids,
            resolved_policy=resolved_policy,
            hops=self.hops,
        )
        self.dispatcher = Dispatcher(
            store=store,
            handler=self._run_job,
            policy=retry_policy,
            clock=self.clock,
            concurrency=concurrency,
            observer=_DeliveryReport(self),
        )
        self.app = BridgeApp(self)
        self._start_lock = asyncio.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    # -- webhooks --------------------------------------------------------------------------

    async def handle_channel_webhook(self, name: str, request: WebhookRequest) -> WebhookResponse:
        """Verify, parse and deliver a channel's webhook; answer what the channel expects."""
        channel = self.channels.get(name)
        if channel is None:
            raise NotFound(
                f"no channel named {name!r} is enabled "
                f"(enabled: {', '.join(self.channels) or 'none'})"
            )
        events = await channel.parse(request)
        for event in events:
            await self._accept_channel_event(event)
        return await channel.ack(request, events)

    async def handle_messaging_webhook(self, request: WebhookRequest) -> WebhookResponse:
        """Verify and parse a help-desk webhook; send agent replies to their users."""
        for event in await self.messaging.parse_webhook(request):
            await self._accept_messaging_event(event)
        return WebhookResponse()

    async def _accept_channel_event(self, event: ChannelEvent) -> Outcome:
        if not isinstance(event, InboundMessage):
            return await self.sync.deliver_event(event)
        payload = _payload(event)
        if self.delivery == "inline":
            arrived = self.clock.time()
            outcome = await self.sync.deliver_inbound(event)
            if outcome is Outcome.DELIVERED:
                self.hops.delivered("in", self.clock.time() - arrived)
            self.hops.channel_webhook(event, outcome=outcome.value)
            return outcome
        job = await self._enqueue(
            lane=f"in:{event.channel}:{event.user_id}",
            kind="inbound",
            payload=payload,
            dedupe_key=f"q:in:{event.channel}:{event.message_id}",
        )
        self.hops.channel_webhook(event, outcome="duplicate" if job is None else "queued", job=job)
        return Outcome.DUPLICATE if job is None else Outcome.DELIVERED

    async def _accept_messaging_event(self, event: MessagingEvent) -> Outcome:
        if isinstance(event, ConversationChanged):
            outcome = await self._accept_conversation_change(event)
            log.info(
                kv(
                    hop="helpdesk.webhook",
                    conversation=event.conversation_id,
                    helpdesk_user=event.user_id,
                    status=event.status,
                    outcome=outcome.value,
                )
            )
            return outcome
        if self.delivery == "inline":
            arrived = self.clock.time()
            outcome = await self.sync.deliver_reply(event)
            if outcome is Outcome.DELIVERED:
                self.hops.delivered("out", self.clock.time() - arrived)
            self.hops.helpdesk_webhook(event, outcome=outcome.value)
            return outcome
        if not self.sync.is_for_the_user(event):
            # Echoes of the user's own messages and private notes never cost a queue write.
            self.hops.helpdesk_webhook(event, outcome="ignored")
            return Outcome.IGNORED
        job = await self._enqueue(
            # One lane per help-desk user keeps an agent's replies in order.
            lane=_reply_lane(event.user_id or event.conversation_id),
            kind="reply",
            payload=_payload(event),
            dedupe_key=f"q:out:{event.message_id}",
        )
        self.hops.helpdesk_webhook(event, outcome="duplicate" if job is None else "queued", job=job)
        return Outcome.DUPLICATE if job is None else Outcome.DELIVERED

    async def _accept_conversation_change(self, event: ConversationChanged) -> Outcome:
        if self.delivery == "inline":
            return await self.sync.conversation_changed(event)
        if not self.sync.tracks(event):
            return Outcome.IGNORED
        link = await self.store.get_link_by_conversation(event.conversation_id)
        if link is None:
            return Outcome.IGNORED  # not a conversation of ours: no queue write
        # In the lane of the user's replies: an agent who answers "goodbye" and resolves at
        # once must not have the channel close the session before the goodbye went out.
        job = await self._enqueue(
            lane=_reply_lane(event.user_id or link.helpdesk_user_id),
            kind="change",
            payload=_payload(event),
            # Freshchat retries webhooks; without an id each delivery is its own event.
            dedupe_key=f"q:change:{event.event_id or uuid.uuid4().hex}",
        )
        return Outcome.DUPLICATE if job is None else Outcome.DELIVERED

    async def _enqueue(self, *, lane: str, kind: str, payload: str, dedupe_key: str) -> int | None:
        """Store the event as a job; its id, or None when it was queued before (a duplicate)."""
        await self.start()
        try:
            # The dispatcher starts the job at once when it has a free slot.
            job = await self.dispatcher.enqueue(
                lane=lane, kind=kind, payload=payload, dedupe_key=dedupe_key, ttl=DEFAULT_DEDUPE_TTL
            )
        except ByocError:
            raise
        except Exception as exc:
            # Not stored means not acknowledged: the sender retries on a 503.
            log.error(kv(hop="enqueue_failed", lane=lane, error=f"{type(exc).__name__}: {exc}"))
            raise RetryableError(f"the bridge could not store the event ({exc})") from exc
        return None if job is None else job.id

    async def _run_job(self, job: Job) -> list[str] | None:
        try:
            event = codec.decode(json.loads(job.payload))
        except (ValueError, MalformedPayload) as exc:
            raise MalformedPayload(f"stored job {job.id} cannot be decoded: {exc}") from exc
        if job.kind == "inbound" and isinstance(event, InboundMessage):
            since = None
            # After a crash, and after any failed try (a timeout may hide a post that went
            # through), look in the help desk before posting again.
            if job.recovering or job.attempts:
                accepted = datetime.fromtimestamp(job.accepted_at, timezone.utc)
                since = accepted - _RECOVERY_CLOCK_SKEW
            posted: list[str] = []
            await self.sync.deliver_inbound(
                event, dedupe=False, recovering_since=since, track_posted=posted
            )
            # Claimed by the dispatcher in the transaction that finishes the job.
            return posted
        elif job.kind == "reply" and isinstance(event, AgentMessage):
            await self.sync.deliver_reply(event, dedupe=False)
        elif job.kind == "change" and isinstance(event, ConversationChanged):
            await self.sync.conversation_changed(event)
        else:
            raise MalformedPayload(f"stored job {job.id} has unknown kind {job.kind!r}")
        return None

    # -- life cycle and dead letters -------------------------------------------------------

    async def start(self) -> None:
        """Start the delivery workers (also done on the first webhook and on ASGI startup)."""
        if self.delivery == "durable" and not self.dispatcher.started:
            async with self._start_lock:
                await self.dispatcher.start()

    async def wait_idle(self) -> None:
        """Wait until no job is in flight or due (tests and the demo use this)."""
        if self.dispatcher.started:
            await self.dispatcher.wait_idle()

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        return await self.store.dead_letters(limit=limit)

    async def replay(self, dead_id: int) -> bool:
        """Queue a dead letter again; False when there is no such dead letter."""
        job_id = await self.store.replay(dead_id, now=self.clock.time())
        if job_id is None:
            return False
        self.dispatcher.wake()
        return True

    async def drop(self, dead_id: int) -> bool:
        return await self.store.drop(dead_id)

    # -- installation ----------------------------------------------------------------------

    def target_url(self, name: str, public_url: str | None = None) -> str:
        """The URL a channel must call: `<public URL>/channels/<name>/webhook`."""
        base = (public_url or self.public_url or "").rstrip("/")
        if not base:
            raise ConfigurationError(
                "the bridge's public URL is not set; set BYOC_PUBLIC_URL (or pass public_url=) "
                "to the HTTPS address where this bridge is reachable, e.g. https://byoc.example.com"
            )
        return f"{base}/channels/{name}/webhook"

    def messaging_webhook_url(self, public_url: str | None = None) -> str:
        """The URL to paste into the help desk's webhook settings."""
        return self.target_url("_", public_url).replace("/channels/_/webhook", "/messaging/webhook")

    async def install(
        self, names: Iterable[str] | None = None, *, public_url: str | None = None
    ) -> dict[str, InstallResult]:
        """Register each channel's webhook (or record the URL to paste by hand).

        Channels such as Viber call the URL back while registering it, so the bridge must
        already be serving it when this runs.
        """
        results: dict[str, InstallResult] = {}
        for name in names if names is not None else list(self.channels):
            channel = self.channels.get(name)
            if channel is None:
                raise ConfigurationError(f"no channel named {name!r} is enabled")
            result = await channel.install(self.target_url(name, public_url))
            await self.store.set_setting(_target_url_key(name), result.target_url)
            record = {
                "target_url": result.target_url,
                "registered": result.registered,
                "instructions": result.instructions,
                "at": self.clock.time(),
            }
            await self.store.set_setting(_install_key(name), json.dumps(record))
            log.info(
                kv(
                    hop="install",
                    channel=name,
                    registered="yes" if result.registered else "paste by hand",
                )
            )
            results[name] = result
        return results

    async def uninstall(self, names: Iterable[str] | None = None) -> None:
        """Unregister each channel's webhook and forget what `install()` recorded."""
        for name in names if names is not None else list(self.channels):
            channel = self.channels.get(name)
            if channel is None:
                raise ConfigurationError(f"no channel named {name!r} is enabled")
            await channel.uninstall()
            await self.store.delete_setting(_target_url_key(name))
            await self.store.delete_setting(_install_key(name))
            log.info(kv(hop="uninstall", channel=name))

    async def installed_url(self, name: str) -> str | None:
        """The target URL recorded by the last `install()` of a channel."""
        return await self.store.get_setting(_target_url_key(name)) or None

    async def installed(self, name: str) -> tuple[InstallResult, float | None] | None:
        """What the last `install()` of a channel recorded, and when (None: not installed)."""
        raw = await self.store.get_setting(_install_key(name))
        if raw:
            try:
                record = json.loads(raw)
                result = InstallResult(
                    target_url=str(record["target_url"]),
                    registered=bool(record["registered"]),
                    instructions=str(record.get("instructions", "")),
                )
                at = record.get("at")
                return result, float(at) if isinstance(at, (int, float)) else None
            except (ValueError, KeyError, TypeError):
                log.warning("the install record of %s is unreadable; ignoring it", name)
        url = await self.installed_url(name)
        if url:
            # Recorded by an older version, which kept only the URL.
            return InstallResult(target_url=url, registered=False), None
        return None

    # -- metrics ---------------------------------------------------------------------------

    async def metrics_text(self) -> str:
        """The bridge's metrics in Prometheus' text format (two store reads: depth, dead)."""
        hops = self.hops
        hops.queue_depth.set(await self.store.depth())
        hops.dead_letters.set(await self.store.count_dead_letters())
        hops.in_flight.set(self.dispatcher.in_flight)
        hops.info.set(1, (self.label or "live").lower())
        return hops.registry.render()

    async def aclose(self, grace: float | None = None) -> None:
        """Stop taking work, let deliveries in flight finish, close everything.

        Deliveries still running after `grace` seconds (default: `shutdown_grace`) are handed
        back to the queue; a durable store delivers them after the next start.
        """
        await self.dispatcher.stop(self.shutdown_grace if grace is None else grace)
        for channel in self.channels.values():
            await channel.aclose()
        await self.messaging.aclose()
        await self.store.aclose()


class _DeliveryReport:
    """Turns what the dispatcher reports into hop log lines and metrics."""

    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge

    @staticmethod
    def _direction(job: Job) -> str:
        return "in" if job.kind == "inbound" else "out"

    def finished(self, job: Job, now: float) -> None:
        self.bridge.hops.delivered(self._direction(job), now - job.accepted_at)

    def retrying(self, job: Job, attempt: int, delay: float, error: str) -> None:
        self.bridge.hops.retry(
            job=job.id,
            lane=job.lane,
            direction=self._direction(job),
            attempt=attempt,
            delay=delay,
            error=error,
        )

    async def buried(self, job: Job, reason: str, error: str) -> None:
        try:
            channel = await self._channel_of(job)
        except Exception:  # naming the channel is a nicety; the dead letter is already kept
            channel = "unknown"
        self.bridge.hops.dead_letter(
            job=job.id,
            lane=job.lane,
            channel=channel,
            direction=self._direction(job),
            reason=reason,
            error=error,
        )

    async def _channel_of(self, job: Job) -> str:
        """The channel a job was for (a reply's lane names only its help-desk user)."""
        if job.kind == "inbound":
            return job.lane.split(":", 2)[1]
        event = codec.decode(json.loads(job.payload))
        if isinstance(event, AgentMessage):
            store = self.bridge.store
            link = None
            if event.user_id is not None:
                link = await store.get_link_by_helpdesk_user(event.user_id)
            if link is None:
                link = await store.get_link_by_conversation(event.conversation_id)
            if link is not None:
                return link.channel
        return "unknown"
