"""Both emulators served on real ports, as `byoc emulate kakao[-chatbot]` runs them."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn

from byoc.models import InboundMessage, OutboundMessage, Text
from byoc.store import MemoryStore
from byoc_kakao import HappyTalkDealer, KakaoChatbotChannel, KakaoDealerChannel
from byoc_kakao.testing.server import chatbot_config, dealer_config

from .rig import SKILL_SECRET, WEBHOOK_SECRET, ChannelEndpoint


def listening_socket() -> tuple[socket.socket, str]:
    """A socket bound to a free port and already listening, and its URL.

    Connections made before the server runs wait in the backlog, so nothing polls for startup.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}"


def port_of(url: str) -> str:
    return url.rsplit(":", 1)[1]


@asynccontextmanager
async def serving(config: uvicorn.Config, sock: socket.socket) -> AsyncIterator[None]:
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield
    finally:
        server.should_exit = True
        await task
        sock.close()


def reply(text: str, message_id: str) -> OutboundMessage:
    return OutboundMessage(message_id=message_id, conversation_id="c", parts=[Text(text=text)])


async def test_the_dealer_emulator_on_a_real_port() -> None:
    bridge_sock, bridge = listening_socket()
    dealer_sock, dealer = listening_socket()
    channel = KakaoDealerChannel(
        dealer=HappyTalkDealer(
            client_id="test-client-id",
            client_secret="test-client-secret",
            sender_key="3fd538ef7218a14a63e51ba47e83c76e1ff5ab62",
            api_url=dealer,
        ),
        webhook_secret=WEBHOOK_SECRET,
    )
    endpoint = ChannelEndpoint(channel)
    webhook = f"{bridge}/channels/kakao/webhook/{WEBHOOK_SECRET}"
    emulator = dealer_config(
        ["--port", port_of(dealer), "--log-level", "warning", "--webhook-url", webhook]
    )
    bridge_config = uvicorn.Config(endpoint, log_level="warning", lifespan="off")
    async with serving(bridge_config, bridge_sock), serving(emulator, dealer_sock):
        async with httpx.AsyncClient(base_url=dealer) as http:
            sent = await http.post(
                "/_emulator/users/c0eUY5TATGz1/messages", json={"text": "안녕하세요 😀"}
            )
            [event] = await endpoint.wait_for_events(1)
            assert isinstance(event, InboundMessage)
            assert event.message_id == sent.json()["serial_number"]
            assert event.parts == (Text(text="안녕하세요 😀"),)

            await channel.send("c0eUY5TATGz1", reply("네, 안녕하세요!", "m1"))
            [record] = (await http.get("/_emulator/sent")).json()
            assert record["message"] == "네, 안녕하세요!"
    await channel.aclose()


async def test_the_chatbot_emulator_on_a_real_port() -> None:
    bridge_sock, bridge = listening_socket()
    kakao_sock, kakao = listening_socket()
    channel = KakaoChatbotChannel(
        bot_id="667e1d0000000000000a091c",
        rest_api_key="test-rest-api-key",
        skill_secret=SKILL_SECRET,
        event_api_url=kakao,
        callback_origins=kakao,
        media_origins=kakao,
    )
    channel.bind(MemoryStore())
    endpoint = ChannelEndpoint(channel)
    skill = f"{bridge}/channels/kakao-chatbot/webhook/{SKILL_SECRET}"
    emulator = chatbot_config(
        ["--port", port_of(kakao), "--log-level", "warning", "--skill-url", skill]
    )
    bridge_config = uvicorn.Config(endpoint, log_level="warning", lifespan="off")
    async with serving(bridge_config, bridge_sock), serving(emulator, kakao_sock):
        async with httpx.AsyncClient(base_url=kakao) as http:
            said = (await http.post("/_emulator/users/user-1/say", json={"text": "문의"})).json()
            assert said["problems"] == [] and said["bubbles"][0]["via"] == "wait"
            [event] = endpoint.events
            assert isinstance(event, InboundMessage) and event.user_id == "user-1"

            await channel.send("user-1", reply("답변입니다", "m1"))  # the callback
            await channel.send("user-1", reply("추가 답변", "m2"))  # the Event API
            await http.post("/_emulator/drain")  # the event's skill call runs after Kakao answered
            bubbles = (await http.get("/_emulator/users/user-1/bubbles")).json()
            assert [b["via"] for b in bubbles] == ["wait", "callback", "event"]
    await channel.aclose()
