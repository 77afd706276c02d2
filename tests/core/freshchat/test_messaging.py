from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from byoc.errors import (
    ConfigurationError,
    PermanentError,
    RetryableError,
    SignatureError,
    StaleConversation,
)
from byoc.freshchat import FreshchatMessaging
from byoc.messaging import AgentMessage, HelpdeskUser, Posted
from byoc.models import File, Image, Profile, QuickReplies, QuickReply, Sticker, Text, Video
from byoc.testing.clock import FakeClock
from byoc.testing.routing import Response, json_response
from byoc.webhook import WebhookRequest

from .fakes import API_URL, APP_ID, CHANNEL_ID, TOKEN, FakeFreshchat, sign

MESSAGE_CREATE = {
    "actor": {"actor_type": "agent", "actor_id": "agent-1"},
    "action": "message_create",
    "action_time": "2024-05-01T10:00:02.000Z",
    "data": {
        "message": {
            "message_parts": [{"text": {"content": "네, 확인했습니다 👍"}}],
            "id": "msg-agent-1",
            "conversation_id": "conv-1",
            "user_id": "user-1",
            "actor_type": "agent",
            "actor_id": "agent-1",
            "message_type": "normal",
            "created_time": "2024-05-01T10:00:02.000Z",
        }
    },
}
BODY = json.dumps(MESSAGE_CREATE, ensure_ascii=False).encode()
# The moment BODY was sent: its action_time is checked against the messaging's clock.
SENT = datetime(2024, 5, 1, 10, 0, 2, tzinfo=timezone.utc).timestamp()


def _pem(private_key: rsa.RSAPrivateKey) -> str:
    # The admin page's shape: SPKI inside RSA PUBLIC KEY armour, on one line.
    der = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    body = "".join(der.decode().splitlines()[1:-1])
    return f"-----BEGIN RSA PUBLIC KEY----- {body} -----END RSA PUBLIC KEY-----"


@pytest.fixture
async def messaging(
    http: httpx.AsyncClient, private_key: rsa.RSAPrivateKey
) -> AsyncIterator[FreshchatMessaging]:
    m = FreshchatMessaging(
        api_url=API_URL,
        token=TOKEN,
        webhook_public_key=_pem(private_key),
        http=http,
        clock=FakeClock(SENT),
    )
    yield m
    await m.aclose()


# -- construction and settings -----------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "", "  "])
async def test_without_a_key_yet_every_webhook_is_refused_saying_where_the_key_is(
    key: str | None, private_key: rsa.RSAPrivateKey
) -> None:
    # The key shows in Freshchat only after the bridge's URL is pasted there: the bridge must
    # run before it has one, and accepts nothing unchecked meanwhile.
    m = FreshchatMessaging(api_url=API_URL, token=TOKEN, webhook_public_key=key)
    assert m.webhook_key_missing and m.verifies_signatures
    signed = WebhookRequest(body=BODY, headers={"X-Freshchat-Signature": sign(private_key, BODY)})
    with pytest.raises(SignatureError) as caught:
        await m.parse_webhook(signed)
    assert "BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY" in str(caught.value)
    assert "Conversation Webhooks" in str(caught.value)
    await m.aclose()


def test_an_unreadable_key_fails_at_construction() -> None:
    with pytest.raises(ConfigurationError, match="BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY"):
        FreshchatMessaging(api_url=API_URL, token=TOKEN, webhook_public_key="paste here")


async def test_turning_verification_off_is_loud(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="byoc.freshchat"):
        m = FreshchatMessaging(api_url=API_URL, token=TOKEN, verify_signatures=False)
    await m.aclose()
    [record] = [r for r in caplog.records if r.name == "byoc.freshchat"]
    assert record.levelno == logging.WARNING
    assert "NOT verified" in record.getMessage()


def _env(private_key: rsa.RSAPrivateKey, **changes: str) -> dict[str, str]:
    env = {
        "BYOC_FRESHCHAT_API_URL": API_URL,
        "BYOC_FRESHCHAT_API_TOKEN": TOKEN,
        "BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY": _pem(private_key),
        "UNRELATED": "x",
    }
    env.update(changes)
    return {k: v for k, v in env.items() if v != "<unset>"}


async def test_from_env_reads_every_setting(
    fake: FakeFreshchat, http: httpx.AsyncClient, private_key: rsa.RSAPrivateKey
) -> None:
    env = _env(
        private_key,
        BYOC_FRESHCHAT_CHANNEL_ID="chan-9",
        BYOC_FRESHCHAT_APP_ID=APP_ID,
        BYOC_FRESHCHAT_ASSIGNED_GROUP_ID="group-7",
    )
    m = FreshchatMessaging.from_env(env, http=http, clock=FakeClock(SENT))
    await m.create_conversation("user-1", [Text(text="hi")])
    body = fake.requests[-1].json()
    assert (body["channel_id"], body["app_id"], body["assigned_group_id"]) == (
        "chan-9",
        APP_ID,
        "group-7",
    )
    request = WebhookRequest(body=BODY, headers={"X-Freshchat-Signature": sign(private_key, BODY)})
    assert len(await m.parse_webhook(request)) == 1


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"BYOC_FRESHCHAT_API_URL": "<unset>"}, "BYOC_FRESHCHAT_API_URL"),
        ({"BYOC_FRESHCHAT_API_URL": "  "}, "BYOC_FRESHCHAT_API_URL"),
        ({"BYOC_FRESHCHAT_API_URL": "acme.freshchat.com"}, "BYOC_FRESHCHAT_API_URL"),
        ({"BYOC_FRESHCHAT_API_TOKEN": "<unset>"}, "BYOC_FRESHCHAT_API_TOKEN"),
        ({"BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY": "oops"}, "BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY"),
        ({"BYOC_FRESHCHAT_VERIFY_SIGNATURES": "maybe"}, "BYOC_FRESHCHAT_VERIFY_SIGNATURES"),
    ],
)
def test_from_env_names_the_setting_to_fix(
    private_key: rsa.RSAPrivateKey, changes: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigurationError, match=named):
        FreshchatMessaging.from_env(_env(private_key, **changes))


@pytest.mark.parametrize("value", ["false", "0", "no", "FALSE", " off "])
async def test_from_env_can_turn_verification_off(
    private_key: rsa.RSAPrivateKey, http: httpx.AsyncClient, value: str
) -> None:
    env = _env(
        private_key,
        BYOC_FRESHCHAT_VERIFY_SIGNATURES=value,
        BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY="<unset>",
    )
    m = FreshchatMessaging.from_env(env, http=http, clock=FakeClock(SENT))
    assert len(await m.parse_webhook(WebhookRequest(body=BODY))) == 1


@pytest.mark.parametrize("value", ["true", "1", "yes", "", "TRUE"])
async def test_from_env_verifies_by_default(
    private_key: rsa.RSAPrivateKey, http: httpx.AsyncClient, value: str
) -> None:
    m = FreshchatMessaging.from_env(
        _env(private_key, BYOC_FRESHCHAT_VERIFY_SIGNATURES=value), http=http
    )
    with pytest.raises(SignatureError):
        await m.parse_webhook(WebhookRequest(body=BODY))


# -- users -------------------------------------------------------------------------------------


async def test_find_user_none(fake: FakeFreshchat, messaging: FreshchatMessaging) -> None:
    assert await messaging.find_user("viber:nobody") is None
    assert [(r.method, r.path, r.query) for r in fake.requests] == [
        ("GET", "/v2/users", {"reference_id": "viber:nobody"})
    ]


async def test_find_user_takes_the_oldest_of_several(
    fake: FakeFreshchat, messaging: FreshchatMessaging
) -> None:
    fake.users += [
        {"id": "newer", "reference_id": "viber:u", "created_time": "2024-05-02T00:00:00.000Z"},
        {"id": "no-time", "reference_id": "viber:u"},
        {"id": "oldest", "reference_id": "viber:u", "created_time": "2024-05-01T09:59:59.999Z"},
        {
            "id": "other",
            "reference_id": "viber:someone-else",
            "created_time": "2020-01-01T00:00:00Z",
        },
    ]
    assert await messaging.find_user("viber:u") == HelpdeskUser(id="oldest", reference_id="viber:u")
    assert len(fake.requests) == 1


async def test_find_user_ignores_users_of_another_reference(
    fake: FakeFreshchat, messaging: FreshchatMessaging
) -> None:
    # Should a filter ever match loosely, a message must not land on someone else's user.
    fake.answer(json_response({"users": [{"id": "x", "reference_id": "viber:u-2"}]}))
    assert await messaging.find_user("viber:u") is None


async def test_create_user_sends_reference_and_profile(
    fake: FakeFreshchat, messaging: FreshchatMessaging
) -> None:
    profile = Profile(
        name="Kim Min Ji", avatar_url="https://cdn/a.jpg", language="ko", country="KR"
    )
    user = await messaging.create_user("kakao:abc", profile)

    [request] = fake.requests
    assert (request.method, request.path) == ("POST", "/v2/users")
    assert request.json() == {
        "reference_id": "kakao:abc",
        "first_name": "Kim",
        "last_name": "Min Ji",
        "avatar": {"url": "https://cdn/a.jpg"},
        "properties": [{"name": "language", "value": "ko"}, {"name": "country", "value": "KR"}],
    }
    assert user.reference_id == "kakao:abc" and user.id.startswith("user-")


@pytest.mark.parametrize(
    ("profile", "fields"),
    [
        (None, {}),
        (Profile(), {}),
        (Profile(name="김민지"), {"first_name": "김민지"}),
        (Profile(name="  "), {}),
        (Profile(country="KR"), {"properties": [{"name": "country", "value": "KR"}]}),
    ],
)
async def test_create_user_sends_only_what_is_known(
    fake: FakeFreshchat,
    messaging: FreshchatMessaging,
    profile: Profile | None,
    fields: dict[str, Any],
) -> None:
    await messaging.create_user("viber:u", profile)
    assert fake.requests[0].json() == {"reference_id": "viber:u", **fields}


async def test_get_user(fake: FakeFreshchat, messaging: FreshchatMessaging) -> None:
    fake.users.append({"id": "user-1", "reference_id": "viber:u"})
    assert await messaging.get_user("user-1") == HelpdeskUser(id="user-1", reference_id="viber:u")


async def test_get_unknown_user_is_refused_with_freshchat_s_status(
    messaging: FreshchatMessaging,
) -> None:
    with pytest.raises(PermanentError, match="USER_NOT_FOUND"):
        await messaging.get_user("nobody")


async def test_a_user_answer_without_id_is_permanent(
    fake: FakeFreshchat, messaging: FreshchatMessaging
) -> None:
    fake.answer(json_response({"reference_id": "viber:u"}))
    with pytest.raises(PermanentError, match="without a user id"):
        await messaging.create_user("viber:u", None)


# -- conversations -----------------------------------------------------------------------------


async def test_list_conversations_keeps_freshchat_s_order(
    fake: FakeFreshchat, messaging: FreshchatMessaging
) -> None:
    fake.answer(json_response({"conversations": [{"id": "c3"}, {"id": "c1"}, {"id": 2}]}))
    assert await messaging.list_conversations("user-1") == ["c3", "c1", "2"]
    assert fake.requests[0].path == "/v2/users/user-1/conversations"


@pytest.mark.parametrize("answer", [{}, {"conversations": []}, {"conversations": None}])
async def test_no_conversations(
    fake: FakeFreshchat, messaging: FreshchatMessaging, answer: dict[str, Any]
) -> None:
    fake.answer(json_response(answer))
    assert await messaging.list_conversations("user-1") == []


async def test_create_conversation_body_and_lazy_channel_lookup_once(
    fake: FakeFreshchat, messaging: FreshchatMessaging
) -> None:
    first = await messaging.create_conversation(
        "user-1",
        [Text(text="안녕하세요"), QuickReplies(replies=[QuickReply(label="Yes", payload="y")])],
    )
    second = await messaging.create_conversation("user-2", [Text(text="hi")])

    assert [(r.method, r.path) for r in fake.requests] == [
        ("GET", "/v2/channels"),
        ("POST", "/v2/conversations"),
        ("POST", "/v2/conversations"),
    ]
    body = fake.requests[1].json()
    assert body == {
        "status": "new",
        "channel_id": CHANNEL_ID,  # the first *enabled* channel
        "users": [{"id": "user-1"}],
        "messages": [
            {
                "message_parts": [{"text": {"content": "안녕하세요"}}],
                "reply_parts": [
                    {
                        "collection": {
                            "sub_parts": [{"quick_reply_button": {"label": "Yes", "payload": "y"}}]
                        }
                    }
                ],
                "actor_type": "user",
                "actor_id": "user-1",
                "message_type": "normal",
                "channel_id": CHANNEL_ID,
            }
        ],
    }
    assert first.conversation_id.startswith("conv-") and first.message_id.startswith("msg-")
    assert second.conversation_id != first.conversation_id


async def test_concurrent_first_conversations_look_the_channel_up_once(
    fake: FakeFreshchat, messaging: FreshchatMessaging
) -> None:
    fake.gate = asyncio.Event()
    tasks = [
        asyncio.create_task(messaging.create_conversation(f"user-{i}", [Text(text="hi")]))
        for i in range(5)
    ]
    # Every task has run up to its first wait once the first call is held at the gate.
    await fake.arrived.wait()
    fake.gate.set()
    await asyncio.gather(*tasks)
    assert len(fake.calls("GET", "/v2/channels")) == 1
    assert len(fake.calls("POST", "/v2/conversations")) == 5


async def test_a_configured_channel_needs_no_lookup(
    fake: FakeFreshchat, http: httpx.AsyncClient
) -> None:
    m = FreshchatMessaging(
        api_url=API_URL,
        token=TOKEN,
        channel_id="chan-9",
        verify_signatures=False,
        app_id=APP_ID,
        assigned_group_id="group-7",
        http=http,
    )
    await m.create_conversation("user-1", [])
    [request] = fake.requests
    body = request.json()
    assert body["channel_id"] == "chan-9" and body["messages"][0]["channel_id"] == "chan-9"
    assert body["app_id"] == APP_ID and body["messages"][0]["app_id"] == APP_ID
    assert body["assigned_group_id"] == "group-7"
    assert body["messages"][0]["message_parts"] == [{"text": {"content": "(empty message)"}}]


@pytest.mark.parametrize(
    "channels",
    [[], [{"id": "c", "enabled": False}], [{"name": "no id", "enabled": True}]],
)
async def test_no_enabled_channel_names_the_channel_setting(
    fake: FakeFreshchat, messaging: FreshchatMessaging, channels: list[dict[str, Any]]
) -> None:
    fake.channels = channels
    with pytest.raises(ConfigurationError, match="BYOC_FRESHCHAT_CHANNEL_ID"):
        await messaging.create_conversation("user-1", [Text(text="hi")])
    assert fake.calls("POST", "/v2/conversations") == []


@pytest.mark.parametrize(
    ("answer", "posted"),
    [
        (
            {"conversation_id": "c-1", "messages": [{"id": "m-1"}]},
            Posted(conversation_id="c-1", message_id="m-1"),
        ),
        ({"id": "c-2"}, Posted(conversation_id="c-2", message_id="")),
        ({"conversation_id": 77, "messages": []}, Posted(conversation_id="77", message_id="")),
    ],
)
async def test_create_conversation_reads_either_answer_shape(
    fake: FakeFreshchat, messaging: FreshchatMessaging, answer: dict[str, Any], posted: Posted
) -> None:
    fake.answer(json_response({"channels": [{"id": "ch", "enabled": True}]}))
    fake.answer(json_response(answer))
    assert await messaging.create_conversation("user-1", [Text(text="hi")]) == posted


async def test_a_conversation_answer_without_id_is_permanent(
    fake: FakeFreshchat, messaging: FreshchatMessaging
) -> None:
    fake.answer(json_response({"channels": [{"id": "ch", "enabled": True}]}))
    fake.answer(json_response({"status": "new"}))
    with pytest.raises(PermanentError, match="without a conversation id"):
        await messaging.create_conversation("user-1", [Text(text="hi")])


async def test_post_message_is_one_call(fake: FakeFreshchat, messaging: FreshchatMessaging) -> None:
    posted = await messaging.post_message(
        "conv-1", "user-1", [Image(url="https://cdn/p.jpg", caption="사진")]
    )

    [request] = fake.requests
    assert (request.method, request.path) == ("POST", "/v2/conversations/conv-1/messages")
    assert request.json() == {
        "message_parts": [
            {"image": {"url": "https://cdn/p.jpg"}},
            {"text": {"content": "사진"}},
        ],
        "actor_type": "user",
        "actor_id": "user-1",
        "message_type": "normal",
    }
    assert posted.conversation_id == "conv-1" and posted.message_id.startswith("msg-")


async def test_post_message_answer_without_id_is_not_an_error(
    fake: FakeFreshchat, messaging: FreshchatMessaging
) -> None:
    fake.answer(Response(status=200, body=b""))
    assert await messaging.post_message("c", "u", [Text(text="x")]) == Posted(
        conversation_id="c", message_id=""
    )


async def test_post_message_into_a_stale_conversation(
    fake: FakeFreshchat, messaging: FreshchatMessaging
) -> None:
    fake.answer(
        json_response(
            {"code": 400, "status": "INVALID_VALUE", "message": "not the latest conversation"}, 400
        )
    )
    with pytest.raises(StaleConversation) as caught:
        await messaging.post_message("conv-old", "user-1", [Text(text="hi")])
    assert caught.value.conversation_id == "conv-old"


async def test_post_message_throttled(fake: FakeFreshchat, messaging: FreshchatMessaging) -> None:
    fake.answer(Response(status=429, body=b"", headers={"Retry-After": "3"}))
    with pytest.raises(RetryableError) as caught:
        await messaging.post_message("conv-1", "user-1", [Text(text="hi")])
    assert caught.value.retry_after == 3.0


# -- webhooks ----------------------------------------------------------------------------------


async def test_a_signed_webhook_is_parsed(
    messaging: FreshchatMessaging, private_key: rsa.RSAPrivateKey
) -> None:
    request = WebhookRequest(
        body=BODY,
        headers={
            "X-Freshchat-Signature": sign(private_key, BODY),
            "X-Freshchat-Payload-Version": "v1",
            "X-Retry-Count": "0",
        },
    )
    [event] = await messaging.parse_webhook(request)
    assert isinstance(event, AgentMessage)
    assert event.parts == (Text(text="네, 확인했습니다 👍"),)


async def test_verification_comes_before_parsing(
    messaging: FreshchatMessaging, private_key: rsa.RSAPrivateKey
) -> None:
    garbage = b"not json at all"
    with pytest.raises(SignatureError):
        await messaging.parse_webhook(WebhookRequest(body=garbage))
    with pytest.raises(SignatureError):
        await messaging.parse_webhook(
            WebhookRequest(body=garbage, headers={"x-freshchat-signature": sign(private_key, BODY)})
        )


@pytest.mark.parametrize("headers", [{}, {"X-Freshchat-Signature": "AAAA"}])
async def test_an_unsigned_or_badly_signed_webhook_is_refused(
    messaging: FreshchatMessaging, headers: dict[str, str]
) -> None:
    with pytest.raises(SignatureError):
        await messaging.parse_webhook(WebhookRequest(body=BODY, headers=headers))


async def test_a_tampered_body_is_refused(
    messaging: FreshchatMessaging, private_key: rsa.RSAPrivateKey
) -> None:
    signature = sign(private_key, BODY)
    tampered = BODY.replace("확인".encode(), "거절".encode())
    with pytest.raises(SignatureError):
        await messaging.parse_webhook(
            WebhookRequest(body=tampered, headers={"X-Freshchat-Signature": signature})
        )


# -- media -------------------------------------------------------------------------------------


async def test_rehost_image(fake: FakeFreshchat, messaging: FreshchatMessaging) -> None:
    fake.media["p.jpg"] = (b"\xff\xd8\xff image", "image/jpeg")
    part = Image(url="https://dl-media.viber.com/media/p.jpg?token=secret", caption="hi")

    rehosted = await messaging.rehost(part)

    assert rehosted == Image(
        url="https://assets.freshchat.com/images/img-0001.jpg",
        caption="hi",
        mime_type="image/jpeg",
        size=len(b"\xff\xd8\xff image"),
        name="p.jpg",
        helpdesk_ref="img-0001",
    )
    [download] = fake.downloads
    assert "authorization" not in download.headers  # the token never leaves for a CDN
    [upload] = fake.requests
    assert (upload.method, upload.path) == ("POST", "/v2/images/upload")
    assert b'name="image"; filename="p.jpg"' in upload.body
    assert b"Content-Type: image/jpeg" in upload.body and b"\xff\xd8\xff image" in upload.body


@pytest.mark.parametrize(
    ("part", "media_type", "expected_type"),
    [
        (
            File(url="https://cdn/media/r.pdf", name="견적서.pdf"),
            "application/pdf",
            "application/pdf",
        ),
        (Video(url="https://cdn/media/v.mp4"), "video/mp4", "video/mp4"),
        (File(url="https://cdn/media/r.pdf"), "application/octet-stream", "application/pdf"),
    ],
)
async def test_rehost_files_and_videos_through_file_upload(
    fake: FakeFreshchat,
    messaging: FreshchatMessaging,
    part: File | Video,
    media_type: str,
    expected_type: str,
) -> None:
    name = part.url.rsplit("/", 1)[1]
    fake.media[name] = (b"%PDF", media_type)

    rehosted = await messaging.rehost(part)

    assert isinstance(rehosted, File | Video)
    assert rehosted.helpdesk_ref == "f1e2d3c4b5a6"
    assert rehosted.url == part.url and rehosted.mime_type == expected_type and rehosted.size == 4
    [upload] = fake.requests
    assert (upload.method, upload.path) == ("POST", "/v2/files/upload")
    assert b'name="file"' in upload.body
    assert f"Content-Type: {expected_type}".encode() in upload.body


@pytest.mark.parametrize(
    "answer",
    [
        {"file": {"fileHash": "camel"}},
        {"data": {"file_hash": "nested"}},
        {"file_hash": 12345},
    ],
)
async def test_rehost_reads_each_upload_answer_shape(
    fake: FakeFreshchat, messaging: FreshchatMessaging, answer: dict[str, Any]
) -> None:
    fake.media["a.bin"] = (b"x", "application/octet-stream")
    fake.answer(json_response(answer))
    rehosted = await messaging.rehost(File(url="https://cdn/media/a.bin"))
    assert isinstance(rehosted, File) and rehosted.helpdesk_ref


@pytest.mark.parametrize(
    "part",
    [
        Text(text="x"),
        Sticker(sticker_id="1", url="https://s/1.png"),
        Image(url="https://fc/i", helpdesk_ref="done"),
    ],
)
async def test_rehost_leaves_other_parts_alone(
    fake: FakeFreshchat, messaging: FreshchatMessaging, part: Any
) -> None:
    assert await messaging.rehost(part) is part
    assert fake.requests == [] and fake.downloads == []


async def test_rehost_of_an_expired_link_is_permanent(
    fake: FakeFreshchat, messaging: FreshchatMessaging
) -> None:
    with pytest.raises(PermanentError, match="404"):
        await messaging.rehost(Image(url="https://cdn/media/gone.jpg"))
    assert fake.requests == []


async def test_rehost_over_the_size_limit_is_permanent(
    fake: FakeFreshchat, http: httpx.AsyncClient
) -> None:
    m = FreshchatMessaging(
        api_url=API_URL, token=TOKEN, verify_signatures=False, http=http, max_media_bytes=10
    )
    fake.media["big.jpg"] = (b"x" * 11, "image/jpeg")
    with pytest.raises(PermanentError, match="limit"):
        await m.rehost(Image(url="https://cdn/media/big.jpg"))
    assert fake.requests == []


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (json_response({"code": 500, "status": "ERR", "message": "x"}, 500), RetryableError),
        (
            json_response({"code": 400, "status": "INVALID_VALUE", "message": "bad"}, 400),
            PermanentError,
        ),
        # An account that may not upload still gets the link: not a ConfigurationError here.
        (json_response({"code": 403, "status": "FORBIDDEN", "message": "no"}, 403), PermanentError),
        (json_response({"name": "p.jpg"}), PermanentError),
    ],
)
async def test_rehost_upload_failures_are_delivery_errors(
    fake: FakeFreshchat, messaging: FreshchatMessaging, response: Response, error: type[Exception]
) -> None:
    fake.media["p.jpg"] = (b"img", "image/jpeg")
    fake.answer(response)
    with pytest.raises(error) as caught:
        await messaging.rehost(Image(url="https://cdn/media/p.jpg"))
    assert not isinstance(caught.value, ConfigurationError)


# -- account and lifecycle ---------------------------------------------------------------------


async def test_check_reads_the_account_configuration(
    fake: FakeFreshchat, messaging: FreshchatMessaging
) -> None:
    found = await messaging.check()
    assert (found.account, found.reports_webhook) == ("acme.freshchat.com", False)
    assert [(r.method, r.path) for r in fake.requests] == [("GET", "/v2/accounts/configuration")]


async def test_check_with_a_wrong_token_names_the_setting(http: httpx.AsyncClient) -> None:
    m = FreshchatMessaging(api_url=API_URL, token="eyJstale", verify_signatures=False, http=http)
    with pytest.raises(ConfigurationError, match="BYOC_FRESHCHAT_API_TOKEN"):
        await m.check()


async def test_aclose_leaves_a_given_client_open(http: httpx.AsyncClient) -> None:
    m = FreshchatMessaging(api_url=API_URL, token=TOKEN, verify_signatures=False, http=http)
    await m.aclose()
    assert not http.is_closed


async def test_aclose_closes_a_client_it_made() -> None:
    m = FreshchatMessaging(api_url=API_URL, token=TOKEN, verify_signatures=False)
    made = m.client.http  # made on first use
    await m.aclose()
    assert made.is_closed
