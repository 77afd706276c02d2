"""Skill requests → parts and parts → SkillResponses, without HTTP."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from byoc.errors import MalformedPayload, RequestError
from byoc.freshchat.parts import from_freshchat
from byoc.models import (
    Buttons,
    Contact,
    File,
    Image,
    Link,
    Location,
    OutboundMessage,
    Part,
    QuickReplies,
    QuickReply,
    Sticker,
    Text,
    UrlButton,
    Video,
)
from byoc.webhook import WebhookRequest
from byoc_kakao import KakaoChatbotChannel
from byoc_kakao.chunking import kakao_length
from byoc_kakao.origins import parse_origins
from byoc_kakao.skill_request import inbound_parts, parse_skill_request
from byoc_kakao.skill_response import skill_pages, skill_response, text_response
from byoc_kakao.testing import skill_response_problems

from .rig import SKILL_SECRET

CDN = parse_origins("https://*.kakaocdn.net")
PHOTO = (
    "https://talk.kakaocdn.net/dna/bQ1x9/K6aZ/i_9f3c.jpg"
    "?credential=zf3biCPbmWRhS&expires=1758253200&signature=Qm%2Fw3"
)

# A real request logged on 2025-09-19 (ids shortened).
REAL = {
    "bot": {"id": "67a961ce1e098a447d574fe7", "name": "TestImbuChatBot"},
    "intent": {
        "id": "67a961ce1e098a447d574feb",
        "name": "폴백 블록",
        "extra": {"reason": {"code": 1, "message": "OK"}},
    },
    "action": {
        "id": "67a99c2e92df7f65390d32f5",
        "name": "kakaobot",
        "params": {},
        "detailParams": {},
        "clientExtra": {},
    },
    "userRequest": {
        "block": {"id": "67a961ce1e098a447d574feb", "name": "폴백 블록"},
        "user": {
            "id": "1b2bfc8c94b4d",
            "type": "botUserKey",
            "properties": {
                "botUserKey": "1b2bfc8c94b4d",
                "isFriend": True,
                "plusfriendUserKey": "OL1xAnN6qN4s",
                "bot_user_key": "1b2bfc8c94b4d",
                "plusfriend_user_key": "OL1xAnN6qN4s",
            },
        },
        "utterance": "생각 다 끝났나요? 🤔",
        "params": {"surface": "Kakaotalk.plusfriend"},
        "lang": "ko",
        "timezone": "Asia/Seoul",
    },
    "contexts": [],
    "flow": {
        "lastBlock": {"id": "67a961ce1e098a447d574feb", "name": "폴백 블록"},
        "trigger": {"type": "QUICKREPLY_BUTTON_MESSAGE"},
    },
}


def with_request(**changes: Any) -> dict[str, Any]:
    payload = copy.deepcopy(REAL)
    payload["userRequest"].update(changes)
    return payload


def test_the_real_request_parses() -> None:
    skill = parse_skill_request(REAL)
    assert skill.user_id == "1b2bfc8c94b4d"
    assert skill.plusfriend_user_key == "OL1xAnN6qN4s"
    assert skill.is_friend is True
    assert skill.utterance == "생각 다 끝났나요? 🤔"
    assert skill.block_name == "폴백 블록"
    assert skill.callback_url is None and skill.page_id is None
    assert inbound_parts(skill, CDN) == (Text(text="생각 다 끝났나요? 🤔"),)


def test_snake_case_properties_and_a_missing_user_id_are_read_leniently() -> None:
    payload = with_request(
        user={
            "type": "botUserKey",
            "properties": {"bot_user_key": "k1", "plusfriend_user_key": "p1"},
        }
    )
    skill = parse_skill_request(payload)
    assert (skill.user_id, skill.plusfriend_user_key, skill.is_friend) == ("k1", "p1", False)


def test_a_photo_is_an_image_at_its_cdn_url() -> None:
    skill = parse_skill_request(with_request(utterance=PHOTO))
    assert inbound_parts(skill, CDN) == (Image(url=PHOTO),)


def test_a_cdn_url_inside_a_sentence_stays_text() -> None:
    text = f"이 사진 봐주세요 {PHOTO}"
    skill = parse_skill_request(with_request(utterance=text))
    assert inbound_parts(skill, CDN) == (Text(text=text),)


def test_urls_on_other_hosts_are_text_not_media() -> None:
    skill = parse_skill_request(with_request(utterance="https://evil.example.com/i.jpg"))
    assert inbound_parts(skill, CDN) == (Text(text="https://evil.example.com/i.jpg"),)


def test_an_image_plugin_parameter_becomes_images() -> None:
    secure = json.dumps({"secureUrls": f"List({PHOTO}, https://talk.kakaocdn.net/dna/x/v.mp4)"})
    payload = with_request(utterance="사진 보냅니다")
    payload["action"]["params"] = {"secureimage": secure}
    parts = inbound_parts(parse_skill_request(payload), CDN)
    assert parts == (
        Text(text="사진 보냅니다"),
        Image(url=PHOTO),
        Video(url="https://talk.kakaocdn.net/dna/x/v.mp4"),
    )


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"userRequest": None},
        {"userRequest": []},
        {"userRequest": {"user": {}}},
        {"userRequest": {"user": {"id": ""}}},
        {"userRequest": {"user": {"id": "k"}, "utterance": 5}},
        {"userRequest": {"user": {"id": "k"}, "callbackUrl": []}},
        {"userRequest": {"user": {"id": "k"}, "params": "x"}},
        {"userRequest": {"user": {"id": "k"}}, "action": {"params": 1}},
    ],
)
def test_malformed_skill_requests(payload: dict[str, Any]) -> None:
    with pytest.raises(MalformedPayload):
        parse_skill_request(payload)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(), kids, max_size=3),
    max_leaves=10,
)
tricky = st.sampled_from(["²", "http://[::1/x", "https://x.kakaocdn.net:abc/i.jpg", PHOTO, ""])
json_values = json_values | tricky
skill_like = st.fixed_dictionaries(
    {},
    optional={
        "userRequest": st.fixed_dictionaries(
            {},
            optional={
                "user": st.fixed_dictionaries(
                    {}, optional={"id": st.text() | json_values, "properties": json_values}
                )
                | json_values,
                "utterance": st.text() | st.just(PHOTO) | json_values,
                "callbackUrl": st.text() | json_values,
                "params": st.dictionaries(st.text(), st.text()) | json_values,
                "block": json_values,
            },
        )
        | json_values,
        "action": st.fixed_dictionaries({}, optional={"params": json_values}) | json_values,
        "intent": json_values,
    },
)
channel = KakaoChatbotChannel(bot_id="b", rest_api_key="k", skill_secret=SKILL_SECRET)


@settings(max_examples=300)
@given(skill_like)
async def test_any_skill_body_gives_events_or_a_request_error(payload: dict[str, Any]) -> None:
    request = WebhookRequest(body=json.dumps(payload).encode(), subpath=SKILL_SECRET)
    try:
        events = await channel.parse(request)
    except RequestError:
        return
    assert len(events) <= 1


@given(st.binary())
async def test_any_bytes_give_events_or_a_request_error(body: bytes) -> None:
    try:
        await channel.parse(WebhookRequest(body=body, subpath=SKILL_SECRET))
    except RequestError:
        return


# -- outbound ----------------------------------------------------------------------------------


def message(*parts: Part) -> OutboundMessage:
    return OutboundMessage(message_id="fc-1", conversation_id="c", parts=parts)


def test_a_long_text_becomes_pages_of_three_bubbles() -> None:
    text = "상담원 답변입니다 🙂 " * 400  # 5,600 units
    pages = skill_pages(message(Text(text=text)))
    assert [len(t["outputs"]) for t in pages.templates] == [3, 3]
    joined = "".join(o["simpleText"]["text"] for t in pages.templates for o in t["outputs"])
    assert joined == text
    assert all(not skill_response_problems(skill_response(t)) for t in pages.templates)


def test_images_files_and_buttons_map_to_kakao_components() -> None:
    pages = skill_pages(
        message(
            Image(url="https://cdn.example.com/a.png", caption="영수증"),
            File(url="https://cdn.example.com/b.pdf", name="안내문.pdf"),
            Buttons(
                text="더 알아보기",
                buttons=[UrlButton(label=f"링크 {n}", url=f"https://x.kr/{n}") for n in range(4)],
            ),
            Contact(name="고객센터", phone="1588-0000"),
            Location(lat=37.5, lon=127.0, label="본사"),
            Link(url="https://x.kr/faq", title="자주 묻는 질문"),
            Video(url="https://cdn.example.com/guide.mp4"),
        )
    )
    outputs = [o for t in pages.templates for o in t["outputs"]]
    kinds = [next(iter(o)) for o in outputs]
    assert kinds == ["simpleImage", "simpleText", "textCard", "carousel"] + ["textCard"] * 4
    assert outputs[0]["simpleImage"] == {
        "imageUrl": "https://cdn.example.com/a.png",
        "altText": "영수증",
    }
    assert outputs[2]["textCard"]["buttons"][0]["webLinkUrl"] == "https://cdn.example.com/b.pdf"
    # Four URL buttons: a carousel of two textCards, the intro on the first.
    carousel = outputs[3]["carousel"]
    assert carousel["type"] == "textCard"
    assert [card.get("description") for card in carousel["items"]] == ["더 알아보기", None]
    assert [len(card["buttons"]) for card in carousel["items"]] == [3, 1]
    assert outputs[4]["textCard"]["buttons"][0] == {
        "label": "전화하기",
        "action": "phone",
        "phoneNumber": "1588-0000",
    }


def test_a_picture_with_url_buttons_is_a_basic_card() -> None:
    pages = skill_pages(
        message(
            Image(url="https://cdn.example.com/shoe.jpg", caption="러닝화"),
            Buttons(
                text="129,000원",
                buttons=[UrlButton(label="구매하기", url="https://shop.kr/shoe")],
            ),
        )
    )
    [template] = pages.templates
    assert template["outputs"] == [
        {
            "basicCard": {
                "thumbnail": {"imageUrl": "https://cdn.example.com/shoe.jpg", "altText": "러닝화"},
                "description": "러닝화\n129,000원",
                "buttons": [
                    {"label": "구매하기", "action": "webLink", "webLinkUrl": "https://shop.kr/shoe"}
                ],
            }
        }
    ]


def test_a_freshchat_carousel_becomes_a_kakao_carousel_of_basic_cards() -> None:
    sections = [
        {
            "name": f"card {n}",
            "parts": [
                {"image": {"url": f"https://fc.example/{n}.jpg"}},
                {"text": {"content": f"상품 {n}"}},
                {"url_button": {"url": f"https://shop.kr/{n}", "label": "보기"}},
            ],
        }
        for n in range(12)
    ]
    parts = from_freshchat([{"template_content": {"type": "carousel", "sections": sections}}], None)
    pages = skill_pages(message(*parts))
    outputs = [o for t in pages.templates for o in t["outputs"]]
    assert [(o["carousel"]["type"], len(o["carousel"]["items"])) for o in outputs] == [
        ("basicCard", 10),
        ("basicCard", 2),
    ]
    first = outputs[0]["carousel"]["items"][0]
    assert first["thumbnail"]["imageUrl"] == "https://fc.example/0.jpg"
    assert first["description"] == "상품 0"
    assert all(not skill_response_problems(skill_response(t)) for t in pages.templates)


def test_quick_replies_go_on_the_last_page_at_most_ten() -> None:
    replies = [
        QuickReply(label=f"선택지 {n}번입니다 아주 길게", payload=f"opt-{n}") for n in range(12)
    ]
    pages = skill_pages(message(QuickReplies(text="골라 주세요", replies=replies)))
    [template] = pages.templates
    assert len(template["quickReplies"]) == 10
    # The tap says the whole label; the payload it stands for is the channel's to restore.
    assert template["quickReplies"][0]["messageText"] == "선택지 0번입니다 아주 길게"
    assert pages.reply_payloads["선택지 0번입니다 아주 길게"] == "opt-0"
    assert len(pages.reply_payloads) == 10
    assert all(kakao_length(q["label"]) <= 14 for q in template["quickReplies"])
    assert any("quick replies" in note for note in pages.notes)


def test_a_repeated_quick_reply_label_says_its_payload() -> None:
    pages = skill_pages(
        message(
            QuickReplies(
                replies=[
                    QuickReply(label="예", payload="a"),
                    QuickReply(label="예", payload="b"),
                    QuickReply(label="아니요"),
                ]
            )
        )
    )
    [template] = pages.templates
    assert [q["messageText"] for q in template["quickReplies"]] == ["예", "b", "아니요"]
    assert pages.reply_payloads == {"예": "a"}


def test_quick_replies_alone_still_show_a_bubble() -> None:
    pages = skill_pages(message(QuickReplies(replies=[QuickReply(label="예")])))
    [template] = pages.templates
    assert template["outputs"] and not skill_response_problems(skill_response(template))


def test_the_ack_text_is_a_valid_response() -> None:
    assert skill_response_problems(text_response("가" * 5000)) == []


urls = st.builds(lambda path: f"https://cdn.example.com/{path}", st.text(min_size=1, max_size=300))
parts = st.one_of(
    st.builds(Text, text=st.text(max_size=3000)),
    st.builds(Image, url=urls, caption=st.text(max_size=300)),
    st.builds(File, url=urls, name=st.text(max_size=300)),
    st.builds(Video, url=urls, caption=st.text(max_size=300)),
    st.builds(Link, url=urls, title=st.none() | st.text(max_size=300)),
    st.builds(
        Location,
        lat=st.floats(-90, 90),
        lon=st.floats(-180, 180),
        label=st.none() | st.text(max_size=100),
    ),
    st.builds(Contact, name=st.text(max_size=100), phone=st.text(max_size=30)),
    st.builds(Sticker, sticker_id=st.text(min_size=1), url=st.none() | urls),
    st.builds(
        Buttons,
        buttons=st.lists(st.builds(UrlButton, label=st.text(max_size=40), url=urls), max_size=8),
        text=st.text(max_size=1200),
    ),
    st.builds(
        QuickReplies,
        replies=st.lists(
            st.builds(QuickReply, label=st.text(max_size=40), payload=st.none() | st.text()),
            max_size=14,
        ),
        text=st.text(max_size=300),
    ),
)


cards = st.tuples(
    st.builds(Image, url=urls, caption=st.text(max_size=150)),
    st.builds(
        Buttons,
        buttons=st.lists(
            st.builds(UrlButton, label=st.text(max_size=40), url=urls), min_size=1, max_size=5
        ),
        text=st.text(max_size=150),
    ),
)
messages = st.lists(st.one_of(parts.map(lambda p: [p]), cards.map(list)), max_size=12).map(
    lambda groups: [p for group in groups for p in group]
)


@settings(max_examples=300)
@given(messages)
def test_any_outbound_message_gives_responses_within_every_limit(parts: list[Part]) -> None:
    pages = skill_pages(message(*parts))
    for template in pages.templates:
        assert skill_response_problems(skill_response(template)) == [], template
        json.dumps(template, ensure_ascii=False)
    quick = [q for t in pages.templates for q in t.get("quickReplies", [])]
    assert len(quick) <= 10
    assert all("quickReplies" not in t for t in pages.templates[:-1])
    said = [q["messageText"] for q in quick]
    assert set(pages.reply_payloads) <= set(said)


@given(st.lists(st.sampled_from(list("안녕하세요 고객님 😀👍🏽🇰🇷\n")), max_size=4000).map("".join))
def test_korean_and_emoji_reach_kakao_byte_for_byte(text: str) -> None:
    pages = skill_pages(message(Text(text=text)))
    sent = "".join(o["simpleText"]["text"] for t in pages.templates for o in t["outputs"])
    if text.strip():
        assert text.strip() in sent and sent.encode() in text.encode()
