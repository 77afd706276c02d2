"""`byoc dead-letters`: see, inspect, replay and drop what could not be delivered."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from byoc.bridge import Bridge
from byoc.errors import PermanentError
from byoc.models import Text
from byoc.store import SQLiteStore
from byoc.testing.fake_channel import FakeChannel
from byoc.webhook import WebhookRequest

from ..recording_messaging import RecordingMessaging

ROOT = Path(__file__).resolve().parents[3]


def byoc(
    *args: str, store: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    where = ["--store", str(store)] if store is not None else []
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BYOC_")}
    return subprocess.run(
        [sys.executable, "-m", "byoc", "dead-letters", *where, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**clean, "PYTHONPATH": str(ROOT), **(env or {})},
        timeout=60,
    )


async def run_bridge(store_path: Path, messaging: RecordingMessaging, *texts: str) -> FakeChannel:
    """A bridge on the store file that takes `texts` from one user, then stops."""
    channel = FakeChannel()
    bridge = Bridge(messaging=messaging, channels=[channel], store=SQLiteStore(store_path))
    await bridge.start()
    for text in texts:
        body, headers = channel.user_message("ana", text, message_id=text)
        await bridge.sync.channel_webhook("fake", WebhookRequest(body=body, headers=headers))
    await bridge.wait_idle()
    await bridge.aclose()
    return channel


async def test_dead_letters_are_listed_shown_replayed_once_and_dropped(tmp_path: Path) -> None:
    store = tmp_path / "byoc.sqlite3"
    messaging = RecordingMessaging()
    await run_bridge(store, messaging, "first")
    messaging.fail_posts.extend([PermanentError("400 refused: 그림"), PermanentError("400 again")])
    await run_bridge(store, messaging, "second", "third")

    listed = byoc("list", store=store)
    assert listed.returncode == 0, listed.stderr
    header, *lines = listed.stdout.strip().splitlines()
    assert header.split()[:3] == ["#", "job", "died"]
    assert len(lines) == 2 and all("in:fake:ana" in line and "refused" in line for line in lines)
    first_id, second_id = (int(line.split()[0]) for line in lines)

    shown = byoc("show", str(first_id), store=store)
    assert (
        shown.returncode == 0 and "400 refused: 그림" in shown.stdout and '"second"' in shown.stdout
    )

    replayed = byoc("replay", str(first_id), store=store)
    assert replayed.returncode == 0 and "queued again" in replayed.stdout
    assert byoc("replay", str(first_id), store=store).returncode == 1  # gone from the dead letters

    dropped = byoc("drop", str(second_id), store=store)
    assert dropped.returncode == 0 and "dropped" in dropped.stdout
    assert byoc("list", store=store).stdout.strip() == "no dead letters"
    assert byoc("show", "999", store=store).returncode == 1

    # The next bridge on the file delivers the replayed message, once.
    await run_bridge(store, messaging)
    (conversation,) = messaging.messages.values()
    assert conversation == [(Text(text="first"),), (Text(text="second"),)]


def test_bad_usage_is_exit_2_with_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "byoc", "dead-letters", "replay"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 2 and "id" in result.stderr


async def test_the_store_comes_from_the_config_file_or_the_environment(tmp_path: Path) -> None:
    store = tmp_path / "kept.sqlite3"
    messaging = RecordingMessaging()
    await run_bridge(store, messaging, "first")
    messaging.fail_posts.append(PermanentError("400 refused"))
    await run_bridge(store, messaging, "lost")
    config = tmp_path / "byoc.toml"
    config.write_text(f'store = "{store}"\n', encoding="utf-8")

    from_file = byoc("--config", str(config), "list")
    assert from_file.returncode == 0 and "in:fake:ana" in from_file.stdout, from_file.stderr
    from_env = byoc("list", env={"BYOC_CONFIG": str(config)})
    assert from_env.returncode == 0 and "in:fake:ana" in from_env.stdout, from_env.stderr
    from_store_setting = byoc("list", env={"BYOC_STORE": f"sqlite:///{store}"})
    assert from_store_setting.returncode == 0 and "in:fake:ana" in from_store_setting.stdout


async def test_each_dead_letter_names_its_job_and_shows_no_credential(tmp_path: Path) -> None:
    token = "viber-token-0123456789abcdef"
    store = tmp_path / "byoc.sqlite3"
    messaging = RecordingMessaging()
    await run_bridge(store, messaging, "first")
    # Texts from before the source redaction, as a store may still hold them.
    messaging.fail_posts.append(
        PermanentError(
            f"Viber said: X-Viber-Auth-Token: {token} for https://bot:pw@x.test/a?sig=abcdef"
        )
    )
    await run_bridge(store, messaging, "lost")
    opened = SQLiteStore(store)
    [dead] = await opened.dead_letters()
    await opened.aclose()
    env = {"BYOC_VIBER_AUTH_TOKEN": token}

    listed = byoc("list", store=store, env=env)
    shown = byoc("show", str(dead.id), store=store, env=env)

    [line] = listed.stdout.strip().splitlines()[1:]
    assert line.split()[:2] == [str(dead.id), str(dead.job.id)]
    assert f"job {dead.job.id} (the log's job={dead.job.id})" in shown.stdout
    for output in (listed.stdout, shown.stdout):
        assert "Viber said" in output
        assert token not in output and "bot:pw" not in output and "abcdef" not in output


def test_a_mistyped_store_is_an_error_not_an_empty_list(tmp_path: Path) -> None:
    missing = tmp_path / "byoc.sqlit3"
    result = byoc("list", store=missing)
    assert result.returncode == 1
    assert "there is no store at" in result.stderr and "--store" in result.stderr
    assert not missing.exists()
