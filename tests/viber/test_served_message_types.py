"""Message types through the bundled server: `byoc serve` and the emulators as processes.

Freshchat (`byoc emulate freshchat`), Viber (`byoc emulate viber`) and the bridge (`byoc serve
--install`) each run in their own process on real ports, as an operator would run them; a
small web server holds what the agent attaches. The test plays the Viber user and the agent
through the emulators' control endpoints and waits on what reaches the other side.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import signal
import threading
from collections.abc import Iterator
from functools import partial
from typing import Any

import attrs
import httpx
import pytest

from tests.core.cli.emulators import FreshchatServer, ViberServer
from tests.core.cli.support import Running, free_port, poll
from tests.core.freshchat.served_desk import ServedDesk

MP4 = bytes.fromhex("000000186674797069736f6d0000020069736f6d6d703432") + b"\x00" * 512


@attrs.define
class Served:
    desk: ServedDesk
    viber: ViberServer
    files: str
    """Base URL of the web server holding the agent's attachments."""

    def new_user(self) -> str:
        answer = httpx.post(f"{self.viber.base}/_emulator/users", json={"name": "김민준"})
        answer.raise_for_status()
        return str(answer.json()["id"])

    def user_sends(self, user_id: str, message: dict[str, Any], **extra: Any) -> None:
        body = {"user_id": user_id, "message": message, **extra}
        httpx.post(f"{self.viber.base}/_emulator/send", json=body).raise_for_status()

    def received(self, user_id: str) -> list[dict[str, Any]]:
        """The bodies of what the bot sent `user_id`, oldest first."""
        answer = httpx.get(f"{self.viber.base}/_emulator/sent", params={"user_id": user_id})
        answer.raise_for_status()
        return [message["body"] for message in answer.json()]

    def wait_for_received(self, user_id: str, count: int) -> list[dict[str, Any]]:
        poll(lambda: len(self.received(user_id)) >= count)
        return self.received(user_id)

    def start(self, text: str = "안녕하세요") -> tuple[str, str]:
        """A user who wrote `text`, and their conversation."""
        user = self.new_user()
        self.user_sends(user, {"type": "text", "text": text})
        return user, self.desk.conversation_of(f"viber:{user}")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("served")
    files = tmp / "files"
    files.mkdir()
    (files / "setup.mp4").write_bytes(MP4)
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=files))
    threading.Thread(target=web.serve_forever, daemon=True).start()
    freshchat, viber = FreshchatServer(), ViberServer()
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    env = freshchat.settings(
        BYOC_PUBLIC_URL=public,
        BYOC_STORE=str(tmp / "byoc.sqlite3"),
        BYOC_CHANNELS="viber",
        BYOC_VIBER_AUTH_TOKEN=viber.token,
        BYOC_VIBER_SENDER_NAME="Acme",
        BYOC_VIBER_API_URL=viber.api_url,
    )
    bridge = Running("serve", "--port", str(port), "--install", env=env)
    try:
        bridge.wait_for(rf"viber: registered {public}/channels/viber/webhook")
        desk = ServedDesk(freshchat)
        desk.route_webhooks_to(public)
        yield Served(desk=desk, viber=viber, files=f"http://127.0.0.1:{web.server_address[1]}")
    finally:
        code = bridge.stop(signal.SIGTERM)
        freshchat.stop()
        viber.stop()
        web.shutdown()
        web.server_close()
    assert code == 0, bridge.output
    assert "Traceback" not in bridge.output, bridge.output


def test_a_video_goes_both_ways(served: Served) -> None:
    user, conversation = served.start()
    served.user_sends(
        user,
        {"type": "video", "duration": 3},
        data_base64=base64.b64encode(MP4).decode(),
        file_name="unboxing.mp4",
    )
    video, copy = served.desk.wait_for_written(conversation, 2)
    assert video["video"]["content_type"] == "video/mp4"
    assert video["video"]["url"].startswith(served.viber.base)
    assert copy["file"]["fileHash"] == hashlib.sha256(MP4).hexdigest()
    assert httpx.get(copy["file"]["url"]).content == MP4  # Freshchat's own copy

    clip = f"{served.files}/setup.mp4"
    served.desk.agent_replies(
        conversation, parts=[{"video": {"url": clip, "content_type": "video/mp4"}}]
    )
    [body] = served.wait_for_received(user, 1)
    assert (body["type"], body["media"], body["size"]) == ("video", clip, len(MP4))


def test_a_url_button_reaches_the_user(served: Served) -> None:
    user, conversation = served.start()
    served.desk.agent_replies(
        conversation,
        text="주문 내역은 여기서 보세요",
        parts=[{"url_button": {"url": "https://shop.example/orders", "label": "주문 내역"}}],
    )
    intro, card = served.wait_for_received(user, 2)
    assert intro["text"] == "주문 내역은 여기서 보세요"
    assert card["type"] == "rich_media"
    [button] = card["rich_media"]["Buttons"]
    assert (button["ActionType"], button["ActionBody"], button["Text"]) == (
        "open-url",
        "https://shop.example/orders",
        "주문 내역",
    )


def test_a_quick_reply_tapped_on_viber_comes_back_to_the_agent(served: Served) -> None:
    user, conversation = served.start("배송 문의")
    quick = [
        {"quick_reply_button": {"label": "배송 조회", "payload": "SHIP_STATUS"}},
        {"quick_reply_button": {"label": "상담원 연결"}},
    ]
    served.desk.agent_replies(
        conversation,
        text="무엇을 도와드릴까요?",
        reply_parts=[{"collection": {"sub_parts": quick}}],
    )
    [body] = served.wait_for_received(user, 1)
    assert [b["Text"] for b in body["keyboard"]["Buttons"]] == ["배송 조회", "상담원 연결"]

    tap = {"user_id": user, "text": "배송 조회"}
    httpx.post(f"{served.viber.base}/_emulator/tap", json=tap).raise_for_status()
    assert served.desk.wait_for_written(conversation, 2) == [
        {"text": {"content": "배송 조회\n(quick reply payload: SHIP_STATUS)"}}
    ]
