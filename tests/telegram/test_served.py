"""Telegram through the bundled server: `byoc serve` and the emulators as processes.

Freshchat (`byoc emulate freshchat`), Telegram (`byoc emulate telegram`) and the bridge (`byoc
serve --install`, which registers the webhook with `setWebhook`) each run in their own process
on real ports, as an operator would run them. The test plays the Telegram user and the agent
through the emulators' control endpoints and waits on what reaches the other side.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import attrs
import httpx
import pytest

from tests.core.cli.emulators import FreshchatServer
from tests.core.cli.support import Running, clean_env, free_port, poll, run_byoc
from tests.core.freshchat.served_desk import ServedDesk

from .served import TOKEN, TelegramServer

SECRET = "served-secret-0123456789abcdef"
JPEG = bytes.fromhex("ffd8ffe000104a464946000101000001000100000000ffd9") + b"a receipt"


@attrs.define
class Served:
    desk: ServedDesk
    telegram: TelegramServer
    public: str
    store: Path

    def start(self, text: str = "안녕하세요") -> tuple[int, str]:
        """A user who wrote `text`, and their conversation."""
        user = self.telegram.new_user()
        self.telegram.sends(user, text=text)
        return user, self.desk.conversation_of(f"telegram:{user}")

    def dead_letters(self) -> str:
        listed = run_byoc("dead-letters", "--store", str(self.store), "list", env=clean_env())
        assert listed.returncode == 0, listed.stderr
        return listed.stdout


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("served")
    freshchat, telegram = FreshchatServer(), TelegramServer()
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    store = tmp / "byoc.sqlite3"
    env = freshchat.settings(
        BYOC_PUBLIC_URL=public,
        BYOC_STORE=str(store),
        BYOC_CHANNELS="telegram",
        BYOC_TELEGRAM_BOT_TOKEN=TOKEN,
        BYOC_TELEGRAM_WEBHOOK_SECRET=SECRET,
        BYOC_TELEGRAM_API_URL=telegram.base,
    )
    bridge = Running("serve", "--port", str(port), "--install", env=env)
    try:
        bridge.wait_for(rf"telegram: registered {public}/channels/telegram/webhook")
        desk = ServedDesk(freshchat)
        desk.route_webhooks_to(public)
        yield Served(desk=desk, telegram=telegram, public=public, store=store)
    finally:
        code = bridge.stop(signal.SIGTERM)
        freshchat.stop()
        telegram.stop()
    assert code == 0, bridge.output
    assert "Traceback" not in bridge.output, bridge.output
    assert TOKEN not in bridge.output, "the bot token reached the bridge's log"


def test_text_goes_both_ways(served: Served) -> None:
    user, conversation = served.start("주문 #1234 어디쯤 왔나요?")
    assert served.desk.wait_for_written(conversation, 1) == [
        {"text": {"content": "주문 #1234 어디쯤 왔나요?"}}
    ]
    served.desk.agent_replies(conversation, text="오늘 도착합니다 🚚")
    [message] = served.telegram.wait_for_received(user, 1)
    assert (message["method"], message["text"]) == ("sendMessage", "오늘 도착합니다 🚚")


def test_an_image_reaches_the_user(served: Served) -> None:
    user, conversation = served.start()
    picture = served.desk.upload_image("map.jpg", JPEG, "image/jpeg")  # as an agent attaches it
    served.desk.agent_replies(conversation, parts=[{"image": {"url": picture}}])
    [message] = served.telegram.wait_for_received(user, 1)
    assert (message["method"], message["media"]) == ("sendPhoto", picture)


def test_a_photo_arrives_without_the_token(served: Served) -> None:
    user, conversation = served.start()
    served.telegram.sends(user, kind="photo", data=JPEG, caption="영수증")
    parts = served.desk.wait_for_written(conversation, 2)
    assert "영수증" in json.dumps(parts, ensure_ascii=False)
    assert TOKEN not in json.dumps(parts)


def test_a_photo_is_copied_into_freshchat(served: Served) -> None:
    user, conversation = served.start()
    served.telegram.sends(user, kind="photo", data=JPEG, caption="영수증")
    image, caption = served.desk.wait_for_written(conversation, 2)
    assert httpx.get(image["image"]["url"]).content == JPEG
    assert caption == {"text": {"content": "영수증"}}


def test_a_duplicate_update_posts_once(served: Served) -> None:
    user = served.telegram.new_user()
    update_id = served.telegram.sends(user, text="once")["update_id"]
    conversation = served.desk.conversation_of(f"telegram:{user}")
    served.desk.wait_for_written(conversation, 1)
    served.telegram.act("redeliver", update_id=update_id)
    poll(lambda: served.telegram.times_delivered(update_id) == 2)
    served.telegram.sends(user, text="and then")
    served.desk.wait_for_written(conversation, 2)
    written = [parts[0]["text"]["content"] for parts in served.desk.written(conversation)]
    assert written == ["once", "and then"]


def test_a_forged_secret_is_401(served: Served) -> None:
    update = {
        "update_id": 1,
        "message": {"message_id": 1, "date": 1, "chat": {"id": 5, "type": "private"}, "text": "x"},
    }
    url = f"{served.public}/channels/telegram/webhook"
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "forged-secret-0123456789"}):
        answer = httpx.post(url, json=update, headers=headers)
        assert answer.status_code == 401, answer.text


def test_a_blocked_users_reply_becomes_a_dead_letter_saying_why(served: Served) -> None:
    user, conversation = served.start()
    served.desk.wait_for_written(conversation, 1)
    served.telegram.act("block", user_id=user)
    served.desk.agent_replies(conversation, text="are you there?")
    # The block's update reached the bridge first: the reply is not even tried.
    blocked = "user unsubscribed/blocked the bot on telegram since"
    poll(lambda: blocked in served.dead_letters())
    lines = served.dead_letters().splitlines()
    [line] = [found for found in lines if blocked in found]
    assert "refused after 1 attempt" in line and "UserUnreachable" in line
    assert served.telegram.received(user) == []
