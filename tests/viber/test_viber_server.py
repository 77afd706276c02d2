"""`byoc emulate viber`: the emulator on a real port."""

import asyncio
import socket

import httpx

from byoc_viber.testing.server import build_server


async def test_the_emulator_serves_on_a_real_port() -> None:
    server, emulator = build_server(
        ["--host", "127.0.0.1", "--port", "0", "--token", "tok", "--log-level", "warning"]
    )
    # A socket bound and listening before the server starts: connections wait in its backlog,
    # so the test needs no polling for readiness.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port = sock.getsockname()[1]
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            info = await http.get("/pa/get_account_info", headers={"X-Viber-Auth-Token": "tok"})
            assert info.json()["status"] == 0 and info.json()["name"] == emulator.account_name
            created = await http.post("/_emulator/users", json={"name": "Dana"})
            assert created.status_code == 201
            unknown = await http.post("/pa/nothing_here", json={})
            assert unknown.status_code == 404
    finally:
        server.should_exit = True
        await serving
        sock.close()
    assert emulator.users and next(iter(emulator.users.values())).name == "Dana"


def test_the_command_line_sets_token_and_webhook() -> None:
    server, emulator = build_server(
        ["--port", "9099", "--token", "t0k", "--webhook-url", "http://127.0.0.1:8000/hook"]
    )
    assert emulator.token == "t0k" and emulator.webhook == "http://127.0.0.1:8000/hook"
    assert emulator.api_url == "http://127.0.0.1:9099/pa"
    assert server.config.port == 9099
