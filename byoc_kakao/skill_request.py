"""Reading an Open Builder skill request (Kakao → skill server).

A real request, trimmed:

```json
{"bot": {"id": "67a9…", "name": "TestImbuChatBot"},
 "intent": {"id": "67a9…", "name": "폴백 블록"},
 "action": {"id": "…", "name": "kakaobot", "params": {}, "detailParams": {}, "clientExtra": {}},
 "userRequest": {"block": {"id": "67a9…", "name": "폴백 블록"},
   "user": {"id": "1b2b…", "type": "botUserKey",
            "properties": {"botUserKey": "1b2b…", "isFriend": true, "plusfriendUserKey": "OL1x…"}},
   "utterance": "생각 다 끝났나요?", "params": {"surface": "Kakaotalk.plusfriend"},
   "callbackUrl": "https://…", "lang": "ko", "timezone": "Asia/Seoul"}}
```

Kakao asks skill servers to tolerate unknown fields, and real traffic mixes camelCase and
snake_case user properties, so parsing is lenient about everything but the user's id. A photo
arrives as a signed CDN URL in the utterance; an image plugin passes CDN URLs as action
parameters instead. Files are not delivered to skills at all.

Fields are length-bounded (`byoc.bounds`): the user id (256 characters), the utterance (20,000)
and the callback URL (8,192) refuse the request when over; an optional field over its bound is
dropped, and a media URL over 8,192 characters is not taken for one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from byoc.bounds import MAX_ID, MAX_NAME, MAX_URL, bounded, fits
from byoc.errors import MalformedPayload
from byoc.models import Image, Part, Text, Video

from .origins import OriginPattern, origin_allowed

__all__ = [
    "MAX_UTTERANCE",
    "PAGE_PARAM",
    "SkillRequest",
    "inbound_parts",
    "parse_skill_request",
]

PAGE_PARAM = "byoc_page"
"""Event API `params` key naming the queued reply an event-triggered skill call should return;
Kakao hands `params` to that call as `userRequest.params`."""

MAX_UTTERANCE = 20_000
"""The longest utterance accepted: well over what a KakaoTalk message holds [inferred]."""

_WHAT = "Kakao skill request"
_URL = re.compile(r"https?://[^\s,()\"'<>\[\]{}]+")
_MAX_TYPE = 64
_VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".3gp", ".webm")


@attrs.frozen(kw_only=True)
class SkillRequest:
    """What the bridge uses from one skill request.

    `user_id` is the botUserKey (it differs per bot). `params` are `userRequest.params`
    (where Event API `params` arrive); `callback_url` is present only on callback-enabled
    blocks and may be used once, within a minute.
    """

    user_id: str
    user_type: str = "botUserKey"
    plusfriend_user_key: str | None = None
    app_user_id: str | None = None
    is_friend: bool = False
    utterance: str = ""
    callback_url: str | None = None
    block_id: str | None = None
    block_name: str | None = None
    params: Mapping[str, Any] = attrs.field(factory=dict)
    action_params: Mapping[str, Any] = attrs.field(factory=dict)
    client_extra: Mapping[str, Any] = attrs.field(factory=dict)
    group_id: str | None = None

    @property
    def page_id(self) -> str | None:
        """The queued reply this event-triggered call asks for, if it is one."""
        value = self.params.get(PAGE_PARAM)
        return value if isinstance(value, str) and value and fits(value, MAX_ID) else None


def _object(container: Mapping[str, Any], key: str, *, required: bool = False) -> dict[str, Any]:
    value = container.get(key)
    if value is None:
        if required:
            raise MalformedPayload(f"{_WHAT}: {key} is missing")
        return {}
    if not isinstance(value, dict):
        raise MalformedPayload(f"{_WHAT}: {key} must be an object")
    return value


def _text(value: Any, limit: int = MAX_NAME) -> str | None:
    """An optional string (or number) field; None when missing, odd, or over `limit`."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**18:
        return str(value)
    if isinstance(value, str) and value and fits(value, limit):
        return value
    return None


def _user_id(user: Mapping[str, Any], props: Mapping[str, Any]) -> str:
    for value in (user.get("id"), props.get("botUserKey"), props.get("bot_user_key")):
        if isinstance(value, str) and value:
            return bounded(value, MAX_ID, f"{_WHAT}: userRequest.user.id")
        if isinstance(value, int) and not isinstance(value, bool):
            return bounded(str(value), MAX_ID, f"{_WHAT}: userRequest.user.id")
    raise MalformedPayload(f"{_WHAT}: userRequest.user.id is missing")


def parse_skill_request(payload: Mapping[str, Any]) -> SkillRequest:
    """The skill request in a decoded JSON body; `MalformedPayload` if it has no user id."""
    request = _object(payload, "userRequest", required=True)
    user = _object(request, "user", required=True)
    props = _object(user, "properties")
    user_id = _user_id(user, props)
    utterance = request.get("utterance")
    if utterance is not None and not isinstance(utterance, str):
        raise MalformedPayload(f"{_WHAT}: userRequest.utterance must be a string")
    if utterance is not None:
        bounded(utterance, MAX_UTTERANCE, f"{_WHAT}: userRequest.utterance")
    callback = request.get("callbackUrl")
    if callback is not None and not isinstance(callback, str):
        raise MalformedPayload(f"{_WHAT}: userRequest.callbackUrl must be a string")
    if callback is not None:
        bounded(callback, MAX_URL, f"{_WHAT}: userRequest.callbackUrl")
    block = _object(request, "block") or _object(payload, "intent")
    action = _object(payload, "action")
    chat = _object(request, "chat")
    return SkillRequest(
        user_id=user_id,
        user_type=_text(user.get("type"), _MAX_TYPE) or "botUserKey",
        plusfriend_user_key=_text(props.get("plusfriendUserKey"), MAX_ID)
        or _text(props.get("plusfriend_user_key"), MAX_ID),
        app_user_id=_text(props.get("appUserId"), MAX_ID)
        or _text(props.get("app_user_id"), MAX_ID),
        is_friend=props.get("isFriend") is True,
        utterance=utterance or "",
        callback_url=callback or None,
        block_id=_text(block.get("id"), MAX_ID),
        block_name=_text(block.get("name")),
        params=_object(request, "params"),
        action_params=_object(action, "params"),
        client_extra=_object(action, "clientExtra"),
        group_id=_text(chat.get("id"), MAX_ID),
    )


def _media_part(url: str) -> Part:
    path = urlsplit(url).path.lower()
    return Video(url=url) if path.endswith(_VIDEO_SUFFIXES) else Image(url=url)


def _strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON value (iteratively: nesting depth is the sender's choice)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))


def inbound_parts(
    request: SkillRequest, media_origins: Iterable[OriginPattern]
) -> tuple[Part, ...]:
    """The message parts the user sent: media for CDN URLs on `media_origins`, else the text.

    The utterance stays byte-for-byte what the user typed unless every word of it is a media
    URL (how KakaoTalk delivers photos). Media URLs in action parameters (an image plugin) are
    added after it.
    """
    origins = tuple(media_origins)
    parts: list[Part] = []
    seen: set[str] = set()
    words = request.utterance.split()
    if words and all(fits(w, MAX_URL) and origin_allowed(w, origins) for w in words):
        for word in words:
            if word not in seen:
                seen.add(word)
                parts.append(_media_part(word))
    elif request.utterance.strip():
        parts.append(Text(text=request.utterance))
    for value in _strings(dict(request.action_params)):
        for url in _URL.findall(value):
            if url not in seen and fits(url, MAX_URL) and origin_allowed(url, origins):
                seen.add(url)
                parts.append(_media_part(url))
    return tuple(parts)
