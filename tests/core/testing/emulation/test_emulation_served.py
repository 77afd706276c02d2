"""The shared serving code: the URL a wildcard address is reached at, and refusals."""

from __future__ import annotations

import argparse
import socket

import pytest

from byoc.asgi import ASGIApp
from byoc.testing.emulation.served import add_listen_arguments, serve_listening, url_host


@pytest.mark.parametrize(
    ("host", "shown"),
    [
        ("0.0.0.0", "127.0.0.1"),
        ("", "127.0.0.1"),
        ("::", "[::1]"),
        ("::1", "[::1]"),
        ("[::1]", "[::1]"),
        ("10.0.0.5", "10.0.0.5"),
    ],
)
def test_the_url_names_a_reachable_host(host: str, shown: str) -> None:
    assert url_host(host) == shown


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_listen_arguments(parser, port=0)
    return parser.parse_args(argv)


def test_a_busy_port_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]

        def start(public_url: str) -> tuple[ASGIApp, str]:
            raise AssertionError("no emulator starts without its port")

        assert serve_listening(_args("--port", str(port)), start) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_an_emulator_that_refuses_its_settings_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[str] = []

    def start(public_url: str) -> tuple[ASGIApp, str]:
        seen.append(public_url)
        raise ValueError("the webhook URL must be absolute")

    assert serve_listening(_args("--public-url", "http://emu.test"), start) == 2
    assert seen == ["http://emu.test"]
    assert "the webhook URL must be absolute" in capsys.readouterr().err
