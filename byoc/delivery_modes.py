"""The two ways a bridge delivers work: inline, inside the webhook, or durable, from a queue.

The bridge picks one at construction and `Sync` hands it every `Work` item:

- `DurableDelivery` (the default): the webhook is answered only once its work is stored
  (dedupe and enqueue in one store transaction); a `Dispatcher` performs it afterwards, in lane
  order, retrying and burying as the `RetryPolicy` says. A failure to store is a 503: the sender
  retries and nothing acknowledged is lost.
- `InlineDelivery`: dedupe, then perform at once under the lane's lock; the webhook's answer
  waits for the peer. Lower latency; a crash mid-delivery loses that message.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta, timezone

from . import codec
from .clock import Clock, SystemClock
from .delivery import DEFAULT_CONCURRENCY, DEFAULT_LEASE, Dispatcher
from .errors import ByocError, MalformedPayload, RetryableError
from .hops import Hops, kv
from .json_text import compact_json
from .messaging import AgentMessage, ConversationChanged
from .models import InboundMessage
from .retry import RetryPolicy
from .store import Store
from .store.queue import Job
from .sync import DEFAULT_DEDUPE_TTL, Done, Event, Outcome, Perform, Receipt, Work, WorkKind

__all__ = ["DurableDelivery", "InlineDelivery", "PeerTrouble", "decode_job", "encode_event"]

log = logging.getLogger("byoc.delivery")

# Clocks of the bridge and the help desk differ; look this far back for a message that a
# delivery interrupted by a crash may already have posted.
_RECOVERY_CLOCK_SKEW = timedelta(minutes=5)

# Events of jobs stored here, kept for their first run so it need not decode the payload again;
# past this many (jobs another replica ran, say) the oldest are dropped and decoded if ever run.
_KEPT_EVENTS = 4096

_EVENT_TYPES: dict[WorkKind, type] = {
    "inbound": InboundMessage,
    "reply": AgentMessage,
    "change": ConversationChanged,
}


def _direction(kind: str) -> str:
    return "in" if kind == "inbound" else "out"


async def _unbound(event: Event, *, recovering_since: datetime | None = None) -> Done:
    raise RuntimeError("this delivery was never bound to a Sync")


def encode_event(event: Event) -> str:
    """The event as queue JSON; what no peer could read is bad input, refused now (400).

    A lone UTF-16 surrogate (`"\\ud83d"`, half an emoji) parses as JSON but can be neither
    stored nor sent, nor can a number that is not finite (a channel's `NaN` latitude):
    refusing it at the door beats retrying it for an hour.
    """
    try:
        payload = compact_json(codec.encode(event))
    except ValueError as exc:
        raise MalformedPayload(f"the message holds a number JSON cannot carry ({exc})") from None
    try:
        payload.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedPayload(
            f"the message holds text that is not valid Unicode ({exc.reason})"
        ) from None
    return payload


def decode_job(job: Job) -> Event:
    """The event a stored job carries; `MalformedPayload` when it cannot be one."""
    try:
        event = codec.decode(json.loads(job.payload))
    except (ValueError, MalformedPayload) as exc:
        raise MalformedPayload(f"stored job {job.id} cannot be decoded: {exc}") from exc
    expected = _EVENT_TYPES.get(job.kind)  # type: ignore[call-overload]
    if expected is None or not isinstance(event, expected):
        raise MalformedPayload(f"stored job {job.id} has unknown kind {job.kind!r}")
    return event  # type: ignore[no-any-return]


class PeerTrouble:
    """Whether a peer has failed every delivery for a while: the help desk (deliveries in) or
    the channels (replies out). `/healthz` reports it.

    One failure says little (a timeout, a 503 the retry cures); failures with no success in
    between for `after` seconds say the peer is down, or a credential is wrong.
    """

    PEERS = {"in": "the help desk", "out": "the channels"}

    def __init__(self, clock: Clock, *, after: float = 30.0) -> None:
        self.clock = clock
        self.after = after
        self._failing: dict[str, tuple[float, str]] = {}

    def failed(self, direction: str, error: str) -> None:
        since = self._failing.get(direction, (self.clock.time(), ""))[0]
        self._failing[direction] = (since, error[:200])

    def succeeded(self, direction: str) -> None:
        self._failing.pop(direction, None)

    def problems(self) -> tuple[str, ...]:
        now = self.clock.time()
        return tuple(
            f"{self.PEERS.get(direction, direction)}: every delivery has failed for "
            f"{now - since:.0f} s; last error: {error}"
            for direction, (since, error) in sorted(self._failing.items())
            if now - since >= self.after
        )


class InlineDelivery:
    """Performs work inside the webhook request, under its lane's lock."""

    mode = "inline"

    def __init__(
        self,
        *,
        store: Store,
        hops: Hops,
        clock: Clock | None = None,
        dedupe_ttl: float = DEFAULT_DEDUPE_TTL,
    ) -> None:
        self.store = store
        self.hops = hops
        self.clock = clock or SystemClock()
        self.dedupe_ttl = dedupe_ttl
        self.in_flight = 0
        self.trouble = PeerTrouble(self.clock)
        self._perform: Perform = _unbound

    def bind(self, perform: Perform) -> None:
        self._perform = perform

    async def submit(self, work: Work) -> Receipt:
        # Nothing is stored, so no payload is encoded: the webhook parsers already replace
        # lone surrogates (`byoc.webhook.parse_json_object`), the one text JSON carries that
        # no peer could encode, and encoding only to check cost ~40 µs a message.
        arrived = self.clock.time()
        self.in_flight += 1
        try:
            # The lock keeps a user's concurrent messages in arrival order, and makes the first
            # messages of a new user create one help-desk user and one conversation.
            async with self.store.lock(work.lane):
                # Unsynced: nothing is acknowledged before the delivery is done, and a process
                # crash keeps the claim; only an OS crash within a second of a 2xx may forget
                # it, and then only a sender repeating an answered webhook would post twice.
                # The fsync it spares was a fifth of an inline message's CPU.
                if not await self.store.claim(work.dedupe_key, self.dedupe_ttl, synced=False):
                    return Receipt(outcome=Outcome.DUPLICATE)
                try:
                    done = await self._perform(work.event)
                except BaseException as exc:
                    # Not delivered: let the sender's retry try again.
                    await self.store.release(work.dedupe_key)
                    if isinstance(exc, RetryableError):
                        self.trouble.failed(_direction(work.kind), f"{type(exc).__name__}: {exc}")
                    raise
        finally:
            self.in_flight -= 1
        if done.outcome is Outcome.DELIVERED:
            self.trouble.succeeded(_direction(work.kind))
            self.hops.delivered(_direction(work.kind), self.clock.time() - arrived)
        return Receipt(outcome=done.outcome)

    async def start(self) -> None:
        return None

    async def stop(self, grace: float = 10.0) -> None:
        return None

    async def wait_idle(self) -> None:
        return None


class DurableDelivery:
    """Stores work, answers, and performs it from the queue (see the module docstring)."""

    mode = "durable"

    def __init__(
        self,
        *,
        store: Store,
        hops: Hops,
        clock: Clock | None = None,
        retry_policy: RetryPolicy | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        lease: float = DEFAULT_LEASE,
        dedupe_ttl: float = DEFAULT_DEDUPE_TTL,
    ) -> None:
        self.store = store
        self.hops = hops
        self.clock = clock or SystemClock()
        self.dedupe_ttl = dedupe_ttl
        self.trouble = PeerTrouble(self.clock)
        self.dispatcher = Dispatcher(
            store=store,
            handler=self._run_job,
            policy=retry_policy,
            clock=self.clock,
            concurrency=concurrency,
            observer=_Report(store, hops, self.trouble),
            lease=lease,
            claim_ttl=dedupe_ttl,
        )
        self._perform: Perform = _unbound
        self._start_lock = asyncio.Lock()
        # Job id → (payload, event). The payload is compared before the event is used: SQLite
        # may give a later job the id of a deleted one.
        self._kept: dict[int, tuple[str, Event]] = {}

    def bind(self, perform: Perform) -> None:
        self._perform = perform

    @property
    def in_flight(self) -> int:
        return self.dispatcher.in_flight

    async def submit(self, work: Work) -> Receipt:
        payload = encode_event(work.event)
        await self.start()
        try:
            # Stored (dedupe key and job in one transaction); the dispatcher starts the job at
            # once when it has a free slot and the lane is free, without another store query.
            job = await self.dispatcher.enqueue(
                lane=work.lane,
                kind=work.kind,
                payload=payload,
                dedupe_key=work.dedupe_key,
                ttl=self.dedupe_ttl,
            )
        except ByocError:
            raise
        except Exception as exc:
            # Not stored means not acknowledged: the sender retries on a 503.
            error = f"{type(exc).__name__}: {exc}"
            log.error(kv(hop="enqueue_failed", lane=work.lane, error=error))
            raise RetryableError(f"the bridge could not store the event ({exc})") from exc
        if job is None:
            return Receipt(outcome=Outcome.DUPLICATE)
        if len(self._kept) >= _KEPT_EVENTS:
            del self._kept[next(iter(self._kept))]
        self._kept[job.id] = (payload, work.event)
        return Receipt(outcome=Outcome.QUEUED, job=job.id)

    def _event_of(self, job: Job) -> Event:
        """The job's event: the one parsed from the webhook when this process stored the job
        (what decoding its payload gives, without the ~30 µs), else decoded."""
        kept = self._kept.pop(job.id, None)
        if kept is not None and kept[0] == job.payload:
            return kept[1]
        return decode_job(job)

    async def _run_job(self, job: Job) -> tuple[str, ...]:
        event = self._event_of(job)
        since = None
        # After a crash, and after any failed try (a timeout may hide a post that went through),
        # look in the help desk before posting again.
        if job.kind == "inbound" and (job.recovering or job.attempts):
            since = datetime.fromtimestamp(job.accepted_at, timezone.utc) - _RECOVERY_CLOCK_SKEW
        done = await self._perform(event, recovering_since=since)
        # Claimed by the dispatcher in the transaction that finishes the job: no crash can
        # fall between the record of a posted message and the end of its job.
        return done.remember

    async def start(self) -> None:
        """Start the dispatcher (once; also done on the first webhook)."""
        if not self.dispatcher.started:
            async with self._start_lock:
                await self.dispatcher.start()

    async def stop(self, grace: float = 10.0) -> None:
        await self.dispatcher.stop(grace)

    async def wait_idle(self) -> None:
        if self.dispatcher.started:
            await self.dispatcher.wait_idle()

    def wake(self) -> None:
        """Work was queued behind the dispatcher's back (a dead letter replayed)."""
        self.dispatcher.wake()


class _Report:
    """Turns what the dispatcher reports into hop log lines and metrics."""

    def __init__(self, store: Store, hops: Hops, trouble: PeerTrouble) -> None:
        self.store = store
        self.hops = hops
        self.trouble = trouble

    def finished(self, job: Job, now: float) -> None:
        self.trouble.succeeded(_direction(job.kind))
        self.hops.delivered(_direction(job.kind), now - job.accepted_at)

    def retrying(self, job: Job, attempt: int, delay: float, error: str) -> None:
        self.trouble.failed(_direction(job.kind), error)
        self.hops.retry(
            job=job.id,
            lane=job.lane,
            direction=_direction(job.kind),
            attempt=attempt,
            delay=delay,
            error=error,
        )

    async def buried(self, job: Job, reason: str, error: str) -> None:
        try:
            channel = await self._channel_of(job)
        except Exception:  # naming the channel is a nicety; the dead letter is already kept
            channel = "unknown"
        self.hops.dead_letter(
            job=job.id,
            lane=job.lane,
            channel=channel,
            direction=_direction(job.kind),
            reason=reason,
            error=error,
        )

    async def _channel_of(self, job: Job) -> str:
        """The channel a job was for (a reply's lane names only its help-desk user)."""
        if job.kind == "inbound":
            return job.lane.split(":", 2)[1]
        event = decode_job(job)
        if isinstance(event, AgentMessage):
            link = None
            if event.user_id is not None:
                link = await self.store.get_link_by_helpdesk_user(event.user_id)
            if link is None:
                link = await self.store.get_link_by_conversation(event.conversation_id)
            if link is not None:
                return link.channel
        return "unknown"
