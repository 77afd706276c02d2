"""`HttpClientSlot`: a given client stays its owner's; one made on first use is closed here."""

from __future__ import annotations

import httpx
import pytest

from byoc import http_client
from byoc.delivery import DEFAULT_CONCURRENCY
from byoc.http_client import HttpClientSlot


async def test_a_given_client_is_used_and_left_open() -> None:
    async with httpx.AsyncClient() as given:
        slot = HttpClientSlot(given)
        assert slot.client is given and not slot.owned
        await slot.aclose()
        assert not given.is_closed


async def test_a_client_is_made_on_first_use_and_closed_by_aclose() -> None:
    made: list[httpx.AsyncClient] = []

    def factory() -> httpx.AsyncClient:
        made.append(httpx.AsyncClient())
        return made[-1]

    slot = HttpClientSlot(factory=factory)
    assert slot.owned and made == []
    assert slot.client is slot.client and len(made) == 1
    await slot.aclose()
    assert made[0].is_closed


async def test_aclose_without_use_makes_nothing() -> None:
    slot = HttpClientSlot(factory=lambda: (_ for _ in ()).throw(AssertionError("made")))
    await slot.aclose()


async def test_replace_switches_to_a_given_client_and_still_closes_the_made_one() -> None:
    slot = HttpClientSlot(timeout=1.0)
    first = slot.client
    async with httpx.AsyncClient() as given:
        slot.replace(given)
        assert slot.client is given and not slot.owned
        await slot.aclose()
        assert first.is_closed and not given.is_closed


async def test_a_made_client_opens_as_many_connections_as_deliveries_run_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: dict[str, object] = {}

    def factory(**kwargs: object) -> httpx.AsyncClient:
        asked.update(kwargs)
        return httpx.AsyncClient()

    monkeypatch.setattr(http_client, "default_http_client", factory)
    slot = HttpClientSlot(timeout=3.0)
    assert isinstance(slot.client, httpx.AsyncClient)
    await slot.aclose()
    assert asked == {"timeout": 3.0, "max_connections": DEFAULT_CONCURRENCY}
    assert http_client.MAX_CONNECTIONS == DEFAULT_CONCURRENCY
