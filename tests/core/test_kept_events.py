"""Durable delivery runs a job it stored with the event parsed from the webhook, not a decoded
copy, and falls back to the stored payload whenever that event is not the job's own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from byoc.delivery_modes import DurableDelivery, decode_job, encode_event
from byoc.errors import RetryableError
from byoc.hops import Hops
from byoc.models import InboundMessage, Text
from byoc.retry import RetryPolicy
from byoc.store import SQLiteStore
from byoc.store.queue import Job
from byoc.sync import Done, Event, Outcome, Work


def message(n: int) -> InboundMessage:
    return InboundMessage(
        channel="viber", user_id="ana", message_id=f"m-{n}", parts=(Text(text=f"hi {n}"),)
    )


def work(event: InboundMessage) -> Work:
    return Work(kind="inbound", lane="in:viber:ana", dedupe_key=event.message_id, event=event)


class Performed:
    """The events a delivery performs; fails the first `failures` tries."""

    def __init__(self, failures: int = 0) -> None:
        self.events: list[Event] = []
        self.failures = failures
        self.done = asyncio.Event()

    async def __call__(self, event: Event, *, recovering_since: datetime | None = None) -> Done:
        self.events.append(event)
        if self.failures:
            self.failures -= 1
            raise RetryableError("help desk down")
        self.done.set()
        return Done(outcome=Outcome.DELIVERED)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    # Real time: the one retry waits 10 ms.
    made = SQLiteStore(tmp_path / "byoc.sqlite3")
    yield made
    await made.aclose()


def delivery(store: SQLiteStore, performed: Performed) -> DurableDelivery:
    made = DurableDelivery(
        store=store,
        hops=Hops(),
        retry_policy=RetryPolicy(base=0.01, max_delay=0.01, jitter=0.0),
    )
    made.bind(performed)
    return made


async def test_the_first_run_of_a_job_stored_here_gets_the_parsed_event_itself(
    store: SQLiteStore,
) -> None:
    performed = Performed()
    durable = delivery(store, performed)
    event = message(1)

    await durable.submit(work(event))
    await asyncio.wait_for(performed.done.wait(), 10)
    await durable.stop()

    assert performed.events[0] is event


async def test_a_retried_job_is_decoded_from_its_payload_and_equal(store: SQLiteStore) -> None:
    performed = Performed(failures=1)
    durable = delivery(store, performed)
    event = message(2)

    await durable.submit(work(event))
    await asyncio.wait_for(performed.done.wait(), 10)
    await durable.stop()

    first, second = performed.events
    assert first is event
    assert second is not event and second == event


async def test_a_kept_event_is_not_used_for_another_job_that_got_its_id(
    store: SQLiteStore,
) -> None:
    durable = delivery(store, Performed())
    mine, theirs = message(3), message(4)
    durable._kept[7] = (encode_event(mine), mine)  # noqa: SLF001
    other = Job(
        id=7,
        lane="in:viber:ana",
        kind="inbound",
        payload=encode_event(theirs),
        accepted_at=0.0,
        not_before=0.0,
    )

    assert durable._event_of(other) == decode_job(other) == theirs  # noqa: SLF001
    assert 7 not in durable._kept  # noqa: SLF001
