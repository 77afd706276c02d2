"""SQLiteStore and MemoryStore give the same answers to the same random sequence of calls.

The ids are drawn the way the bridge makes them: a help-desk user belongs to one channel user
(its `reference_id`) and a conversation to one help-desk user. Outside that domain the stores
differ on purpose: SQLiteStore refuses a help-desk user linked twice (see `save_link`).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from byoc.store import MemoryStore, SQLiteStore, Store, UserLink
from byoc.testing.clock import FakeClock

# Small pools make the calls collide (a claim meets its duplicate, a lookup finds a saved link);
# random text rides along to show that any text SQLite can store as UTF-8 round-trips (all but
# lone surrogates; NUL included).
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=8)
channels = st.sampled_from(["viber", "kakao"])
users = st.tuples(channels, st.sampled_from(["u1", "u2", "ユーザー"]) | texts)
conversation_numbers = st.none() | st.integers(min_value=0, max_value=2)
claim_keys = st.sampled_from(["viber:m1", "viber:m2", "kakao:m1"])
setting_keys = st.sampled_from(["viber.target_url", "kakao.secret"]) | texts
# Whole seconds, so that time lands exactly on an expiry now and then; fractions as well.
ttls = st.sampled_from([0.0, 1.0, 5.0])
seconds = st.sampled_from([0.0, 1.0, 5.0]) | st.floats(min_value=0, max_value=60)


def helpdesk_user(channel: str, user: str) -> str:
    return f"hd|{channel}|{user}"


def conversation(channel: str, user: str, number: int) -> str:
    return f"conv|{channel}|{user}|{number}"


class SQLiteMatchesMemory(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.directory = tempfile.TemporaryDirectory()
        self.clock = FakeClock(autoadvance=True)
        self.memory = MemoryStore(clock=self.clock)
        # NORMAL: durability is not what this compares, and it keeps examples fast.
        self.sqlite = SQLiteStore(
            Path(self.directory.name) / "byoc.db", clock=self.clock, synchronous="NORMAL"
        )
        self.seen_users: list[tuple[str, str]] = []

    def both(self, call: Callable[[Store], Awaitable[Any]]) -> Any:
        expected = self.loop.run_until_complete(call(self.memory))
        got = self.loop.run_until_complete(call(self.sqlite))
        assert got == expected
        return expected

    @rule(user=users, number=conversation_numbers, resolved=st.booleans())
    def save_link(self, user: tuple[str, str], number: int | None, resolved: bool) -> None:
        channel, channel_user_id = user
        link = UserLink(
            channel=channel,
            channel_user_id=channel_user_id,
            helpdesk_user_id=helpdesk_user(channel, channel_user_id),
            conversation_id=None if number is None else conversation(*user, number),
            resolved=resolved,
        )
        self.both(lambda store: store.save_link(link))
        self.seen_users.append(user)

    @rule(user=users)
    def get_link(self, user: tuple[str, str]) -> None:
        self.both(lambda store: store.get_link(*user))

    @precondition(lambda self: bool(self.seen_users))
    @rule(data=st.data())
    def get_a_saved_link(self, data: st.DataObject) -> None:
        user = data.draw(st.sampled_from(self.seen_users))
        assert self.both(lambda store: store.get_link(*user)) is not None

    @rule(user=users)
    def get_link_by_helpdesk_user(self, user: tuple[str, str]) -> None:
        self.both(lambda store: store.get_link_by_helpdesk_user(helpdesk_user(*user)))

    @rule(user=users, number=st.integers(min_value=0, max_value=2))
    def get_link_by_conversation(self, user: tuple[str, str], number: int) -> None:
        self.both(lambda store: store.get_link_by_conversation(conversation(*user, number)))

    @rule(key=claim_keys, ttl=ttls)
    def claim(self, key: str, ttl: float) -> None:
        self.both(lambda store: store.claim(key, ttl))

    @rule(key=claim_keys)
    def release(self, key: str) -> None:
        self.both(lambda store: store.release(key))

    @rule(elapsed=seconds)
    def time_passes(self, elapsed: float) -> None:
        self.loop.run_until_complete(self.clock.advance(elapsed))

    @rule(key=setting_keys, value=texts)
    def set_setting(self, key: str, value: str) -> None:
        self.both(lambda store: store.set_setting(key, value))

    @rule(key=setting_keys)
    def get_setting(self, key: str) -> None:
        self.both(lambda store: store.get_setting(key))

    def teardown(self) -> None:
        try:
            self.loop.run_until_complete(self.sqlite.aclose())
            self.loop.run_until_complete(self.memory.aclose())
        finally:
            self.loop.close()
            self.directory.cleanup()


SQLiteMatchesMemory.TestCase.settings = settings(
    max_examples=50, stateful_step_count=40, deadline=None
)
TestSQLiteMatchesMemory = SQLiteMatchesMemory.TestCase
