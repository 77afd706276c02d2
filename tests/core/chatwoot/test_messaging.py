"""`ChatwootMessaging` against the emulator: settings, identity, calls per message, media,
crash recovery and webhook verification."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from byoc.chatwoot import ChatwootMessaging
from byoc.errors import (
    ConfigurationError,
    MediaTooLarge,
    RetryableError,
    SignatureError,
    StaleConversation,
    StaleWebhook,
    UnknownUser,
)
from byoc.media import MediaStream
from byoc.messaging import AgentMessage, HelpdeskUser, Posted
from byoc.models import File, Image, Profile, Text, Video
from byoc.testing.chatwoot import ChatwootEmulator
from byoc.testing.clock import FakeClock
from byoc.testing.media_host import MediaHost
from byoc.testing.network import VirtualNetwork
from byoc.testing.routing import Request, Response, Router

from .conftest import CHATWOOT_URL, Inbox

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
ACCOUNT = "/api/v1/accounts/{account_id}"


def _calls(chatwoot: ChatwootEmulator) -> list[str]:
    return sorted(
        f"{m} {r.removeprefix(ACCOUNT)}" for (m, r), n in chatwoot.calls.items() for _ in range(n)
    )


def _contact(user_id: str) -> int:
    return int(user_id.split(":")[0])


def _env(chatwoot: ChatwootEmulator, **changes: str) -> dict[str, str]:
    env = {
        "BYOC_CHATWOOT_URL": CHATWOOT_URL,
        "BYOC_CHATWOOT_ACCOUNT_ID": "1",
        "BYOC_CHATWOOT_INBOX_ID": "1",
        "BYOC_CHATWOOT_API_TOKEN": chatwoot.token,
        "BYOC_CHATWOOT_HMAC_TOKEN": chatwoot.inbox.secret,
        "UNRELATED": "x",
    }
    env.update(changes)
    return {k: v for k, v in env.items() if v != "<unset>"}


# -- settings ------------------------------------------------------------------------------------


async def test_from_env_reads_every_setting(
    chatwoot: ChatwootEmulator, http: httpx.AsyncClient, inbox: Inbox
) -> None:
    messaging = ChatwootMessaging.from_env(_env(chatwoot), http=http, clock=chatwoot.clock)
    user = await messaging.create_user("viber:a", None)
    posted = await messaging.create_conversation(user.id, [Text(text="hi")])
    await chatwoot.agent_reply(int(posted.conversation_id), "hello")
    await chatwoot.drain()
    events = [e for r in inbox.take() for e in await messaging.parse_webhook(r)]
    assert [e.parts for e in events if isinstance(e, AgentMessage)][-1] == (Text(text="hello"),)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"BYOC_CHATWOOT_URL": "<unset>"}, "BYOC_CHATWOOT_URL"),
        ({"BYOC_CHATWOOT_URL": "chat.acme.com"}, "BYOC_CHATWOOT_URL"),
        ({"BYOC_CHATWOOT_ACCOUNT_ID": "<unset>"}, "BYOC_CHATWOOT_ACCOUNT_ID"),
        ({"BYOC_CHATWOOT_ACCOUNT_ID": "acme"}, "BYOC_CHATWOOT_ACCOUNT_ID"),
        ({"BYOC_CHATWOOT_INBOX_ID": "0"}, "BYOC_CHATWOOT_INBOX_ID"),
        ({"BYOC_CHATWOOT_API_TOKEN": " "}, "BYOC_CHATWOOT_API_TOKEN"),
        ({"BYOC_CHATWOOT_HMAC_TOKEN": "<unset>"}, "BYOC_CHATWOOT_HMAC_TOKEN"),
        ({"BYOC_CHATWOOT_VERIFY_SIGNATURES": "maybe"}, "BYOC_CHATWOOT_VERIFY_SIGNATURES"),
    ],
)
def test_from_env_names_the_setting_to_fix(
    chatwoot: ChatwootEmulator, changes: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigurationError, match=named):
        ChatwootMessaging.from_env(_env(chatwoot, **changes))


async def test_unsigned_webhooks_only_by_a_loud_setting(
    chatwoot: ChatwootEmulator,
    http: httpx.AsyncClient,
    inbox: Inbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    chatwoot.signing = "unsigned"
    env = _env(chatwoot, BYOC_CHATWOOT_HMAC_TOKEN="<unset>", BYOC_CHATWOOT_VERIFY_SIGNATURES="off")
    with caplog.at_level(logging.WARNING, logger="byoc.chatwoot"):
        lenient = ChatwootMessaging.from_env(env, http=http, clock=chatwoot.clock)
    [record] = [r for r in caplog.records if r.name == "byoc.chatwoot"]
    assert record.levelno == logging.WARNING and "NOT verified" in record.getMessage()
    strict = ChatwootMessaging.from_env(_env(chatwoot), http=http, clock=chatwoot.clock)
    user = await strict.create_user("viber:a", None)
    await strict.create_conversation(user.id, [Text(text="hi")])
    await chatwoot.drain()
    [request] = [r for r in inbox.take() if b"message_created" in r.body]
    assert len(await lenient.parse_webhook(request)) == 1
    with pytest.raises(SignatureError, match="4.13"):
        await strict.parse_webhook(request)


def test_ids_must_be_positive_integers() -> None:
    with pytest.raises(ConfigurationError, match="account_id"):
        ChatwootMessaging(url=CHATWOOT_URL, account_id=0, inbox_id=1, token="t", hmac_token="s")


# -- identity and calls per message --------------------------------------------------------------


async def test_a_new_user_costs_two_calls_then_one_per_message(
    chatwoot: ChatwootEmulator, messaging: ChatwootMessaging
) -> None:
    user = await messaging.get_or_create_user(
        "viber:a",
        Profile(name="김민준", avatar_url="https://x/a.jpg", country="KR", language="ko"),
    )
    assert user.created and user.reference_id == "viber:a"
    first = await messaging.create_conversation(user.id, [Text(text="hello")])
    assert _calls(chatwoot) == ["POST /contacts", "POST /conversations"]
    chatwoot.reset_calls()
    second = await messaging.post_message(first.conversation_id, user.id, [Text(text="again")])
    assert _calls(chatwoot) == ["POST /conversations/{id}/messages"]
    [contact] = chatwoot.contacts("viber:a")
    # The user id carries the contact and its session: all a new conversation needs.
    assert user.id == f"{contact['id']}:viber:a"
    assert contact["name"] == "김민준"
    assert contact["additional_attributes"] == {"country_code": "KR", "language": "ko"}
    assert [s["source_id"] for s in contact["contact_inboxes"]] == ["viber:a"]
    messages = chatwoot.conversation_messages(int(first.conversation_id))
    # Both are the contact's own words: incoming, never the "outgoing" default.
    assert [(m["id"], m["message_type"]) for m in messages] == [
        (int(first.message_id), 0),
        (int(second.message_id), 0),
    ]


async def test_find_user_matches_the_identifier_exactly(
    chatwoot: ChatwootEmulator, messaging: ChatwootMessaging
) -> None:
    # Base64 user ids differ by case only; Chatwoot's filter does not see the difference.
    upper = await messaging.create_user("viber:AbC=", None)
    lower = await messaging.create_user("viber:abc=", None)
    assert await messaging.find_user("viber:abc=") == lower
    assert await messaging.find_user("viber:AbC=") == upper
    assert await messaging.find_user("viber:ab") is None


async def test_a_user_created_meanwhile_is_found_not_duplicated(
    chatwoot: ChatwootEmulator, messaging: ChatwootMessaging, http: httpx.AsyncClient
) -> None:
    other_replica = ChatwootMessaging.from_env(_env(chatwoot), http=http, clock=chatwoot.clock)
    first = await other_replica.get_or_create_user("viber:a", None)
    chatwoot.reset_calls()
    found = await messaging.get_or_create_user("viber:a", None)
    assert (found.id, found.created) == (first.id, False)
    # Chatwoot refused the second contact (422, the identifier is taken): then it is looked up.
    assert _calls(chatwoot) == ["POST /contacts", "POST /contacts/filter"]
    assert len(chatwoot.contacts("viber:a")) == 1


async def test_get_user_gives_the_reference_id(messaging: ChatwootMessaging) -> None:
    user = await messaging.create_user("viber:a", None)
    expected = HelpdeskUser(id=user.id, reference_id="viber:a")
    assert await messaging.get_user(user.id) == expected
    assert await messaging.get_user(user.id.split(":")[0]) == expected


async def test_after_a_restart_a_new_conversation_costs_no_lookup(
    chatwoot: ChatwootEmulator, messaging: ChatwootMessaging, http: httpx.AsyncClient
) -> None:
    user = await messaging.create_user("viber:a", None)
    await messaging.create_conversation(user.id, [Text(text="one")])
    restarted = ChatwootMessaging.from_env(_env(chatwoot), http=http, clock=chatwoot.clock)
    chatwoot.reset_calls()
    await restarted.create_conversation(user.id, [Text(text="two")])
    assert _calls(chatwoot) == ["POST /conversations"]
    # A bare contact id (as links made before user ids carried the session) costs one lookup.
    chatwoot.reset_calls()
    await restarted.create_conversation(user.id.split(":")[0], [Text(text="three")])
    assert _calls(chatwoot) == ["GET /contacts/{id}", "POST /conversations"]
    [contact] = chatwoot.contacts("viber:a")
    assert len(contact["contact_inboxes"]) == 1


async def test_a_deleted_contact_is_an_unknown_user(
    chatwoot: ChatwootEmulator, messaging: ChatwootMessaging
) -> None:
    user = await messaging.create_user("viber:a", None)
    await messaging.create_conversation(user.id, [Text(text="one")])
    await chatwoot.delete_contact(int(user.id.split(":")[0]))
    with pytest.raises(UnknownUser):
        await messaging.list_conversations(user.id)
    with pytest.raises(UnknownUser):
        await messaging.create_conversation(user.id, [Text(text="two")])
    with pytest.raises(UnknownUser):
        await messaging.get_user(user.id)
    again = await messaging.get_or_create_user("viber:a", None)
    assert again.created and again.id != user.id


async def test_a_contact_made_elsewhere_gets_a_session_in_the_inbox(
    chatwoot: ChatwootEmulator, messaging: ChatwootMessaging
) -> None:
    async with chatwoot.client(authenticated=True) as api:
        made = await api.post("/api/v1/accounts/1/contacts", json={"name": "Walk-in"})
    contact_id = str(made.json()["payload"]["contact"]["id"])
    posted = await messaging.create_conversation(contact_id, [Text(text="hi")])
    [contact] = [c for c in chatwoot.contacts() if str(c["id"]) == contact_id]
    assert [s["source_id"] for s in contact["contact_inboxes"]] == [f"byoc-contact-{contact_id}"]
    assert await messaging.list_conversations(contact_id) == [posted.conversation_id]


async def test_list_conversations_keeps_the_inbox_s_latest_first(
    chatwoot: ChatwootEmulator, messaging: ChatwootMessaging
) -> None:
    user = await messaging.create_user("viber:a", None)
    first = await messaging.create_conversation(user.id, [Text(text="one")])
    second = await messaging.create_conversation(user.id, [Text(text="two")])
    async with chatwoot.client(authenticated=True) as api:
        await api.post(
            "/api/v1/accounts/1/conversations",
            json={"source_id": "web-visitor", "inbox_id": 2, "contact_id": _contact(user.id)},
        )
    await messaging.post_message(first.conversation_id, user.id, [Text(text="back")])
    assert await messaging.list_conversations(user.id) == [
        first.conversation_id,
        second.conversation_id,
    ]


async def test_a_deleted_conversation_is_stale(
    chatwoot: ChatwootEmulator, messaging: ChatwootMessaging
) -> None:
    user = await messaging.create_user("viber:a", None)
    posted = await messaging.create_conversation(user.id, [Text(text="one")])
    await chatwoot.delete_conversation(int(posted.conversation_id))
    with pytest.raises(StaleConversation):
        await messaging.post_message(posted.conversation_id, user.id, [Text(text="two")])


# -- media ---------------------------------------------------------------------------------------


async def test_media_is_downloaded_and_attached_in_the_same_call(
    chatwoot: ChatwootEmulator, messaging: ChatwootMessaging, cdn: MediaHost
) -> None:
    user = await messaging.create_user("viber:a", None)
    posted = await messaging.create_conversation(user.id, [Text(text="hi")])
    picture = cdn.put("photos/receipt", PNG, "image/png")
    clip = cdn.put("clip.mp4", b"\x00\x00\x00\x18ftypmp42")
    chatwoot.reset_calls()
    await messaging.post_message(
        posted.conversation_id,
        user.id,
        [
            Image(url=picture, caption="my receipt"),
            Video(url=clip),
            File(url=cdn.put("a.pdf", b"%PDF"), name="invoice.pdf"),
        ],
    )
    assert chatwoot.total_calls() == 1
    message = chatwoot.conversation_messages(int(posted.conversation_id))[-1]
    assert message["content"] == "my receipt"
    assert [(a["file_type"], a["extension"]) for a in message["attachments"]] == [
        ("image", None),
        ("video", "mp4"),
        ("file", "pdf"),
    ]
    async with chatwoot.client() as anyone:
        served = await anyone.get(message["attachments"][0]["data_url"], follow_redirects=True)
    assert served.content == PNG


async def test_media_the_channel_fetched_is_held_until_the_message_call(
    chatwoot: ChatwootEmulator, messaging: ChatwootMessaging
) -> None:
    user = await messaging.get_or_create_user("viber:a", None)
    # A reference only the channel understands: Chatwoot gets the bytes, never the URL.
    part = Image(url="mychat-file:7f3a", caption="my receipt")
    chatwoot.reset_calls()
    holding = await messaging.rehost_media(
        part, MediaStream.from_bytes(PNG, max_bytes=1000, content_type="image/png")
    )
    assert chatwoot.total_calls() == 0 and holding.url == part.url
    posted = await messaging.create_conversation(user.id, [holding])
    assert chatwoot.total_calls() == 1
    [message] = chatwoot.conversation_messages(int(posted.conversation_id))
    assert message["content"] == "my receipt"
    [attachment] = message["attachments"]
    assert attachment["file_type"] == "image"
    async with chatwoot.client() as anyone:
        assert (await anyone.get(attachment["data_url"], follow_redirects=True)).content == PNG


async def test_rehost_downloads_while_the_link_works(
    chatwoot: ChatwootEmulator, messaging: ChatwootMessaging, cdn: MediaHost
) -> None:
    user = await messaging.get_or_create_user("viber:a", None)
    url = cdn.put("short-lived.png", PNG, "image/png")
    chatwoot.reset_calls()
    holding = await messaging.rehost(Image(url=url))
    assert await messaging.rehost(holding) is holding
    assert await messaging.rehost(Text(text="hi")) == Text(text="hi")
    cdn.remove("short-lived.png")  # expired before the message is posted
    posted = await messaging.create_conversation(user.id, [holding])
    [message] = chatwoot.conversation_messages(int(posted.conversation_id))
    assert [a["file_type"] for a in message["attachments"]] == ["image"]
    assert chatwoot.total_calls() == 1


async def test_a_file_over_chatwoot_s_limit_is_refused_by_the_fetch(
    messaging: ChatwootMessaging, cdn: MediaHost
) -> None:
    messaging.max_media_bytes = 10
    with pytest.raises(MediaTooLarge):
        await messaging.rehost(File(url=cdn.put("big.pdf", bytes(64)), name="big.pdf"))


async def test_an_expired_link_becomes_a_visible_line(
    chatwoot: ChatwootEmulator, messaging: ChatwootMessaging, cdn: MediaHost
) -> None:
    user = await messaging.create_user("viber:a", None)
    gone = "http://cdn.test/expired.jpg"
    posted = await messaging.create_conversation(user.id, [Image(url=gone)])
    message = chatwoot.conversation_messages(int(posted.conversation_id))[0]
    assert message["content"] == f"(attachment could not be copied: {gone})"
    assert "attachments" not in message


async def test_a_media_host_that_fails_for_now_makes_the_message_retryable(
    chatwoot: ChatwootEmulator, messaging: ChatwootMessaging, network: VirtualNetwork
) -> None:
    flaky = Router()

    @flaky.route("GET", "/a.jpg")
    async def busy(request: Request) -> Response:
        return Response(status=503, body=b"busy", content_type="text/plain")

    network.add("flaky.test", flaky)
    user = await messaging.create_user("viber:a", None)
    chatwoot.reset_calls()
    with pytest.raises(RetryableError, match="503"):
        await messaging.create_conversation(user.id, [Image(url="http://flaky.test/a.jpg")])
    assert chatwoot.total_calls() == 0


# -- crash recovery ------------------------------------------------------------------------------


async def test_find_posted_finds_the_users_copy_since_a_time(
    chatwoot: ChatwootEmulator, messaging: ChatwootMessaging, clock: FakeClock
) -> None:
    user = await messaging.create_user("viber:a", None)
    posted = await messaging.create_conversation(user.id, [Text(text="same")])
    await clock.advance(10)
    since = datetime.fromtimestamp(clock.time(), tz=timezone.utc)
    again = await messaging.post_message(posted.conversation_id, user.id, [Text(text="same")])
    await chatwoot.agent_reply(int(posted.conversation_id), "same")
    await chatwoot.private_note(int(posted.conversation_id), "same")
    conversation = posted.conversation_id
    assert await messaging.find_posted(conversation, user.id, [Text(text="same")], since) == [
        Posted(conversation_id=conversation, message_id=again.message_id)
    ]
    earlier = since - timedelta(seconds=60)
    found = await messaging.find_posted(conversation, user.id, [Text(text="same")], earlier)
    assert [p.message_id for p in found] == [again.message_id, posted.message_id]
    assert await messaging.find_posted(conversation, user.id, [Text(text="other")], earlier) == []
    assert await messaging.find_posted(conversation, "999", [Text(text="same")], earlier) == []


async def test_find_posted_recognises_media_and_missing_media(
    chatwoot: ChatwootEmulator, messaging: ChatwootMessaging, cdn: MediaHost
) -> None:
    user = await messaging.create_user("viber:a", None)
    since = datetime.fromtimestamp(0, tz=timezone.utc)
    parts = [
        Text(text="both"),
        Image(url=cdn.put("a.png", PNG)),
        Image(url="http://cdn.test/gone.png"),
    ]
    posted = await messaging.create_conversation(user.id, parts)
    found = await messaging.find_posted(posted.conversation_id, user.id, parts, since)
    assert [p.message_id for p in found] == [posted.message_id]
    assert await messaging.find_posted(posted.conversation_id, user.id, parts[:2], since) == []


# -- webhooks ------------------------------------------------------------------------------------


async def test_deliveries_verify_until_they_are_stale(
    chatwoot: ChatwootEmulator, messaging: ChatwootMessaging, inbox: Inbox, clock: FakeClock
) -> None:
    user = await messaging.create_user("viber:a", None)
    await messaging.create_conversation(user.id, [Text(text="hi")])
    await chatwoot.drain()
    requests = inbox.take()
    for request in requests:
        await messaging.parse_webhook(request)
    await clock.advance(301)
    with pytest.raises(StaleWebhook, match="301 s ago, more than the 300 s"):
        await messaging.parse_webhook(requests[0])


async def test_issue_13809_the_failure_says_which_key_to_try(
    chatwoot: ChatwootEmulator, messaging: ChatwootMessaging, inbox: Inbox, http: httpx.AsyncClient
) -> None:
    chatwoot.signing = "hmac_token"
    user = await messaging.create_user("viber:a", None)
    await messaging.create_conversation(user.id, [Text(text="hi")])
    await chatwoot.drain()
    request = inbox.take()[-1]
    with pytest.raises(SignatureError, match="#13809.*HMAC token"):
        await messaging.parse_webhook(request)
    fixed = ChatwootMessaging.from_env(
        _env(chatwoot, BYOC_CHATWOOT_HMAC_TOKEN=chatwoot.inbox.hmac_token),
        http=http,
        clock=chatwoot.clock,
    )
    assert len(await fixed.parse_webhook(request)) == 1


async def test_check_proves_the_settings_and_wants_an_api_inbox(
    chatwoot: ChatwootEmulator, messaging: ChatwootMessaging, http: httpx.AsyncClient
) -> None:
    chatwoot.reset_calls()
    found = await messaging.check()
    assert (found.account, found.webhook, found.reports_webhook) == (
        f"inbox {chatwoot.inbox.name!r}",
        chatwoot.webhook_url,
        True,
    )
    assert _calls(chatwoot) == ["GET /inboxes/{id}"]
    widget = ChatwootMessaging.from_env(_env(chatwoot, BYOC_CHATWOOT_INBOX_ID="2"), http=http)
    with pytest.raises(ConfigurationError, match="Channel::WebWidget inbox, not an API inbox"):
        await widget.check()
