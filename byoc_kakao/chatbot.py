"""The `kakao-chatbot` channel: a KakaoTalk channel's Open Builder chatbot.

Inbound, Kakao calls the bridge as the chatbot's *skill* and needs an answer within 5 seconds,
long before an agent replies; the bridge must therefore run with durable delivery (store,
answer, then reach the help desk), and refuses inline delivery with this channel. Outbound,
there are two ways back to the user:

1. **AI-chatbot callback** (fast path). When the block has callback enabled, the request
   carries a `callbackUrl`; `ack` answers `useCallback: true` and remembers it. An agent reply
   sent within the minute (less a safety margin) is POSTed there, once.
2. **Event API** (any time later). The reply is queued in the store, and an Event API call runs
   the event block for that user; the block calls the skill, and `ack` answers that call with the
   queued reply. One call per page of at most 3 outputs.

Quick replies send their label as the user's utterance; the payloads the labels stand for are
kept in the store for that user until the next reply goes out, so a tap reaches the agent as the
label with its payload (`Text.reply_payload`).

Setup in the chatbot admin center: a skill with the URL from `install`; the fallback and welcome
blocks use that skill's data; a block with the event name (default `agent_reply`) uses it too;
optionally enable the callback on the fallback block.

```python
channel = KakaoChatbotChannel.from_env(os.environ)
channel.bind(store)
result = await channel.install("https://bridge.example.com/channels/kakao-chatbot/webhook")
```
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence

import httpx
from typing_extensions import Self, override

from byoc.channel import Capabilities, Channel, InstallResult, require_setting
from byoc.clock import Clock, SystemClock
from byoc.errors import ConfigurationError, DeliveryError, RequestError, SignatureError
from byoc.media import MediaPart, MediaStream, open_media
from byoc.models import (
    Buttons,
    ChannelEvent,
    Contact,
    File,
    Image,
    InboundMessage,
    Link,
    Location,
    OutboundMessage,
    QuickReplies,
    SendResult,
    Sticker,
    Text,
    Video,
)
from byoc.store.base import Store
from byoc.webhook import WebhookRequest, WebhookResponse, parse_json_object

from .callback import CALLBACK_TTL, CallbackBook, post_callback
from .event_api import DEFAULT_EVENT_API_URL, EventApiClient, EventUser, TaskResult
from .fallback_text import DEFAULT_LABELS, Labels
from .origins import OriginPattern, origin_allowed, parse_origins
from .reply_queue import ReplyQueue
from .shared_secret import HOW_TO_CHOOSE, secret_matches, validate_secret
from .skill_request import PAGE_PARAM, SkillRequest, inbound_parts, parse_skill_request
from .skill_response import (
    MAX_SIMPLE_TEXT,
    SkillPages,
    Template,
    callback_response,
    clip,
    empty_response,
    skill_pages,
    skill_response,
    template_preview,
    text_response,
)

__all__ = [
    "DEFAULT_ACK_TEXT",
    "DEFAULT_CALLBACK_ORIGINS",
    "DEFAULT_CALLBACK_TEXT",
    "DEFAULT_EVENT_NAME",
    "DEFAULT_MEDIA_ORIGINS",
    "DEFAULT_SKILL_SECRET_HEADER",
    "KakaoChatbotChannel",
]

log = logging.getLogger(__name__)

DEFAULT_EVENT_NAME = "agent_reply"
DEFAULT_ACK_TEXT = "메시지를 상담원에게 전달했어요. 답변이 오면 바로 알려 드릴게요."
DEFAULT_CALLBACK_TEXT = "상담원이 확인하고 있어요. 잠시만 기다려 주세요."
DEFAULT_SKILL_SECRET_HEADER = "X-Skill-Secret"
DEFAULT_CALLBACK_ORIGINS = "https://*.kakao.com, https://*.kakaoenterprise.com"
"""Hosts a `callbackUrl` may point at: the bridge POSTs agent replies there."""
DEFAULT_MEDIA_ORIGINS = "https://*.kakaocdn.net, http://*.kakaocdn.net"
"""Hosts whose URLs in an utterance are the user's photos, not text."""


class KakaoChatbotChannel(Channel):
    """KakaoTalk through an Open Builder chatbot (entry point `kakao-chatbot`).

    Skill requests are authenticated by `skill_secret`, sent either as the last URL path
    segment (the URL `install` returns) or in the `X-Skill-Secret` header; passing
    `skill_secret=None` turns that off, loudly. Needs `bind(store)` before `ack` and `send`:
    callback URLs and queued replies live in the store.
    """

    name = "kakao-chatbot"
    capabilities = Capabilities(
        send=frozenset(
            {Text, Image, File, Video, Link, Location, Contact, Sticker, Buttons, QuickReplies}
        ),
        max_text_length=MAX_SIMPLE_TEXT,
        media_urls_expire=True,
        # Kakao waits 5 s for a skill's answer: the bridge refuses inline delivery with this
        # channel, since the answer would then wait for the help desk.
        answer_deadline=5.0,
    )

    settings_prefix = "BYOC_KAKAO_"
    SENT_TTL = 7 * 24 * 3600.0
    """How long a delivered page is remembered, so retries within it skip it."""

    def __init__(
        self,
        *,
        bot_id: str,
        rest_api_key: str,
        skill_secret: str | None,
        event_name: str = DEFAULT_EVENT_NAME,
        event_api_url: str = DEFAULT_EVENT_API_URL,
        event_block_id: str | None = None,
        ack_text: str = DEFAULT_ACK_TEXT,
        callback_text: str = DEFAULT_CALLBACK_TEXT,
        skill_secret_header: str = DEFAULT_SKILL_SECRET_HEADER,
        callback_origins: str | Iterable[str] = DEFAULT_CALLBACK_ORIGINS,
        media_origins: str | Iterable[str] = DEFAULT_MEDIA_ORIGINS,
        callback_margin: float = 5.0,
        queue_ttl: float = 3600.0,
        tasks_path: str = "/v1/tasks/{task_id}",
        labels: Labels = DEFAULT_LABELS,
        clock: Clock | None = None,
        http: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
    ) -> None:
        if skill_secret is None:
            log.warning(
                "kakao-chatbot: skill requests are NOT authenticated (skill_secret=None); "
                "anyone who knows the URL can write to the help desk as any user"
            )
        else:
            validate_secret(skill_secret, setting="BYOC_KAKAO_SKILL_SECRET")
        self.skill_secret = skill_secret
        self.skill_secret_header = skill_secret_header
        self.event_name = event_name
        self.event_block_id = event_block_id
        self.ack_text = ack_text
        self.callback_text = callback_text
        self.callback_origins: tuple[OriginPattern, ...] = parse_origins(callback_origins)
        self.media_origins: tuple[OriginPattern, ...] = parse_origins(media_origins)
        self.callback_margin = callback_margin
        self.queue_ttl = queue_ttl
        self.labels = labels
        self.clock: Clock = clock or SystemClock()
        self._timeout = timeout
        # One client (made on first use unless given) for the Event API and callback POSTs.
        self.events = EventApiClient(
            bot_id=bot_id,
            rest_api_key=rest_api_key,
            base_url=event_api_url,
            http=http,
            timeout=timeout,
            tasks_path=tasks_path,
        )
        self._callbacks: CallbackBook | None = None
        self._queue: ReplyQueue | None = None

    @classmethod
    @override
    def from_env(cls, env: Mapping[str, str]) -> Self:
        """Settings: `BYOC_KAKAO_BOT_ID`, `BYOC_KAKAO_REST_API_KEY`, `BYOC_KAKAO_SKILL_SECRET`
        (required); `BYOC_KAKAO_EVENT_API_URL`, `BYOC_KAKAO_EVENT_NAME`,
        `BYOC_KAKAO_EVENT_BLOCK_ID`, `BYOC_KAKAO_ACK_TEXT`, `BYOC_KAKAO_CALLBACK_TEXT`,
        `BYOC_KAKAO_CALLBACK_ORIGINS`, `BYOC_KAKAO_MEDIA_ORIGINS` (optional)."""

        def optional(key: str, default: str) -> str:
            return env.get(key, "").strip() or default

        try:
            return cls(
                bot_id=require_setting(
                    env,
                    "BYOC_KAKAO_BOT_ID",
                    "the chatbot admin center shows it under 설정 (append '!' to reach the "
                    "development channel)",
                ),
                rest_api_key=require_setting(
                    env,
                    "BYOC_KAKAO_REST_API_KEY",
                    "it is the REST API key of the Kakao Developers app connected to your "
                    "KakaoTalk channel (내 애플리케이션 > 앱 키)",
                ),
                skill_secret=require_setting(
                    env,
                    "BYOC_KAKAO_SKILL_SECRET",
                    "it authenticates Kakao's skill requests (as the skill URL's last path "
                    f"segment or an X-Skill-Secret header set on the skill); {HOW_TO_CHOOSE}",
                ),
                event_api_url=optional("BYOC_KAKAO_EVENT_API_URL", DEFAULT_EVENT_API_URL),
                event_name=optional("BYOC_KAKAO_EVENT_NAME", DEFAULT_EVENT_NAME),
                event_block_id=env.get("BYOC_KAKAO_EVENT_BLOCK_ID", "").strip() or None,
                ack_text=optional("BYOC_KAKAO_ACK_TEXT", DEFAULT_ACK_TEXT),
                callback_text=optional("BYOC_KAKAO_CALLBACK_TEXT", DEFAULT_CALLBACK_TEXT),
                callback_origins=optional("BYOC_KAKAO_CALLBACK_ORIGINS", DEFAULT_CALLBACK_ORIGINS),
                media_origins=optional("BYOC_KAKAO_MEDIA_ORIGINS", DEFAULT_MEDIA_ORIGINS),
            )
        except ValueError as exc:
            raise ConfigurationError(
                f"BYOC_KAKAO_CALLBACK_ORIGINS / BYOC_KAKAO_MEDIA_ORIGINS: {exc}; write them as "
                "comma-separated scheme://host patterns, e.g. https://*.kakao.com"
            ) from None

    @override
    def bind(self, store: Store) -> None:
        super().bind(store)
        self._callbacks = CallbackBook(
            store,
            namespace=self.name,
            clock=self.clock,
            ttl=CALLBACK_TTL,
            margin=self.callback_margin,
        )
        self._queue = ReplyQueue(store, namespace=self.name, clock=self.clock, ttl=self.queue_ttl)

    def _state(self) -> tuple[Store, CallbackBook, ReplyQueue]:
        if self.store is None or self._callbacks is None or self._queue is None:
            raise ConfigurationError(
                "kakao-chatbot keeps callback URLs and queued replies in the store: call "
                "bind(store) first (the Bridge does)"
            )
        return self.store, self._callbacks, self._queue

    # -- inbound -------------------------------------------------------------------------------

    def _authenticate(self, request: WebhookRequest) -> None:
        if self.skill_secret is None:
            return
        by_header = secret_matches(request.header(self.skill_secret_header), self.skill_secret)
        by_path = secret_matches(request.subpath.strip("/") or None, self.skill_secret)
        if not (by_header or by_path):
            raise SignatureError(
                "the skill request carries no valid secret (URL path segment or "
                f"{self.skill_secret_header} header)"
            )

    def _skill(self, request: WebhookRequest) -> SkillRequest:
        return parse_skill_request(parse_json_object(request.body, what="Kakao skill request"))

    def is_event_call(self, skill: SkillRequest) -> bool:
        """Whether the request is the event block fetching queued replies, not a user message.

        Recognised by the `byoc_page` param the Event API call set, or by the event block's id
        when `event_block_id` is configured (in case `params` do not come through).
        """
        if skill.page_id is not None:
            return True
        return self.event_block_id is not None and skill.block_id == self.event_block_id

    @override
    async def parse(self, request: WebhookRequest) -> Sequence[ChannelEvent]:
        self._authenticate(request)
        skill = self._skill(request)
        if self.is_event_call(skill):
            return []
        parts = inbound_parts(skill, self.media_origins)
        if not parts:
            return []
        if parts == (Text(text=skill.utterance),):
            payload = (await self._reply_payloads(skill.user_id)).get(skill.utterance)
            if payload is not None:
                parts = (Text(text=skill.utterance, reply_payload=payload),)
        return [
            InboundMessage(
                channel=self.name,
                user_id=skill.user_id,
                message_id=_message_id(skill),
                parts=parts,
            )
        ]

    # A quick reply sends its messageText as the user's utterance. The payloads those stand for
    # are kept per user while the quick replies show, i.e. until the next reply goes out.

    def _replies_key(self, user_id: str) -> str:
        return f"{self.name}:replies:{user_id}"

    async def _reply_payloads(self, user_id: str) -> dict[str, str]:
        if self.store is None:
            return {}
        try:
            raw = await self.store.get_setting(self._replies_key(user_id))
            value = json.loads(raw) if raw else {}
        except Exception as exc:  # the message goes on without its payload
            log.warning("kakao-chatbot: quick reply payloads unreadable: %s", exc)
            return {}
        if not isinstance(value, dict):
            return {}
        return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}

    async def _remember_replies(self, store: Store, user_id: str, pages: SkillPages) -> None:
        key = self._replies_key(user_id)
        if pages.reply_payloads:
            await store.set_setting(key, json.dumps(dict(pages.reply_payloads), ensure_ascii=False))
        else:
            await store.delete_setting(key)

    @override
    async def ack(self, request: WebhookRequest, events: Sequence[ChannelEvent]) -> WebhookResponse:
        """Answer at once, whatever the help desk does: only the store is touched.

        - event call → the queued page it names (the oldest if it names none), or nothing;
        - a trusted `callbackUrl` → `useCallback` with `callback_text`, the URL remembered;
        - otherwise → `ack_text` as a simpleText.
        """
        _, callbacks, queue = self._state()
        try:
            skill = self._skill(request)
        except RequestError:
            return WebhookResponse.json(text_response(self.ack_text))
        if self.is_event_call(skill) or not (events or skill.utterance.strip()):
            template = await queue.take(skill.user_id, skill.page_id)
            return WebhookResponse.json(skill_response(template) if template else empty_response())
        if skill.callback_url:
            if origin_allowed(skill.callback_url, self.callback_origins):
                await callbacks.remember(skill.user_id, skill.callback_url)
                return WebhookResponse.json(callback_response(self.callback_text))
            log.warning("kakao-chatbot: ignored a callbackUrl on an untrusted host")
        return WebhookResponse.json(text_response(self.ack_text))

    # -- outbound ------------------------------------------------------------------------------

    @override
    async def send(self, user_id: str, message: OutboundMessage) -> SendResult:
        """The reply through the callback when one is still usable, else the Event API.

        Each page is claimed in the store before it goes out and released if it fails, so a
        retry of a half-sent message sends only the rest.
        """
        store, callbacks, queue = self._state()
        pages = skill_pages(message, self.labels)
        notes = list(pages.notes)
        if not pages.templates:
            notes.append("the message had nothing KakaoTalk can show; nothing was sent")
            return SendResult(notes=notes)
        await self._remember_replies(store, user_id, pages)
        ids: list[str] = []
        # A reply queued moments ago may still be on its way through the Event API; a callback
        # reply now could overtake it, so the callback is left unused then.
        callback_tried = await queue.pending(user_id, within=CALLBACK_TTL) > 0
        for index, template in enumerate(pages.templates):
            page_id = _page_id(user_id, message.message_id, index)
            claim = f"{self.name}:sent:{page_id}"
            if not await store.claim(claim, self.SENT_TTL):
                ids.append(page_id)
                continue
            try:
                if not callback_tried:
                    callback_tried = True
                    task_id = await self._via_callback(callbacks, user_id, template)
                    if task_id is not None:
                        ids.append(task_id)
                        continue
                ids.append(await self._via_event(queue, user_id, page_id, template))
            except BaseException:
                await store.release(claim)
                raise
        return SendResult(message_ids=ids, notes=notes)

    async def _via_callback(
        self, callbacks: CallbackBook, user_id: str, template: Template
    ) -> str | None:
        url = await callbacks.take(user_id)
        if url is None:
            return None
        try:
            result = await post_callback(
                self.events.http, url, skill_response(template), timeout=self._timeout
            )
        except DeliveryError as exc:
            # The URL is spent either way; the Event API still reaches the user.
            log.info("kakao-chatbot: callback failed, using the Event API: %s", exc)
            return None
        return result.task_id or "callback"

    async def _via_event(
        self, queue: ReplyQueue, user_id: str, page_id: str, template: Template
    ) -> str:
        await queue.put(user_id, page_id, template)
        try:
            accepted = await self.events.talk(
                self.event_name,
                [EventUser(id=user_id)],
                data={"text": clip(template_preview(template), MAX_SIMPLE_TEXT)},
                params={PAGE_PARAM: page_id},
            )
        except BaseException:
            await queue.discard(user_id, page_id)
            raise
        return accepted.task_id

    async def task_status(self, task_id: str) -> TaskResult:
        """What became of an Event API delivery (`SendResult.message_ids` holds task ids)."""
        return await self.events.task(task_id)

    async def pending_replies(self, user_id: str) -> int:
        """How many pages wait for the user's event block to fetch them."""
        _, _, queue = self._state()
        return await queue.pending(user_id)

    # -- install -------------------------------------------------------------------------------

    @override
    async def install(self, target_url: str) -> InstallResult:
        url = target_url.rstrip("/")
        if self.skill_secret is not None:
            url = f"{url}/{self.skill_secret}"
        instructions = (
            "In the chatbot admin center (chatbot.kakao.com): 스킬 > 생성, paste this URL as the "
            "skill URL. Connect the fallback block and the welcome block to this skill and set "
            "their response to 스킬데이터 사용. Add a block whose event name (이벤트 설정) is "
            f"'{self.event_name}', also answering with this skill's data. Optionally enable "
            "Callback on the fallback block (needs AI chatbot approval). Then deploy (배포). "
            "The URL contains the skill secret: keep it private."
        )
        return InstallResult(target_url=url, registered=False, instructions=instructions)

    @override
    async def fetch_media(self, part: MediaPart, *, max_bytes: int) -> MediaStream:
        """Photos are links on Kakao's CDN (`media_origins`), fetched without credentials."""
        return await open_media(self.events.http, part.url, max_bytes=max_bytes)

    @override
    async def aclose(self) -> None:
        await self.events.aclose()


def _message_id(skill: SkillRequest) -> str:
    """Kakao gives skill requests no message id: the one-time callback URL is unique when
    present; otherwise a random id (Kakao does not retry skill calls, so there is nothing to
    dedupe)."""
    if skill.callback_url:
        return "cb-" + hashlib.sha256(skill.callback_url.encode()).hexdigest()[:32]
    return uuid.uuid4().hex


def _page_id(user_id: str, message_id: str, index: int) -> str:
    digest = hashlib.sha256(f"{user_id}\x00{message_id}".encode()).hexdigest()[:24]
    return f"{digest}-{index}"
