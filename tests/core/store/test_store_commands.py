"""The store settings, and the commands that open the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from byoc.delivery_modes import DurableDelivery
from byoc.errors import ConfigurationError
from byoc.service import build_bridge, open_store
from byoc.settings import load_settings
from byoc.store import SQLiteStore
from byoc.store.postgres import PostgresStore
from byoc.store.postgres_schema import SCHEMA_VERSION
from byoc.testing.freshchat import WebhookKey
from tests.core.cli.emulators import FreshchatServer
from tests.core.cli.support import PATIENT, free_port, run_byoc

PG = "postgresql://byoc:pa55-w0rd-secret@db.internal:6432/byoc"


def test_a_postgresql_url_is_kept_whole_but_never_shown_with_its_password() -> None:
    settings = load_settings({"BYOC_STORE": PG})
    assert settings.store == "postgresql://byoc:********@db.internal:6432/byoc"
    assert settings.store_url.reveal() == PG
    assert "pa55" not in repr(settings)
    assert settings.redactor().redact(f"could not connect with {PG}") == (
        "could not connect with postgresql://byoc:********@db.internal:6432/byoc"
    )
    assert load_settings({"BYOC_STORE": "postgres://db/byoc"}).store == "postgres://db/byoc"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("postgresql://", "names PostgreSQL but no database"),
        ("redis://cache/0", "postgresql://user@host/db"),
    ],
)
def test_a_store_url_that_cannot_work_says_what_would(value: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        load_settings({"BYOC_STORE": value})


def test_delivery_settings_and_their_defaults() -> None:
    defaults = load_settings({})
    assert (defaults.concurrency, defaults.lease, defaults.store_pool_size) == (256, 15.0, 10)
    assert defaults.dead_letter_retention == 30 * 86400
    chosen = load_settings(
        {
            "BYOC_CONCURRENCY": "64",
            "BYOC_LEASE": "2.5",
            "BYOC_STORE_POOL_SIZE": "20",
            "BYOC_DEAD_LETTER_RETENTION_DAYS": "0.5",
        }
    )
    assert (chosen.concurrency, chosen.lease, chosen.store_pool_size) == (64, 2.5, 20)
    assert chosen.dead_letter_retention == 43200


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("BYOC_CONCURRENCY", "0", "whole number of deliveries in flight from 1"),
        ("BYOC_CONCURRENCY", "2.5", "whole number"),
        ("BYOC_LEASE", "0.1", "number of seconds from 1 to 600"),
        ("BYOC_LEASE", "soon", "number of seconds"),
        ("BYOC_DEAD_LETTER_RETENTION_DAYS", "-1", "number of days"),
        ("BYOC_STORE_POOL_SIZE", "0", "connections"),
    ],
)
def test_a_bad_number_names_its_setting(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as raised:
        load_settings({name: value})
    assert name in str(raised.value)


async def test_the_bridge_gets_the_delivery_settings(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "BYOC_STORE": str(tmp_path / "byoc.sqlite3"),
            "BYOC_CONCURRENCY": "7",
            "BYOC_LEASE": "3",
            "BYOC_CHANNELS": "viber",
            "BYOC_VIBER_AUTH_TOKEN": "4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f",
            "BYOC_VIBER_SENDER_NAME": "Acme",
            "BYOC_FRESHCHAT_API_URL": "https://acme.freshchat.com/v2",
            "BYOC_FRESHCHAT_API_TOKEN": "token-0123456789",
            "BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY": WebhookKey.generate().public_key_text,
        }
    )
    bridge = build_bridge(settings)
    try:
        assert isinstance(bridge.delivery, DurableDelivery)
        dispatcher = bridge.delivery.dispatcher
        assert (dispatcher.concurrency, dispatcher.lease) == (7, 3.0)
    finally:
        await bridge.aclose()


async def test_open_store_chooses_by_location(tmp_path: Path, postgres_url: str) -> None:
    sqlite = open_store(str(tmp_path / "byoc.sqlite3"), dead_letter_retention=60)
    postgres = open_store(postgres_url, pool_size=3)
    try:
        assert isinstance(sqlite, SQLiteStore) and isinstance(postgres, PostgresStore)
        await postgres.ping()
    finally:
        await sqlite.aclose()
        await postgres.aclose()


def test_check_reports_the_database_and_its_schema(postgres_url: str, tmp_path: Path) -> None:
    freshchat = FreshchatServer()
    try:
        env = freshchat.settings(BYOC_STORE=postgres_url)
        fresh = run_byoc("check", *PATIENT, env=env, cwd=tmp_path)
        store_line = next(x for x in fresh.stdout.splitlines() if "] store" in x)
        assert store_line.startswith("[warn") and "the next `byoc serve` migrates it" in store_line
        asyncio.run(_migrate(postgres_url))
        current = run_byoc("check", *PATIENT, env=env, cwd=tmp_path)
        store_line = next(x for x in current.stdout.splitlines() if "] store" in x)
        assert (
            store_line.startswith("[ok")
            and f"schema version {SCHEMA_VERSION} (current)" in store_line
        )
        assert "0 message(s) waiting, 0 dead letter(s)" in store_line
        closed = f"postgresql://byoc@127.0.0.1:{free_port()}/byoc"
        down = run_byoc("check", *PATIENT, env=freshchat.settings(BYOC_STORE=closed), cwd=tmp_path)
        store_line = next(x for x in down.stdout.splitlines() if "] store" in x)
        assert store_line.startswith("[FAIL") and "cannot reach" in store_line
        assert down.returncode == 1
    finally:
        freshchat.stop()


async def _migrate(url: str) -> None:
    store = PostgresStore(url)
    await store.ping()
    await store.aclose()


def test_dead_letters_from_the_command_line_on_postgresql(postgres_url: str) -> None:
    asyncio.run(_bury(postgres_url, "refused for good"))

    def byoc(*args: str) -> str:
        result = run_byoc("dead-letters", "--store", postgres_url, *args)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    header, listed = byoc("list").strip().splitlines()
    assert header.split()[:3] == ["#", "job", "died"]
    assert "in:viber:u1" in listed and "refused for good" in listed
    dead_id = listed.split()[0]
    assert '"hello"' in byoc("show", dead_id)
    assert "queued again as job" in byoc("replay", dead_id)
    assert byoc("list").strip() == "no dead letters"
    assert asyncio.run(_depth(postgres_url)) == 1


async def _bury(url: str, reason: str) -> None:
    store = PostgresStore(url)
    try:
        job = await store.enqueue(
            lane="in:viber:u1",
            kind="inbound",
            payload='"hello"',
            dedupe_key="m1",
            ttl=60,
            owner="me",
            lease=30,
        )
        assert job is not None
        await store.bury(job.id, owner="me", reason=reason, error="PermanentError: 400", at=1.0)
    finally:
        await store.aclose()


async def _depth(url: str) -> int:
    store = PostgresStore(url)
    try:
        return await store.depth()
    finally:
        await store.aclose()
