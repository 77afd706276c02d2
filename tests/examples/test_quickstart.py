"""docs/quickstart.md followed in order, running the commands it shows.

The commands are read from the page's code blocks (so a step that changes on the page changes
here), with `.venv/bin/byoc` run as this checkout's `byoc`. Viber and Freshchat are the bundled
emulators on real ports; everything else is what a newcomer types.
"""

from __future__ import annotations

import re
import shlex
import signal
import textwrap
from pathlib import Path

import httpx

from ..core.cli.emulators import FreshchatServer, ViberServer
from ..core.cli.support import ROOT, Running, clean_env, free_port, get_json, poll, run_byoc

PAGE = ROOT / "docs" / "quickstart.md"
# Blocks may be indented under a numbered step.
_FENCE = re.compile(r"^ *```(?P<lang>\w*)\n(?P<code>.*?)^ *```", re.MULTILINE | re.DOTALL)
ADMIN_TOKEN = "quickstart-admin-token-0123456789"


def blocks(lang: str) -> list[str]:
    return [
        textwrap.dedent(m["code"]) for m in _FENCE.finditer(PAGE.read_text()) if m["lang"] == lang
    ]


def commands() -> list[list[str]]:
    """Every `.venv/bin/byoc ...` line of the page's shell blocks, in order, as arguments."""
    found = []
    for block in blocks("sh"):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            if ".venv/bin/byoc" not in line:
                continue
            words = shlex.split(line.split(".venv/bin/byoc", 1)[1])
            found.append(words)
    return found


def the(step: list[str]) -> list[str]:
    """The page's command whose words start with `step` (it must be on the page)."""
    for words in commands():
        if words[: len(step)] == step:
            return words
    raise AssertionError(f"docs/quickstart.md shows no `byoc {' '.join(step)}`")


def write_config(path: Path, freshchat: FreshchatServer, viber: ViberServer, port: int) -> None:
    """The page's byoc.toml with our values; the key left out, as the page says."""
    (example,) = blocks("toml")
    text = example
    text = text.replace('"https://byoc.example.com"', f'"http://127.0.0.1:{port}"')
    text = text.replace('"...at least 16 random characters..."', f'"{ADMIN_TOKEN}"')
    text = text.replace('"https://acme.freshchat.com/v2"', f'"{freshchat.api_url}"')
    text = re.sub(r'webhook_public_key = """.*?"""\n', "", text, flags=re.DOTALL)
    text = re.sub(r'(\[freshchat\][^\[]*?api_token = )"\.\.\."', rf'\1"{freshchat.token}"', text)
    text = re.sub(r'(\[viber\]\nauth_token = )"\.\.\."', rf'\1"{viber.token}"', text)
    # The one line the page has no need for: where Viber is (here, its emulator).
    text += f'api_url = "{viber.api_url}"\n'
    assert "..." not in text, text
    path.write_text(text, encoding="utf-8")


def add_public_key(path: Path, key: str) -> None:
    text = path.read_text(encoding="utf-8")
    text = text.replace("[freshchat]\n", f'[freshchat]\nwebhook_public_key = """\n{key}\n"""\n', 1)
    path.write_text(text, encoding="utf-8")


def serve(args: list[str], cwd: Path, port: int) -> Running:
    process = Running(*args, "--port", str(port), env=clean_env(), cwd=cwd)
    process.wait_for(r"byoc serving on")
    return process


def test_the_quickstart_in_order(tmp_path: Path) -> None:
    # 1. The demo, then the demo played by hand.
    demo = run_byoc(*the(["demo"]), cwd=tmp_path)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "Round trip done" in demo.stdout
    script = "user: Hi, my parcel is late\nagent: Sorry about that! It ships today.\n"
    played = run_byoc(*the(["demo", "--interactive"]), stdin=script, cwd=tmp_path)
    assert played.returncode == 0, played.stdout + played.stderr
    assert "It ships today." in played.stdout

    # 2. The demo as a server.
    port = free_port()
    process = serve(the(["serve"])[:1], tmp_path, port)
    try:
        process.wait_for(r"token: \S+ \(made for this run\)")
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    finally:
        assert process.stop(signal.SIGTERM) == 0, process.output

    freshchat, viber = FreshchatServer(), ViberServer()
    try:
        # 3. The settings file, without the key that step 6 gives.
        port = free_port()
        config = tmp_path / "byoc.toml"
        write_config(config, freshchat, viber, port)

        # 4. Check: everything works but the missing key, which it names.
        check = run_byoc(*the(["check"]), cwd=tmp_path)
        assert check.returncode == 1, check.stdout + check.stderr
        failures = [line for line in check.stdout.splitlines() if line.startswith("[FAIL]")]
        assert len(failures) == 1 and "BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY" in failures[0]

        # 5. Serve, then install from a second terminal.
        process = serve(the(["serve", "--config"]), tmp_path, port)
        try:
            installed = run_byoc(*the(["install"]), cwd=tmp_path)
            assert installed.returncode == 0, installed.stdout + installed.stderr
            assert f"viber: registered http://127.0.0.1:{port}/channels/viber/webhook" in (
                installed.stdout
            )
            pasted = re.search(r"^\s+(\S+/messaging/webhook)$", installed.stdout, re.MULTILINE)
            assert pasted is not None, installed.stdout
        finally:
            assert process.stop(signal.SIGTERM) == 0, process.output

        # 6. Paste the URL in Freshchat, copy its public key into the file, restart.
        httpx.put(
            f"{freshchat.base}/_emulator/webhook", json={"url": pasted.group(1)}
        ).raise_for_status()
        key = get_json(f"{freshchat.base}/_emulator/public-key")
        assert isinstance(key, dict)
        add_public_key(config, key["public_key_text"])
        assert run_byoc(*the(["check"]), cwd=tmp_path).returncode == 0
        process = serve(the(["serve", "--config"]), tmp_path, port)
        try:
            # 7. A user writes from Viber; the agent answers in Freshchat; the user gets it.
            user = httpx.post(f"{viber.base}/_emulator/users", json={"name": "Ana"}).json()
            httpx.post(
                f"{viber.base}/_emulator/send",
                json={"user_id": user["id"], "message": {"type": "text", "text": "Hi there"}},
            ).raise_for_status()

            def conversations() -> list[dict[str, str]]:
                answer = get_json(f"{freshchat.base}/_emulator/conversations")
                assert isinstance(answer, dict)
                return list(answer["conversations"])

            poll(conversations)
            conversation = conversations()[0]["conversation_id"]
            httpx.post(
                f"{freshchat.base}/_emulator/conversations/{conversation}/reply",
                json={"text": "Hello from support"},
            ).raise_for_status()

            def received() -> list[str]:
                answer = get_json(f"{viber.base}/_emulator/sent")
                assert isinstance(answer, list)
                return [m["body"].get("text") for m in answer]

            poll(lambda: "Hello from support" in received())
            page = httpx.get(
                f"http://127.0.0.1:{port}/admin",
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            )
            assert page.status_code == 200 and 'data-count="out">1<' in page.text
        finally:
            assert process.stop(signal.SIGTERM) == 0, process.output
    finally:
        freshchat.stop()
        viber.stop()
