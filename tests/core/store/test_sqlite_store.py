"""What only `SQLiteStore` promises: durability, WAL, atomic claims across connections, clear
errors for a bad file, a worker thread that keeps the event loop free."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from byoc.errors import ConfigurationError
from byoc.store import SQLiteStore, UserLink
from byoc.store.sqlite_schema import SCHEMA_VERSION
from byoc.testing.clock import FakeClock

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
async def store(tmp_path: Path, clock: FakeClock) -> AsyncIterator[SQLiteStore]:
    made = SQLiteStore(tmp_path / "byoc.db", clock=clock)
    yield made
    await made.aclose()


def worker_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("byoc-sqlite")]


async def pragma(store: SQLiteStore, name: str) -> Any:
    """Read a pragma on the store's own connection (on its worker thread)."""
    return await store._run(lambda: store._connection.execute(f"PRAGMA {name}").fetchone()[0])


def read(path: Path, sql: str) -> list[Any]:
    """Query the file through a connection of its own, as another process would."""
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


LINK = UserLink(
    channel="viber", channel_user_id="u1", helpdesk_user_id="hd-1", conversation_id="c-1"
)


async def test_everything_survives_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "byoc.db"
    first = SQLiteStore(path, clock=clock)
    await first.save_link(LINK)
    assert await first.claim("viber:m1", ttl=60)
    await first.set_setting("viber.target_url", "https://bridge.example/hook")
    await first.aclose()

    second = SQLiteStore(str(path), clock=clock)
    try:
        assert await second.get_link("viber", "u1") == LINK
        assert await second.get_link_by_helpdesk_user("hd-1") == LINK
        assert await second.get_link_by_conversation("c-1") == LINK
        assert not await second.claim("viber:m1", ttl=60)
        assert await second.get_setting("viber.target_url") == "https://bridge.example/hook"
    finally:
        await second.aclose()


async def test_journal_is_wal(store: SQLiteStore) -> None:
    assert read(Path(store.path), "PRAGMA journal_mode") == [("wal",)]


async def test_synchronous_is_full_by_default(store: SQLiteStore) -> None:
    assert await pragma(store, "synchronous") == 2  # FULL


async def test_synchronous_normal_on_request(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "byoc.db", synchronous="NORMAL")
    try:
        assert await pragma(store, "synchronous") == 1  # NORMAL
    finally:
        await store.aclose()


def test_unknown_synchronous_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="FULL"):
        SQLiteStore(tmp_path / "byoc.db", synchronous="OFF")  # type: ignore[arg-type]


async def test_schema_version_is_recorded(store: SQLiteStore) -> None:
    assert SCHEMA_VERSION >= 1
    assert read(Path(store.path), "PRAGMA user_version") == [(SCHEMA_VERSION,)]


async def test_concurrent_claims_of_one_key_have_one_winner(store: SQLiteStore) -> None:
    results = await asyncio.gather(*(store.claim("viber:m1", ttl=60) for _ in range(100)))
    assert results.count(True) == 1


async def test_two_stores_on_one_file_claim_a_key_once(tmp_path: Path, clock: FakeClock) -> None:
    # Two connections stand in for two processes (a bridge and a tool beside it): the claim is
    # atomic in SQL, not in Python.
    a = SQLiteStore(tmp_path / "byoc.db", clock=clock, synchronous="NORMAL")
    b = SQLiteStore(tmp_path / "byoc.db", clock=clock, synchronous="NORMAL", exclusive=False)
    try:
        for n in range(20):
            key = f"viber:m{n}"
            results = await asyncio.gather(
                *(store.claim(key, ttl=60) for _ in range(10) for store in (a, b))
            )
            assert results.count(True) == 1
    finally:
        await a.aclose()
        await b.aclose()


async def test_expired_claims_are_purged_now_and_then(store: SQLiteStore, clock: FakeClock) -> None:
    store.purge_every = 4
    for n in range(2):
        assert await store.claim(f"old{n}", ttl=1)
    await clock.advance(2)
    assert await store.claim("new0", ttl=1)
    # Not on every claim: the expired rows are still there...
    assert len(read(Path(store.path), "SELECT key FROM claims")) == 3
    assert await store.claim("new1", ttl=1)
    # ...until `purge_every` claims were made; the purge runs right after the last of them.
    await store.get_setting("any call: it runs after the purge")
    assert sorted(read(Path(store.path), "SELECT key FROM claims")) == [("new0",), ("new1",)]


async def test_housekeeping_queries_go_through_indexes(store: SQLiteStore) -> None:
    """Taking due jobs and purging never scan a table (EXPLAIN QUERY PLAN says how)."""
    from byoc.store import sqlite

    for sql, params in (
        (sqlite._TAKE_DUE, (1.0, 10)),
        (sqlite._NEXT_DUE, ()),
        (sqlite._PURGE_CLAIMS, (1.0, 10)),
        (sqlite._PURGE_DEAD, (1.0, 10)),
        (sqlite._LANE_HEAD, ("lane",)),
        (sqlite._HAND_BACK, ("owner",)),
    ):
        plan = await store._run(
            lambda sql=sql, params=params: store._connection.execute(
                f"EXPLAIN QUERY PLAN {sql}", params
            ).fetchall()
        )
        details = " | ".join(row[-1] for row in plan)
        assert "INDEX" in details, (sql, details)
        assert not any(row[-1].startswith("SCAN") for row in plan), (sql, details)


async def test_a_helpdesk_user_links_to_one_channel_user(store: SQLiteStore) -> None:
    await store.save_link(LINK)
    thief = UserLink(channel="kakao", channel_user_id="k9", helpdesk_user_id="hd-1")

    with pytest.raises(ValueError, match="hd-1"):
        await store.save_link(thief)

    assert await store.get_link("kakao", "k9") is None
    assert await store.get_link_by_helpdesk_user("hd-1") == LINK


async def test_changing_the_helpdesk_user_unmaps_the_old_one(store: SQLiteStore) -> None:
    await store.save_link(LINK)
    moved = UserLink(channel="viber", channel_user_id="u1", helpdesk_user_id="hd-2")
    await store.save_link(moved)

    assert await store.get_link_by_helpdesk_user("hd-1") is None
    assert await store.get_link_by_helpdesk_user("hd-2") == moved


async def test_text_that_is_not_unicode_is_a_value_error(store: SQLiteStore) -> None:
    # json.loads('"\\ud800"') gives such a string; it cannot be stored as UTF-8.
    with pytest.raises(ValueError):
        await store.set_setting("k", "\ud800")
    assert await store.get_setting("k") is None


# -- one process per file ------------------------------------------------------------------------


def test_a_second_bridge_on_the_file_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "byoc.db"
    first = SQLiteStore(path)
    try:
        with pytest.raises(ConfigurationError) as raised:
            SQLiteStore(path)
        assert "BYOC_STORE" in str(raised.value) and "postgresql://" in str(raised.value)
        beside = SQLiteStore(path, exclusive=False)  # a tool (byoc dead-letters) may look
        asyncio.run(beside.aclose())
    finally:
        asyncio.run(first.aclose())
    asyncio.run(SQLiteStore(path).aclose())  # closed: the file is free again


_OPEN_ON_CUE = """
import sys
from byoc.errors import ConfigurationError
from byoc.store import SQLiteStore

sys.stdin.readline()
try:
    store = SQLiteStore(sys.argv[1])
except ConfigurationError as exc:
    print("refused:", exc, flush=True)
    sys.exit(3)
print("running", flush=True)
sys.stdin.readline()
"""


def test_two_processes_started_at_the_same_moment_do_not_both_run(tmp_path: Path) -> None:
    path = tmp_path / "byoc.db"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _OPEN_ON_CUE, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        for _ in range(2)
    ]
    try:
        for process in processes:  # both are waiting for the cue: go
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        first_lines = [process.stdout.readline() for process in processes]  # type: ignore[union-attr]
        assert sorted(line.split()[0] for line in first_lines) == ["refused:", "running"]
        refused = next(line for line in first_lines if line.startswith("refused"))
        assert "another process (pid" in refused and "one bridge process" in refused
    finally:
        for process in processes:
            process.communicate("stop\n", timeout=30)


def test_files_are_private_to_their_owner(tmp_path: Path) -> None:
    path = tmp_path / "byoc.db"
    previous = os.umask(0o022)
    try:
        store = SQLiteStore(path)
        asyncio.run(store.set_setting("k", "v"))
        names = [path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}.lock")]
        modes = {name.name: stat.S_IMODE(name.stat().st_mode) for name in names}
        asyncio.run(store.aclose())
    finally:
        os.umask(previous)
    assert modes == dict.fromkeys(modes, 0o600)


async def test_leases_left_by_a_dead_process_are_recovered_on_open(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "byoc.db"
    first = SQLiteStore(path, clock=clock)
    await first.enqueue(lane="a", kind="k", payload="1", dedupe_key="1", ttl=60, owner="dead")
    await first.enqueue(lane="b", kind="k", payload="2", dedupe_key="2", ttl=60)
    await first.aclose()  # stands for a crash: the lease stays in the file
    tool = SQLiteStore(path, clock=clock, exclusive=False)
    assert await tool.take_due(owner="tool", now=clock.time(), limit=5, lease=5) != []
    await tool.aclose()
    # The tool took "b" and left it leased too; the next bridge recovers both at once.
    second = SQLiteStore(path, clock=clock)
    try:
        assert "2 job(s) were in flight when the bridge stopped" in caplog.text
        jobs = await second.take_due(owner="new", now=clock.time(), limit=5, lease=5)
        assert [(j.payload, j.recovering) for j in jobs] == [("1", True), ("2", True)]
    finally:
        await second.aclose()


# -- bad files -----------------------------------------------------------------------------------


def bad_path_missing_directory(tmp_path: Path) -> Path:
    return tmp_path / "no-such-dir" / "byoc.db"


def bad_path_under_a_file(tmp_path: Path) -> Path:
    (tmp_path / "plain-file").write_text("x")
    return tmp_path / "plain-file" / "byoc.db"


def bad_path_a_directory(tmp_path: Path) -> Path:
    (tmp_path / "a-dir").mkdir()
    return tmp_path / "a-dir"


def bad_path_not_a_database(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"these are not the tables you are looking for\n" * 100)
    return path


@pytest.mark.parametrize(
    "make_path",
    [
        bad_path_missing_directory,
        bad_path_under_a_file,
        bad_path_a_directory,
        bad_path_not_a_database,
    ],
)
def test_a_bad_path_is_a_configuration_error(make_path: Any, tmp_path: Path) -> None:
    path = make_path(tmp_path)
    threads_before = worker_threads()

    with pytest.raises(ConfigurationError) as raised:
        SQLiteStore(path)

    assert "BYOC_STORE" in str(raised.value)
    assert str(path) in str(raised.value)
    assert worker_threads() == threads_before


def test_an_unwritable_directory_is_a_configuration_error(tmp_path: Path) -> None:
    # Directory permissions do not stop root (CI runs as root); /proc refuses new files to
    # everyone.
    with pytest.raises(ConfigurationError, match="BYOC_STORE"):
        SQLiteStore(Path("/proc/byoc-store-test.db"))


def test_a_file_from_a_newer_byoc_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "byoc.db"
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()

    with pytest.raises(ConfigurationError, match="upgrade byoc") as raised:
        SQLiteStore(path)
    assert "BYOC_STORE" in str(raised.value)
    assert str(path) in str(raised.value)


# -- closing -------------------------------------------------------------------------------------


async def test_calls_made_before_aclose_complete(tmp_path: Path) -> None:
    path = tmp_path / "byoc.db"
    store = SQLiteStore(path)
    saves = [asyncio.ensure_future(store.set_setting(f"k{n}", str(n))) for n in range(20)]
    await asyncio.sleep(0)  # the saves are queued on the worker before aclose's turn
    await store.aclose()
    await asyncio.gather(*saves)

    assert len(read(path, "SELECT key FROM settings")) == 20


async def test_a_closed_store_refuses_calls_and_its_thread_is_gone(tmp_path: Path) -> None:
    threads_before = worker_threads()
    store = SQLiteStore(tmp_path / "byoc.db")
    assert len(worker_threads()) == len(threads_before) + 1
    await store.aclose()
    await store.aclose()  # idempotent

    assert worker_threads() == threads_before
    calls = [
        store.get_link("viber", "u1"),
        store.get_link_by_helpdesk_user("hd-1"),
        store.get_link_by_conversation("c-1"),
        store.save_link(LINK),
        store.claim("k", ttl=1),
        store.release("k"),
        store.get_setting("k"),
        store.set_setting("k", "v"),
    ]
    for call in calls:
        with pytest.raises(RuntimeError, match="closed"):
            await call
    with pytest.raises(RuntimeError, match="closed"):
        store.lock("viber:u1")


# -- the worker thread ---------------------------------------------------------------------------


async def test_a_slow_statement_does_not_block_the_event_loop(store: SQLiteStore) -> None:
    gate = threading.Event()
    store._worker.post(gate.wait, 10)  # stands for a long fsync or a busy file
    pending = asyncio.create_task(store.get_setting("k"))

    loop_turns = 0
    for _ in range(50):
        await asyncio.sleep(0)
        loop_turns += 1
    assert loop_turns == 50
    assert not pending.done()

    gate.set()
    assert await pending is None


async def test_a_claim_cancelled_while_it_runs_is_undone(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = threading.Event()
    proceed = threading.Event()
    claim_in_sql = store._claim

    def slow_claim(*args: Any) -> bool:
        started.set()
        proceed.wait(10)
        return claim_in_sql(*args)

    monkeypatch.setattr(store, "_claim", slow_claim)
    task = asyncio.create_task(store.claim("viber:m1", ttl=60))
    await asyncio.to_thread(started.wait, 10)
    task.cancel()
    proceed.set()
    with pytest.raises(asyncio.CancelledError):
        await task

    # The webhook's retry must be processed, not dropped as a duplicate.
    assert await store.claim("viber:m1", ttl=60)


async def test_a_claim_cancelled_before_it_runs_never_happens(store: SQLiteStore) -> None:
    gate = threading.Event()
    store._worker.post(gate.wait, 10)
    task = asyncio.create_task(store.claim("viber:m1", ttl=60))
    await asyncio.sleep(0)  # the task queues its job behind the gate
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    gate.set()

    assert await store.claim("viber:m1", ttl=60)


async def test_a_purge_queued_behind_aclose_does_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SQLiteStore(tmp_path / "byoc.db")
    store.purge_every = 1
    claim = asyncio.ensure_future(store.claim("k", ttl=1))  # posts a purge when it runs
    await asyncio.sleep(0)
    await store.aclose()
    assert await claim
    assert "failed" not in caplog.text


async def test_the_wal_is_checkpointed_beside_the_writes_not_inside_them(tmp_path: Path) -> None:
    path = tmp_path / "byoc.db"
    store = SQLiteStore(path, synchronous="NORMAL")
    try:
        assert await pragma(store, "wal_autocheckpoint") == 0  # no write pays for one
        size = path.stat().st_size
        for n in range(300):
            await store.set_setting(f"key-{n}", "x" * 2000)
        # The checkpointer thread copies the pages into the file within a second or so.
        deadline = time.monotonic() + 20
        while path.stat().st_size <= size + 300 * 2000:
            assert time.monotonic() < deadline, "the WAL was never checkpointed"
            await asyncio.to_thread(time.sleep, 0.05)
    finally:
        await store.aclose()
    assert not [t for t in threading.enumerate() if t.name == "byoc-wal-checkpoints"]


async def test_only_the_queues_bookkeeping_commits_without_a_sync(store: SQLiteStore) -> None:
    statements: list[str] = []
    connection = store._connection  # noqa: SLF001 - the statements are what is checked
    store._worker.call(connection.set_trace_callback, statements.append)  # noqa: SLF001

    jobs = []
    for lane in ("a", "b"):
        job = await store.enqueue(
            lane=lane, kind="k", payload="1", dedupe_key=lane, ttl=60, owner="me", lease=30
        )
        assert job is not None
        jobs.append(job)
    accepted = list(statements)
    finished = []
    for job in jobs:
        statements.clear()
        await store.finish(job.id, owner="me", claims=[f"posted:{job.id}"], claim_ttl=60)
        finished.append(list(statements))
    statements.clear()
    assert await store.enqueue(
        lane="c", kind="k", payload="1", dedupe_key="c", ttl=60, owner="me", lease=30
    )
    accepted_after = list(statements)
    synchronous = await store._run(store._scalar, "PRAGMA synchronous", ())  # noqa: SLF001

    # An acknowledged write is synced (FULL); a finish is committed at NORMAL. The setting
    # changes only when the kind of batch does: not again for the second finish, and back to
    # FULL before the next acknowledged write.
    assert not [s for s in accepted if "synchronous" in s]
    assert finished[0][:2] == ["PRAGMA synchronous = NORMAL", "BEGIN IMMEDIATE"]
    assert finished[0][-1] == "COMMIT"
    assert finished[1][0] == "BEGIN IMMEDIATE"
    assert not [s for s in finished[1] if "synchronous" in s]
    assert accepted_after[:2] == ["PRAGMA synchronous = FULL", "BEGIN IMMEDIATE"]
    assert synchronous == 2  # FULL


async def test_an_unsynced_claim_commits_without_a_sync_and_a_default_one_with_it(
    store: SQLiteStore,
) -> None:
    statements: list[str] = []
    connection = store._connection  # noqa: SLF001 - the statements are what is checked
    store._worker.call(connection.set_trace_callback, statements.append)  # noqa: SLF001

    assert await store.claim("inline:1", ttl=60, synced=False)
    unsynced = list(statements)
    statements.clear()
    assert await store.claim("durable:1", ttl=60)
    synced = list(statements)

    assert unsynced[0] == "PRAGMA synchronous = NORMAL"
    assert unsynced[-1] == "COMMIT"
    assert synced[0] == "PRAGMA synchronous = FULL"
    assert synced[-1] == "COMMIT"
    # Unsynced is not weaker as a claim: a duplicate is refused all the same.
    assert not await store.claim("inline:1", ttl=60)
    assert not await store.claim("inline:1", ttl=60, synced=False)


async def test_an_unsynced_claim_survives_the_store_being_closed_and_opened(
    tmp_path: Path,
) -> None:
    path = tmp_path / "byoc.db"
    store = SQLiteStore(path)
    assert await store.claim("inline:1", ttl=60, synced=False)
    await store.aclose()

    again = SQLiteStore(path)
    try:
        assert not await again.claim("inline:1", ttl=60)
    finally:
        await again.aclose()


async def test_a_normal_store_never_changes_its_synchronous_setting(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "byoc.db", synchronous="NORMAL")
    statements: list[str] = []
    store._worker.call(store._connection.set_trace_callback, statements.append)  # noqa: SLF001
    try:
        job = await store.enqueue(
            lane="a", kind="k", payload="1", dedupe_key="1", ttl=60, owner="me", lease=30
        )
        assert job is not None
        await store.finish(job.id, owner="me")
    finally:
        await store.aclose()
    assert statements and not [s for s in statements if "synchronous" in s]
