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

The bridge is the wiring: it builds the `Sync` (every per-event decision), the delivery mode, and
the HTTP surface (`byoc.http`), which reaches `Sync` for webhooks and the bridge only for its
status. It alone keeps install state (what `install()` registered, shown by `status()`).

**Delivery.** By default (`delivery="durable"`) a webhook is answered 2xx only once its event is
stored in the queue; workers deliver it afterwards, retrying as the `RetryPolicy` says, and what
cannot be delivered becomes a dead letter (`dead_letters()`, `replay()`). If the store cannot take
the event, the answer is 503 and the sender retries. `delivery="inline"` delivers inside the
webhook request instead (lower latency, nothing survives a crash mid-delivery). See
`byoc.delivery_modes`.

**Answer deadlines.** A channel whose sender gives up on the webhook after a few seconds (an Open
Builder skill: 5 s) says so in `Capabilities.answer_deadline`. Inline delivery makes that answer
wait for the help desk, so the bridge refuses to build with both.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import attrs

from .admin import AdminRoutes
from .asgi import Receive, Scope, Send
from .channel import Channel, InstallResult
from .clock import Clock, SystemClock
from .counter_flush import DEFAULT_FLUSH_INTERVAL, CounterFlusher
from .delivery import DEFAULT_CONCURRENCY, DEFAULT_LEASE
from .delivery_modes import DurableDelivery, InlineDelivery
from .errors import ConfigurationError
from .hops import Hops
from .http import HttpApp
from .installs import Installs
from .messaging import Messaging
from .reachability import replaying
from .retry import RetryPolicy
from .status import BridgeStatus, ChannelStatus, Health, RefusedWebhooks
from .store import MemoryStore, Store
from .store.queue import DeadLetter
from .sync import Notices, ReferenceIds, ResolvedPolicy, Sync

__all__ = ["Bridge"]

log = logging.getLogger("byoc.bridge")

DEFAULT_MAX_BODY_SIZE = 1024 * 1024
DEAD_LETTERS_SHOWN = 200
"""How many dead letters `status()` lists."""

Delivery = Literal["durable", "inline"]


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


class Bridge:
    """The bridge. Call it as an ASGI app; `install()` registers the channels' webhooks.

    Besides the wiring (`messaging`, `channels`, `store`) and delivery options:

    - `public_url`: where the bridge is reachable; target URLs are made from it.
    - `hops`: where hop log lines and metrics go (one `Hops` per bridge by default).
    - `admin_token`: turns the admin page on (`byoc.admin`); `label` marks the page and the
      metrics (the demo passes "DEMO").
    - `metrics_token`: the bearer token `/metrics` asks for (the admin token works too); with
      neither token set, `/metrics` is open.
    - `shutdown_grace`: how long `aclose()` lets deliveries in flight finish.
    - `counts_flush_interval`: seconds between the flushes of the counters to the store
      (`byoc.counter_flush`): the counters shown are totals since the store was created, summed
      over replicas.
    - `concurrency`, `lease`: deliveries in flight per process, and how long one stays leased
      to this process without renewal (how soon another replica takes over after a crash).
    - `notices`: per channel name, short texts sent to users when an agent takes or resolves
      their conversation (`byoc.sync.Notices`; none by default).
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
        notices: Mapping[str, Notices] | None = None,
        delivery: Delivery = "durable",
        retry_policy: RetryPolicy | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        lease: float = DEFAULT_LEASE,
        clock: Clock | None = None,
        hops: Hops | None = None,
        admin_token: str | None = None,
        metrics_token: str | None = None,
        label: str | None = None,
        shutdown_grace: float = 10.0,
        counts_flush_interval: float = DEFAULT_FLUSH_INTERVAL,
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
        self.clock = clock or SystemClock()
        self.hops = hops or Hops(clock=self.clock)
        self.counter_flusher = CounterFlusher(self.hops, store, interval=counts_flush_interval)
        self.admin_token = admin_token or None
        self.label = label
        self.shutdown_grace = shutdown_grace
        for channel in channels:
            channel.bind(store)
        self.installs = Installs(self.channels, store, public_url=public_url, clock=self.clock)
        self.delivery: InlineDelivery | DurableDelivery
        if delivery == "inline":
            self.delivery = InlineDelivery(store=store, hops=self.hops, clock=self.clock)
        else:
            self.delivery = DurableDelivery(
                store=store,
                hops=self.hops,
                clock=self.clock,
                retry_policy=retry_policy,
                concurrency=concurrency,
                lease=lease,
            )
        self.sync = Sync(
            messaging=messaging,
            channels=self.channels,
            store=store,
            delivery=self.delivery,
            reference_ids=reference_ids,
            resolved_policy=resolved_policy,
            notices=notices,
            hops=self.hops,
        )
        self._http = HttpApp(
            webhooks=self.sync,
            monitor=self,
            lifecycle=self,
            admin=AdminRoutes(
                self,
                token=self.admin_token,
                store=store,
                label=label,
                clock=self.clock,
                secure_cookies=(self.public_url or "").startswith("https://"),
            ),
            hops=self.hops,
            max_body_size=max_body_size,
            metrics_tokens=tuple(t for t in (metrics_token, self.admin_token) if t),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._http(scope, receive, send)

    # -- life cycle ------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        """Whether the delivery workers run (inline delivery has none: always False)."""
        return isinstance(self.delivery, DurableDelivery) and self.delivery.dispatcher.started

    async def start(self) -> None:
        """Start the delivery workers (also done on the first webhook and on ASGI startup)."""
        await self.delivery.start()
        await self.counter_flusher.start()

    async def wait_idle(self) -> None:
        """Wait until no job is in flight or due (tests and the demo use this)."""
        await self.delivery.wait_idle()

    async def aclose(self, grace: float | None = None) -> None:
        """Stop taking work, let deliveries in flight finish, close everything.

        Deliveries still running after `grace` seconds (default: `shutdown_grace`) are handed
        back to the queue; a durable store delivers them after the next start.
        """
        await self.delivery.stop(self.shutdown_grace if grace is None else grace)
        await self.counter_flusher.stop()
        for channel in self.channels.values():
            await channel.aclose()
        await self.messaging.aclose()
        await self.store.aclose()

    # -- dead letters ----------------------------------------------------------------------

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        return await self.store.dead_letters(limit=limit)

    async def replay(self, dead_id: int) -> bool:
        """Queue a dead letter again; False when there is no such dead letter.

        A reply's user who could not be reached gets another chance (`byoc.reachability`).
        """
        dead = await self.store.dead_letter(dead_id)
        if dead is None:
            return False
        await replaying(self.store, dead.job)
        job_id = await self.store.replay(dead_id, now=self.clock.time())
        if job_id is None:
            return False
        if isinstance(self.delivery, DurableDelivery):
            self.delivery.wake()
        return True

    async def drop(self, dead_id: int) -> bool:
        return await self.store.drop(dead_id)

    # -- installation (kept by `self.installs`) -------------------------------------------

    def target_url(self, name: str, public_url: str | None = None) -> str:
        """The URL a channel must call: `<public URL>/channels/<name>/webhook`."""
        return self.installs.target_url(name, public_url)

    def messaging_webhook_url(self, public_url: str | None = None) -> str:
        """The URL to paste into the help desk's webhook settings."""
        return self.installs.messaging_webhook_url(public_url)

    async def install(
        self, names: Iterable[str] | None = None, *, public_url: str | None = None
    ) -> dict[str, InstallResult]:
        """Register each channel's webhook (or record the URL to paste by hand).

        Channels such as Viber call the URL back while registering it, so the bridge must
        already be serving it when this runs.
        """
        return await self.installs.install(names, public_url=public_url)

    async def uninstall(self, names: Iterable[str] | None = None) -> None:
        """Unregister each channel's webhook and forget what `install()` recorded."""
        await self.installs.uninstall(names)

    async def installed_url(self, name: str) -> str | None:
        """The target URL recorded by the last `install()` of a channel."""
        return await self.installs.installed_url(name)

    async def installed(self, name: str) -> tuple[InstallResult, float | None] | None:
        """What the last `install()` of a channel recorded, and when (None: not installed)."""
        return await self.installs.recorded(name)

    # -- status --------------------------------------------------------------------------

    async def health(self) -> Health:
        """Whether the bridge can do its job now (`/healthz`): the store answers, the
        dispatcher can record outcomes, and no peer has failed every delivery for a while."""
        problems = list(self.delivery.trouble.problems())
        try:
            await self.store.ping()
        except Exception as exc:  # the store cannot take webhooks: they are answered 503
            problems.insert(0, f"the store: {exc}")
        if isinstance(self.delivery, DurableDelivery):
            dispatcher = self.delivery.dispatcher
            if dispatcher.problem is not None:
                since = dispatcher.problem_since or self.clock.time()
                problems.append(
                    f"deliveries: {dispatcher.problem} (for {self.clock.time() - since:.0f} s)"
                )
        return Health(problems=tuple(problems))

    async def status(self) -> BridgeStatus:
        """A snapshot for the admin page: install state, counts, queue, dead letters."""
        await self.counter_flusher.load()
        rows = [await self._channel_status(name) for name in self.channels]
        try:
            messaging_url: str | None = self.messaging_webhook_url()
        except ConfigurationError:
            messaging_url = None
        return BridgeStatus(
            label=self.label,
            public_url=self.public_url,
            messaging_webhook_url=messaging_url,
            last_helpdesk_event=self.hops.last_helpdesk_event,
            channels=tuple(rows),
            queue_depth=await self.store.depth(),
            in_flight=self.delivery.in_flight,
            dead_letters=tuple(await self.dead_letters(limit=DEAD_LETTERS_SHOWN)),
            delivery=self.delivery.mode,
            helpdesk_signatures=self.messaging.verifies_signatures,
            helpdesk=self.messaging.title,
            helpdesk_webhook_help=self.messaging.webhook_help,
            refused=tuple(
                RefusedWebhooks(
                    endpoint=endpoint,
                    count=int(self.hops.refused.total(endpoint=endpoint)),
                    last_at=last.at,
                    last_status=last.status,
                    last_reason=last.reason,
                )
                for endpoint, last in sorted(self.hops.last_refusal.items())
            ),
            health=await self.health(),
        )

    async def _channel_status(self, name: str) -> ChannelStatus:
        messages_in, messages_out, failed = self.hops.counts(name)
        row = ChannelStatus(
            name=name,
            target_url=None,
            state="not installed",
            messages_in=messages_in,
            messages_out=messages_out,
            failed=failed,
            last_in=self.hops.last_event.get((name, "in")),
            last_out=self.hops.last_event.get((name, "out")),
        )
        recorded = await self.installed(name)
        if recorded is not None:
            result, at = recorded
            return attrs.evolve(
                row,
                target_url=result.target_url,
                state="registered" if result.registered else "manual",
                instructions=result.instructions,
                installed_at=at,
            )
        try:
            return attrs.evolve(row, target_url=self.target_url(name))
        except ConfigurationError:
            return row  # no public URL yet: the page says how to set one

    async def metrics_text(self) -> str:
        """The bridge's metrics in Prometheus' text format (two store reads: depth, dead)."""
        hops = self.hops
        await self.counter_flusher.load()
        hops.queue_depth.set(await self.store.depth())
        hops.dead_letters.set(await self.store.count_dead_letters())
        hops.in_flight.set(self.delivery.in_flight)
        hops.info.set(1, (self.label or "live").lower())
        return hops.registry.render()
