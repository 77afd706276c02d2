"""Message types through the bundled server, on both KakaoTalk routes.

Freshchat (`byoc emulate freshchat`), the HappyTalk dealer (`byoc emulate kakao`), Open Builder
(`byoc emulate kakao-chatbot`) and the bridge (`byoc serve` with both Kakao channels) each run
in their own process on real ports. The test plays the users and the agent through the
emulators' control endpoints and waits on what reaches the other side.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any

import attrs
import httpx
import pytest

from tests.core.cli.emulators import FreshchatServer
from tests.core.cli.support import Running, clean_env, free_port, poll
from tests.core.freshchat.served_desk import ServedDesk

from .rig import SKILL_SECRET, WEBHOOK_SECRET

SENDER_KEY = "3fd538ef7218a14a63e51ba47e83c76e1ff5ab62"
BOT_ID = "667e1d0000000000000a091c"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64 + b" a map of the shop"


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.TransportError:
        return False


@attrs.define
class Served:
    desk: ServedDesk
    dealer: str
    """Base URL of the HappyTalk emulator."""
    openbuilder: str
    """Base URL of the Open Builder emulator."""

    def sent_by_dealer(self, user_key: str) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.dealer}/_emulator/sent")
        answer.raise_for_status()
        return [body for body in answer.json() if body["user_key"] == user_key]

    def bubbles(self, bot_user_key: str) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.openbuilder}/_emulator/users/{bot_user_key}/bubbles")
        answer.raise_for_status()
        return list(answer.json())


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("served-kakao")
    freshchat = FreshchatServer()
    bridge_port, dealer_port, kakao_port = free_port(), free_port(), free_port()
    public = f"http://127.0.0.1:{bridge_port}"
    dealer = f"http://127.0.0.1:{dealer_port}"
    openbuilder = f"http://127.0.0.1:{kakao_port}"
    emulators = [
        Running(
            "emulate",
            "kakao",
            "--port",
            str(dealer_port),
            "--log-level",
            "warning",
            "--webhook-url",
            f"{public}/channels/kakao/webhook/{WEBHOOK_SECRET}",
            env=clean_env(),
        ),
        Running(
            "emulate",
            "kakao-chatbot",
            "--port",
            str(kakao_port),
            "--log-level",
            "warning",
            "--skill-url",
            f"{public}/channels/kakao-chatbot/webhook/{SKILL_SECRET}",
            env=clean_env(),
        ),
    ]
    env = freshchat.settings(
        BYOC_STORE=str(tmp / "byoc.sqlite3"),
        BYOC_CHANNELS="kakao,kakao-chatbot",
        BYOC_KAKAO_DEALER_API_URL=dealer,
        BYOC_KAKAO_CLIENT_ID="test-client-id",
        BYOC_KAKAO_CLIENT_SECRET="test-client-secret",
        BYOC_KAKAO_SENDER_KEY=SENDER_KEY,
        BYOC_KAKAO_WEBHOOK_SECRET=WEBHOOK_SECRET,
        BYOC_KAKAO_BOT_ID=BOT_ID,
        BYOC_KAKAO_REST_API_KEY="test-rest-api-key",
        BYOC_KAKAO_SKILL_SECRET=SKILL_SECRET,
        BYOC_KAKAO_EVENT_API_URL=openbuilder,
        BYOC_KAKAO_CALLBACK_ORIGINS=openbuilder,
        BYOC_KAKAO_MEDIA_ORIGINS=openbuilder,
    )
    bridge = Running("serve", "--port", str(bridge_port), env=env)
    try:
        bridge.wait_for(r"serving on http://")
        # The emulators print before uvicorn binds: wait until they answer.
        poll(lambda: _answers(f"{dealer}/_emulator/sent"))
        poll(lambda: _answers(f"{openbuilder}/_emulator/users/nobody/bubbles"))
        desk = ServedDesk(freshchat)
        desk.route_webhooks_to(public)
        yield Served(desk=desk, dealer=dealer, openbuilder=openbuilder)
    finally:
        code = bridge.stop(signal.SIGTERM)
        for emulator in emulators:
            emulator.stop()
        freshchat.stop()
    assert code == 0, bridge.output
    assert "Traceback" not in bridge.output, bridge.output


def test_a_picture_reply_through_the_dealer_is_uploaded_to_kakao(served: Served) -> None:
    user_key = "c0eUY5TATGz1"
    said = {"text": "가게 위치 사진 보내주세요"}
    messages = f"{served.dealer}/_emulator/users/{user_key}/messages"
    httpx.post(messages, json=said).raise_for_status()
    conversation = served.desk.conversation_of(f"kakao:{user_key}")

    picture = served.desk.upload_image("map.png", PNG, "image/png")
    served.desk.agent_replies(conversation, text="여기입니다", parts=[{"image": {"url": picture}}])
    poll(lambda: len(served.sent_by_dealer(user_key)) == 2)
    text, image = served.sent_by_dealer(user_key)
    assert text["message"] == "여기입니다"
    assert image["message_type"] == "IM"
    # 상담톡 sends only Kakao-stored files: the picture was uploaded to the dealer first.
    assert image["image_url"].startswith(f"{served.dealer}/dn/")
    assert httpx.get(image["image_url"]).content == PNG


def test_a_quick_reply_tapped_on_kakao_comes_back_to_the_agent(served: Served) -> None:
    user = "5f3a9c0d1e2b4a6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70811"
    said = httpx.post(f"{served.openbuilder}/_emulator/users/{user}/say", json={"text": "문의"})
    assert said.json()["problems"] == []
    conversation = served.desk.conversation_of(f"kakao-chatbot:{user}")
    quick = [
        {"quick_reply_button": {"label": "배송 조회", "payload": "SHIP_STATUS"}},
        {"quick_reply_button": {"label": "기타"}},
    ]
    served.desk.agent_replies(
        conversation,
        text="무엇을 도와드릴까요?",
        reply_parts=[{"collection": {"sub_parts": quick}}],
    )
    poll(lambda: any("quickReplies" in b for b in served.bubbles(user)))
    [shown] = [b for b in served.bubbles(user) if "quickReplies" in b]
    assert [q["label"] for q in shown["quickReplies"]] == ["배송 조회", "기타"]

    tapped = httpx.post(
        f"{served.openbuilder}/_emulator/users/{user}/tap", json={"label": "배송 조회"}
    )
    assert tapped.status_code == 200 and tapped.json()["problems"] == []
    assert served.desk.wait_for_written(conversation, 2) == [
        {"text": {"content": "배송 조회\n(quick reply payload: SHIP_STATUS)"}}
    ]
