"""An agent's reply reaches a Telegram user: each part as the Bot API shows it, and each way a
send fails as the bridge's delivery queue understands it."""

from __future__ import annotations

import pytest

from byoc.errors import (
    ConfigurationError,
    PermanentError,
    RateLimited,
    RetryableError,
    UserUnreachable,
)
from byoc.models import (
    Buttons,
    Contact,
    File,
    Image,
    InboundMessage,
    Link,
    Location,
    OutboundMessage,
    Part,
    QuickReplies,
    QuickReply,
    SendResult,
    Sticker,
    Text,
    UrlButton,
    Video,
)
from byoc.testing.conformance import deliver
from byoc_telegram.testing import SentMessage, TelegramUser

from .conftest import World

JPEG = bytes.fromhex("ffd8ffe000104a464946000101000001000100000000ffd9")
MP4 = bytes.fromhex("000000186674797069736f6d0000020069736f6d6d703432") + bytes(64)
DOCX = b"PK\x03\x04 a word document"


@pytest.fixture
def bob(world: World) -> TelegramUser:
    return world.emulator.user("Bob")


async def send(
    world: World, user: TelegramUser, *parts: Part
) -> tuple[list[SentMessage], SendResult]:
    result = await deliver(world.channel, str(user.id), *parts)
    return world.emulator.sent_to(user.id), result


async def test_a_long_text_is_split_on_word_boundaries(world: World, bob: TelegramUser) -> None:
    words = [f"word{n:04d}" for n in range(1000)]  # 8,999 characters
    sent, result = await send(world, bob, Text(text=" ".join(words)))
    assert [m.method for m in sent] == ["sendMessage"] * 3
    assert all(m.text is not None and len(m.text) <= 4096 for m in sent)
    assert "".join(m.text or "" for m in sent).split() == words
    assert result.message_ids == tuple(str(m.message_id) for m in sent)


async def test_pictures_and_videos_go_by_url_with_their_captions(
    world: World, bob: TelegramUser
) -> None:
    photo, clip = world.cdn.put("p.jpg", JPEG), world.cdn.put("c.mp4", MP4)
    sent, result = await send(
        world, bob, Image(url=photo, caption="your parcel"), Video(url=clip, caption="how to")
    )
    assert [(m.method, m.media, m.text) for m in sent] == [
        ("sendPhoto", photo, "your parcel"),
        ("sendVideo", clip, "how to"),
    ]
    assert result.notes == ()


async def test_a_caption_over_1024_characters_follows_the_picture(
    world: World, bob: TelegramUser
) -> None:
    caption = "long " * 300
    sent, result = await send(world, bob, Image(url=world.cdn.put("p.jpg", JPEG), caption=caption))
    assert [(m.method, m.text) for m in sent] == [
        ("sendPhoto", None),
        ("sendMessage", caption),
    ]
    assert any("caption of 1500 characters" in note for note in result.notes)


async def test_a_picture_telegram_cannot_fetch_is_sent_as_its_link(
    world: World, bob: TelegramUser
) -> None:
    gone = "http://cdn.test/deleted.jpg"
    sent, result = await send(world, bob, Image(url=gone, caption="look"))
    assert [(m.method, m.text) for m in sent] == [("sendMessage", f"look\n{gone}")]
    assert any("failed to get HTTP URL content" in note for note in result.notes)


async def test_a_document_is_uploaded_under_its_name(world: World, bob: TelegramUser) -> None:
    url = world.cdn.put("files/9f8e7d.docx", DOCX)
    sent, _ = await send(world, bob, File(url=url, name="manual.docx"))
    (message,) = sent
    assert (message.method, message.media) == ("sendDocument", "manual.docx")
    document = message.message["document"]
    assert document["file_name"] == "manual.docx" and document["file_size"] == len(DOCX)
    assert world.emulator.files[document["file_id"]].data == DOCX


async def test_a_document_whose_link_is_broken_is_sent_as_its_link(
    world: World, bob: TelegramUser
) -> None:
    sent, result = await send(world, bob, File(url="http://cdn.test/gone.pdf", name="gone.pdf"))
    assert [(m.method, m.text) for m in sent] == [
        ("sendMessage", "gone.pdf: http://cdn.test/gone.pdf")
    ]
    assert any("could not be uploaded" in note for note in result.notes)


async def test_places_contacts_stickers_and_links(world: World, bob: TelegramUser) -> None:
    sticker = world.cdn.put("s.webp", b"RIFF....WEBP")
    sent, result = await send(
        world,
        bob,
        Location(lat=37.5665, lon=126.978),
        Location(lat=37.5665, lon=126.978, label="City Hall"),
        Contact(name="Ji-soo", phone="+821012345678"),
        Sticker(sticker_id="40133", url=sticker),
        Link(url="https://shop.example/o/1", title="Your order"),
    )
    assert [m.method for m in sent] == ["sendLocation", "sendVenue", "sendContact"] + [
        "sendMessage"
    ] * 2
    assert sent[1].message["venue"]["title"] == "City Hall"
    assert [m.text for m in sent[3:]] == [sticker, "Your order\nhttps://shop.example/o/1"]
    assert result.notes == ("a sticker sent as text", "a link sent as text")


async def test_url_buttons_are_an_inline_keyboard_on_their_text(
    world: World, bob: TelegramUser
) -> None:
    buttons = Buttons(
        text="Track your parcel",
        buttons=[
            UrlButton(label="Track", url="https://t.example/1"),
            UrlButton(label="Call", url="tel:123"),
        ],
    )
    sent, result = await send(world, bob, buttons)
    (message,) = sent
    assert message.text == "Track your parcel\nCall: tel:123"
    assert message.message["reply_markup"] == {
        "inline_keyboard": [[{"text": "Track", "url": "https://t.example/1"}]]
    }
    assert result.notes == ("the button 'Call' was sent as text",)


async def test_a_keyboard_without_text_goes_on_the_previous_message(
    world: World, bob: TelegramUser
) -> None:
    sent, _ = await send(
        world,
        bob,
        Text(text="Anything else?"),
        QuickReplies(replies=[QuickReply(label="Yes"), QuickReply(label="No")]),
    )
    (message,) = sent
    assert (message.text, message.buttons) == ("Anything else?", ("Yes", "No"))


async def test_a_tapped_quick_reply_comes_back_as_its_label(
    world: World, bob: TelegramUser
) -> None:
    await send(world, bob, QuickReplies(text="Shall I?", replies=[QuickReply(label="Yes please")]))
    assert bob.keyboard == ["Yes please"]
    await world.emulator.tap(bob, "Yes please")
    await world.emulator.drain()
    (event,) = world.endpoint.events
    assert isinstance(event, InboundMessage) and event.parts == (Text(text="Yes please"),)
    assert bob.keyboard == [], "a one-time keyboard hides once used"


async def test_quick_replies_with_payloads_come_back_with_them_and_are_answered(
    world: World, bob: TelegramUser
) -> None:
    replies = [QuickReply(label="Track it", payload="TRACK_1234"), QuickReply(label="Agent")]
    sent, _ = await send(world, bob, QuickReplies(text="What now?", replies=replies))
    assert sent[0].message["reply_markup"]["inline_keyboard"][0] == [
        {"text": "Track it", "callback_data": "TRACK_1234"}
    ]
    await world.emulator.tap(bob, "Track it")
    await world.emulator.drain()
    (event,) = world.endpoint.events
    assert isinstance(event, InboundMessage)
    assert event.parts == (Text(text="Track it", reply_payload="TRACK_1234"),)
    # answerCallbackQuery rode on the webhook's answer: the button stops spinning.
    (answer,) = world.emulator.callback_answers
    (tap,) = [u["callback_query"] for u in world.emulator.updates if "callback_query" in u]
    assert answer == {"callback_query_id": tap["id"]}


async def test_a_throttled_send_waits_the_seconds_telegram_says(
    world: World, bob: TelegramUser
) -> None:
    world.emulator.fail_next("sendMessage", 429, retry_after=17)
    with pytest.raises(RateLimited) as caught:
        await send(world, bob, Text(text="hello"))
    assert caught.value.retry_after == 17


async def test_a_user_who_blocked_the_bot_is_unreachable(world: World, bob: TelegramUser) -> None:
    await world.emulator.block(bob)
    with pytest.raises(UserUnreachable) as caught:
        await send(world, bob, Text(text="are you there?"))
    assert caught.value.user_id == str(bob.id)
    assert "bot was blocked by the user" in str(caught.value)


async def test_a_wrong_token_names_the_setting(world: World, bob: TelegramUser) -> None:
    world.emulator.fail_next("sendMessage", 401, "Unauthorized")
    with pytest.raises(ConfigurationError, match="BYOC_TELEGRAM_BOT_TOKEN") as caught:
        await send(world, bob, Text(text="hello"))
    assert world.emulator.token not in str(caught.value)


async def test_server_errors_are_retried(world: World, bob: TelegramUser) -> None:
    world.emulator.fail_next("sendMessage", 502, "Bad Gateway")
    with pytest.raises(RetryableError):
        await send(world, bob, Text(text="hello"))


async def test_a_retry_sends_only_what_did_not_go_out(world: World, bob: TelegramUser) -> None:
    reply = OutboundMessage(
        message_id="fc-1",
        conversation_id="c-1",
        parts=[Text(text="one"), Text(text="two"), Location(lat=1.0, lon=2.0)],
    )
    world.emulator.fail_next("sendLocation", 502, "Bad Gateway")
    with pytest.raises(RetryableError):
        await world.channel.send(str(bob.id), reply)
    again = await world.channel.send(str(bob.id), reply)
    sent = world.emulator.sent_to(bob.id)
    assert [m.method for m in sent] == ["sendMessage", "sendMessage", "sendLocation"]
    assert again.message_ids == (str(sent[2].message_id),)
    assert await world.store.get_setting("telegram:sent:fc-1") is None


async def test_a_chat_id_that_is_not_telegrams_is_permanent(world: World) -> None:
    with pytest.raises(PermanentError):
        await deliver(world.channel, "not-a-chat", Text(text="hi"))
