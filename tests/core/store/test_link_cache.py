"""LinkCache: lookups remembered until a save, never an answer older than a save."""

from __future__ import annotations

import asyncio
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from byoc.store.base import UserLink
from byoc.store.link_cache import LinkCache
from byoc.store.sqlite import SQLiteStore

LINK = UserLink(channel="viber", channel_user_id="u1", helpdesk_user_id="h1", conversation_id="c1")


def test_a_read_is_remembered_until_a_save() -> None:
    cache = LinkCache()
    assert cache.get("k") == (False, None)
    cache.put("k", LINK, cache.generation)
    assert cache.get("k") == (True, LINK)
    cache.invalidate()
    assert cache.get("k") == (False, None)


def test_a_read_that_started_before_a_save_is_not_kept() -> None:
    cache = LinkCache()
    started = cache.generation
    cache.invalidate()
    cache.put("k", None, started)
    assert cache.get("k") == (False, None)


@given(st.lists(st.integers(0, 50), max_size=200), st.integers(1, 8))
def test_the_cache_stays_within_its_size(keys: list[int], size: int) -> None:
    cache = LinkCache(size)
    for key in keys:
        cache.put(key, None, cache.generation)
        assert cache.get(key) == (True, None)
    assert sum(cache.get(key)[0] for key in set(keys)) <= size


def test_a_cache_holds_at_least_one_entry() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        LinkCache(0)


async def test_a_save_racing_a_lookup_is_seen_by_the_next_lookup(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "byoc.db")
    try:
        # The lookup is queued before the save, so it reads the file without the link; its
        # answer arrives after the save began and must not be remembered.
        before, _ = await asyncio.gather(store.get_link("viber", "u1"), store.save_link(LINK))
        assert before is None
        assert await store.get_link("viber", "u1") == LINK
        assert await store.get_link_by_conversation("c1") == LINK
    finally:
        await store.aclose()


async def test_a_tool_beside_the_bridge_reads_the_file_every_time(tmp_path: Path) -> None:
    path = tmp_path / "byoc.db"
    tool = SQLiteStore(path, exclusive=False)
    bridge = SQLiteStore(path)
    try:
        assert await tool.get_link("viber", "u1") is None
        await bridge.save_link(LINK)
        assert await tool.get_link("viber", "u1") == LINK
    finally:
        await tool.aclose()
        await bridge.aclose()


async def test_an_unreachable_mark_a_tool_clears_is_seen_by_the_bridge(tmp_path: Path) -> None:
    # `byoc dead-letters replay` clears the mark from beside a running bridge: the bridge must
    # not refuse the replayed reply on a remembered mark.
    path = tmp_path / "byoc.db"
    bridge = SQLiteStore(path)
    tool = SQLiteStore(path, exclusive=False)
    try:
        await bridge.save_link(attrs.evolve(LINK, unreachable_since=1_700_000_000.0))
        marked = await bridge.get_link_by_conversation("c1")
        assert marked is not None and marked.unreachable_since is not None
        await tool.save_link(LINK)
        assert await bridge.get_link_by_conversation("c1") == LINK
        assert await bridge.get_link("viber", "u1") == LINK
    finally:
        await tool.aclose()
        await bridge.aclose()
