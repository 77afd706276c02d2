"""An emulator of Kakao's Open Builder side: users, skill calls, callbacks and the Event API.

It does what Kakao does for a skill server:

- simulated users (`emulator.user()`, random 66-hex-character botUserKey, 12-character
  plusfriendUserKey, `isFriend: true`) `say` things: each utterance is POSTed to `skill_url` as
  a SkillPayload, with the 5-second timeout enforced and the SkillResponse checked against
  Open Builder's rules; what the user would see is recorded as `Bubble`s;
- photos are utterances holding a signed, expiring CDN-style URL served by the emulator;
- a tapped quick reply (`user.tap(label)`) is its `messageText` as the utterance, with
  `flow.trigger.type` `QUICKREPLY_BUTTON_MESSAGE` and its `extra` as `action.clientExtra`;
- callback mode (`callback=True`): requests carry `callbackUrl` (`{base_url}/callback/<uuid>`),
  a `useCallback: true` answer is accepted, and one POST to that URL within 60 seconds (by the
  injected clock) is shown to the user; a second or late POST fails with "Invalid callback
  token. Check your callback token."; `callback_posts` lists every POST as `(token, status)`;
- the Event API: `POST /v2/bots/{botId}/talk` (also `{botId}!`, the development channel)
  checks `Authorization: KakaoAK <key>` (a request without it is accepted, as in Kakao's own
  curl example), at most 100 unique users and a known event name, answers a task id, then in
  the background calls the skill for each user with the event block and the call's `params`;
  `GET /v1/tasks/{id}` (and `/v2/…`) reports ALL SUCCESS or "<n> FAIL" (errorType 201 when
  the skill failed; unknown users count in `userKeyResolvingFailCount`).

What an event-triggered skill request carries besides the event block and `params` is not
documented; the emulator sends an empty utterance [inferred].
"""

from __future__ import annotations

import asyncio
import json
import secrets
import string
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import attrs
import httpx

from byoc.clock import Clock, SystemClock
from byoc.http_client import HttpClientSlot
from byoc.testing.routing import Request, Response, Router, json_response

from ..event_api import MAX_USERS, USER_TYPES
from .jobs import Jobs
from .media import MediaShelf
from .skill_checks import skill_response_problems

__all__ = [
    "INVALID_TOKEN",
    "Bubble",
    "KakaoUser",
    "OpenBuilderEmulator",
    "SkillExchange",
    "skill_payload",
]

INVALID_TOKEN = "Invalid callback token. Check your callback token."
INVALID_JSON = "Invalid json response from bot-skill."
SKILL_HTTP_ERROR = "Bot skill server responded with an HTTP error."

Via = Literal["skill", "wait", "callback", "event", "error"]


@attrs.frozen(kw_only=True)
class Bubble:
    """Something the user saw, and how it came: the skill's answer, the callback's waiting
    text, the callback, an event, or Kakao's error message when the skill failed."""

    via: Via
    output: Mapping[str, Any]
    quick_replies: tuple[Mapping[str, Any], ...] = ()

    @property
    def text(self) -> str | None:
        simple = self.output.get("simpleText")
        return str(simple["text"]) if isinstance(simple, Mapping) else None


@attrs.frozen(kw_only=True)
class SkillExchange:
    """One skill call: the HTTP status (None: no answer in time), the body, what was wrong
    with it, and the bubbles it produced."""

    status: int | None
    response: Any
    problems: tuple[str, ...] = ()
    callback_url: str | None = None
    bubbles: tuple[Bubble, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == 200 and not self.problems


@attrs.define
class _Callback:
    user_key: str
    issued_at: float
    awaiting: bool = False
    used: bool = False


@attrs.define
class _Task:
    task_id: str
    requested: int
    done: bool = False
    success: int = 0
    resolving_failures: int = 0
    failures: list[dict[str, Any]] = attrs.field(factory=list)

    def as_json(self) -> dict[str, Any]:
        if not self.done:
            # Kakao's wording for a task still running is undocumented [inferred].
            return {"taskId": self.task_id, "status": "PENDING", "allRequestCount": self.requested}
        failed = self.resolving_failures + len(self.failures)
        body: dict[str, Any] = {
            "taskId": self.task_id,
            "status": "ALL SUCCESS" if failed == 0 else f"{failed} FAIL",
            "allRequestCount": self.requested,
            "successCount": self.success,
            "fail": {"count": failed, "list": self.failures},
        }
        if self.resolving_failures:
            body["userKeyResolvingFailCount"] = self.resolving_failures
        return body


def _hex(n: int) -> str:
    return secrets.token_hex((n + 1) // 2)[:n]


def skill_payload(
    *,
    bot: Mapping[str, str],
    user: KakaoUser,
    utterance: str,
    block: Mapping[str, str],
    callback_url: str | None = None,
    params: Mapping[str, Any] | None = None,
    properties: Mapping[str, Any] | None = None,
    trigger: str = "TEXT_INPUT",
    client_extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A SkillPayload as Kakao sends it (shape of a real request logged in 2025).

    `trigger` is `flow.trigger.type` (`QUICKREPLY_BUTTON_MESSAGE` for a tapped quick reply);
    `client_extra` is the tapped button's `extra`, as `action.clientExtra`.
    """
    props: dict[str, Any] = {
        "botUserKey": user.bot_user_key,
        "bot_user_key": user.bot_user_key,
        "plusfriendUserKey": user.plusfriend_user_key,
        "plusfriend_user_key": user.plusfriend_user_key,
    }
    if user.is_friend:
        props["isFriend"] = True
    if user.app_user_id:
        props["appUserId"] = user.app_user_id
        props["app_user_id"] = user.app_user_id
    props.update(properties or {})
    request: dict[str, Any] = {
        "block": dict(block),
        "user": {"id": user.bot_user_key, "type": "botUserKey", "properties": props},
        "utterance": utterance,
        "params": {"surface": "Kakaotalk.plusfriend", **(params or {})},
        "lang": "ko",
        "timezone": "Asia/Seoul",
    }
    if callback_url:
        request["callbackUrl"] = callback_url
    return {
        "bot": dict(bot),
        "intent": {**block, "extra": {"reason": {"code": 1, "message": "OK"}}},
        "action": {
            "id": block["id"],
            "name": "byoc",
            "params": {},
            "detailParams": {},
            "clientExtra": dict(client_extra or {}),
        },
        "userRequest": request,
        "contexts": [],
        "flow": {"lastBlock": dict(block), "trigger": {"type": trigger}},
    }


def _string_field(request: Request, field: str) -> str | None:
    """`field` of a JSON object body when it is a string, else None."""
    try:
        body = request.json()
    except ValueError:
        return None
    value = body.get(field) if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


def _bubble_json(bubble: Bubble) -> dict[str, Any]:
    shown: dict[str, Any] = {"via": bubble.via, "output": dict(bubble.output)}
    if bubble.quick_replies:
        shown["quickReplies"] = [dict(reply) for reply in bubble.quick_replies]
    return shown


def _exchange_json(exchange: SkillExchange) -> dict[str, Any]:
    return {
        "status": exchange.status,
        "problems": list(exchange.problems),
        "bubbles": [_bubble_json(b) for b in exchange.bubbles],
    }


class KakaoUser:
    """A KakaoTalk user talking to the chatbot."""

    def __init__(
        self,
        emulator: OpenBuilderEmulator,
        *,
        bot_user_key: str,
        plusfriend_user_key: str,
        app_user_id: str | None = None,
        is_friend: bool = True,
    ) -> None:
        self.emulator = emulator
        self.bot_user_key = bot_user_key
        self.plusfriend_user_key = plusfriend_user_key
        self.app_user_id = app_user_id
        self.is_friend = is_friend
        self.bubbles: list[Bubble] = []

    async def say(self, text: str) -> SkillExchange:
        """Write `text` to the chatbot; the exchange with the skill."""
        return await self.emulator.utter(self, text)

    async def send_photo(
        self, data: bytes = b"\xff\xd8\xff\xe0fake-jpeg", *, content_type: str = "image/jpeg"
    ) -> SkillExchange:
        """Send a photo: KakaoTalk puts its signed CDN URL in the utterance."""
        name = f"i_{_hex(12)}.jpg"
        url = self.emulator.media.put(data, name=name, content_type=content_type)
        return await self.emulator.utter(self, url)

    @property
    def quick_replies(self) -> tuple[Mapping[str, Any], ...]:
        """The quick replies shown: the last bubble's, if any."""
        return self.bubbles[-1].quick_replies if self.bubbles else ()

    async def tap(self, label: str) -> SkillExchange:
        """Tap the quick reply labelled `label`: its `messageText` becomes the utterance (trigger
        `QUICKREPLY_BUTTON_MESSAGE`, the reply's `extra` as `clientExtra`).

        Raises `LookupError` when no quick reply shown has that label.
        """
        for reply in self.quick_replies:
            if reply.get("label") == label and reply.get("action") == "message":
                extra = reply.get("extra")
                return await self.emulator.utter(
                    self,
                    str(reply.get("messageText") or label),
                    trigger="QUICKREPLY_BUTTON_MESSAGE",
                    client_extra=extra if isinstance(extra, Mapping) else None,
                )
        shown = [reply.get("label") for reply in self.quick_replies]
        raise LookupError(f"no quick reply {label!r} is shown (shown: {shown})")

    @property
    def texts(self) -> list[str]:
        """The simpleText bubbles the user saw, in order."""
        return [b.text for b in self.bubbles if b.text is not None and b.via != "error"]


class OpenBuilderEmulator:
    """Kakao's chatbot side, as one ASGI app (`emulator.app`)."""

    def __init__(
        self,
        *,
        bot_id: str | None = None,
        bot_name: str = "TestChatBot",
        rest_api_key: str = "test-rest-api-key",
        event_names: Iterable[str] = ("agent_reply",),
        skill_url: str | None = None,
        skill_headers: Mapping[str, str] | None = None,
        callback: bool = True,
        callback_ttl: float = 60.0,
        skill_timeout: float = 5.0,
        base_url: str = "http://openbuilder.test",
        clock: Clock | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.bot = {"id": bot_id or _hex(24), "name": bot_name}
        self.rest_api_key = rest_api_key
        self.skill_url = skill_url
        self.skill_headers = dict(skill_headers or {})
        self.callback = callback
        self.callback_ttl = callback_ttl
        self.skill_timeout = skill_timeout
        self.clock: Clock = clock or SystemClock()
        self.media = MediaShelf(base_url=base_url, clock=self.clock)
        self.fallback_block = {"id": _hex(24), "name": "폴백 블록"}
        self.event_blocks = {name: {"id": _hex(24), "name": f"{name} 블록"} for name in event_names}
        self.users: dict[str, KakaoUser] = {}
        self.tasks: dict[str, _Task] = {}
        self.event_calls: list[dict[str, Any]] = []
        self.callback_posts: list[tuple[str, str]] = []
        self._callbacks: dict[str, _Callback] = {}
        self._http = HttpClientSlot(
            http, factory=lambda: httpx.AsyncClient(timeout=self.skill_timeout)
        )
        self._jobs = Jobs()
        self.app = self._router()

    @property
    def bot_id(self) -> str:
        return self.bot["id"]

    @property
    def http(self) -> httpx.AsyncClient:
        """The client webhooks/skill calls go out with (settable, e.g. to an ASGI transport)."""
        return self._http.client

    @http.setter
    def http(self, client: httpx.AsyncClient) -> None:
        self._http.replace(client)

    @property
    def base_url(self) -> str:
        return self.media.base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        self.media.base_url = value.rstrip("/")

    # -- test controls -------------------------------------------------------------------------

    def user(
        self,
        bot_user_key: str | None = None,
        *,
        app_user_id: str | None = None,
        is_friend: bool = True,
    ) -> KakaoUser:
        """A simulated user (the same object again for a known key)."""
        key = bot_user_key or _hex(66)
        if key not in self.users:
            alphabet = string.ascii_letters + string.digits
            self.users[key] = KakaoUser(
                self,
                bot_user_key=key,
                plusfriend_user_key="".join(secrets.choice(alphabet) for _ in range(12)),
                app_user_id=app_user_id,
                is_friend=is_friend,
            )
        return self.users[key]

    async def drain(self) -> None:
        """Wait until every accepted event has been run (skill calls made, tasks finished)."""
        await self._jobs.drain()

    async def aclose(self) -> None:
        await self._jobs.cancel()
        await self._http.aclose()

    # -- skill calls ---------------------------------------------------------------------------

    async def _call_skill(
        self, payload: dict[str, Any], *, allow_empty: bool
    ) -> tuple[int | None, Any, list[str]]:
        if not self.skill_url:
            raise RuntimeError("OpenBuilderEmulator.skill_url is not set")
        headers = {
            "Content-Type": "application/json;charset=UTF-8",
            "Accept": "application/json",
            **self.skill_headers,
        }
        content = json.dumps(payload, ensure_ascii=False).encode()
        try:
            response = await asyncio.wait_for(
                self.http.post(self.skill_url, content=content, headers=headers),
                self.skill_timeout,
            )
        except asyncio.TimeoutError:
            return None, None, [f"the skill did not answer within {self.skill_timeout:g} s"]
        except httpx.HTTPError as exc:
            return None, None, [f"the skill could not be reached: {exc!r}"]
        if response.status_code != 200:
            return response.status_code, None, [f"the skill answered HTTP {response.status_code}"]
        try:
            body = response.json()
        except (ValueError, UnicodeDecodeError):
            return 200, None, ["the skill's answer is not JSON"]
        return 200, body, skill_response_problems(body, allow_empty=allow_empty)

    @staticmethod
    def _bubbles(via: Via, template: Mapping[str, Any]) -> list[Bubble]:
        outputs = list(template.get("outputs") or [])
        replies = tuple(template.get("quickReplies") or ())
        return [
            Bubble(via=via, output=o, quick_replies=replies if n == len(outputs) - 1 else ())
            for n, o in enumerate(outputs)
        ]

    async def utter(
        self,
        user: KakaoUser,
        utterance: str,
        *,
        trigger: str = "TEXT_INPUT",
        client_extra: Mapping[str, Any] | None = None,
    ) -> SkillExchange:
        """Deliver an utterance to the skill as Kakao would, and record what the user sees."""
        callback_url = None
        token = None
        if self.callback:
            token = str(uuid.uuid4())
            callback_url = f"{self.base_url}/callback/{token}"
            self._callbacks[token] = _Callback(user.bot_user_key, issued_at=self.clock.time())
        payload = skill_payload(
            bot=self.bot,
            user=user,
            utterance=utterance,
            block=self.fallback_block,
            callback_url=callback_url,
            trigger=trigger,
            client_extra=client_extra,
        )
        status, body, problems = await self._call_skill(payload, allow_empty=False)
        bubbles: list[Bubble] = []
        if not problems and body.get("useCallback") is True:
            if token is None:
                problems = ["useCallback answered, but the block has no callback enabled"]
            else:
                self._callbacks[token].awaiting = True
                data = body.get("data") or {}
                wait = str(data.get("text") or "잠시만 기다려 주세요.")
                bubbles.append(Bubble(via="wait", output={"simpleText": {"text": wait}}))
        elif not problems:
            bubbles.extend(self._bubbles("skill", body["template"]))
        if problems:
            error = "; ".join(problems)
            bubbles.append(Bubble(via="error", output={"simpleText": {"text": error}}))
        user.bubbles.extend(bubbles)
        return SkillExchange(
            status=status,
            response=body,
            problems=tuple(problems),
            callback_url=callback_url,
            bubbles=tuple(bubbles),
        )

    # -- the API -------------------------------------------------------------------------------

    def _router(self) -> Router:
        router = Router()
        router.route("POST", "/callback/{token}")(self._callback)
        router.route("POST", "/v2/bots/{bot_id}/talk")(self._talk)
        router.route("GET", "/v1/tasks/{task_id}")(self._task)
        router.route("GET", "/v2/tasks/{task_id}")(self._task)
        router.route("POST", "/_emulator/users/{key}/say")(self._control_say)
        router.route("POST", "/_emulator/users/{key}/tap")(self._control_tap)
        router.route("GET", "/_emulator/users/{key}/bubbles")(self._control_bubbles)
        router.route("PUT", "/_emulator/skill")(self._control_skill)
        router.route("POST", "/_emulator/drain")(self._control_drain)
        self.media.mount(router)
        router.on_shutdown.append(self.aclose)
        return router

    def _timestamp(self) -> int:
        return int(self.clock.time() * 1000)

    async def _callback(self, request: Request) -> Response:
        token = request.params["token"]
        status, message = self._use_callback(token, request)
        self.callback_posts.append((token, status))
        body = {
            "taskId": str(uuid.uuid4()),
            "status": status,
            "message": message,
            "timestamp": self._timestamp(),
        }
        return json_response(body, 200 if status == "SUCCESS" else 400)

    def _use_callback(self, token: str, request: Request) -> tuple[str, str]:
        """Kakao's verdict on one callback POST (`status`, `message`); shows it on success."""
        record = self._callbacks.get(token)
        if record is None or record.used or not record.awaiting:
            return "FAIL", INVALID_TOKEN
        record.used = True
        if self.clock.time() - record.issued_at > self.callback_ttl:
            return "FAIL", INVALID_TOKEN
        try:
            body = request.json()
        except ValueError:
            return "FAIL", INVALID_JSON
        if skill_response_problems(body):
            return "FAIL", INVALID_JSON
        user = self.users.get(record.user_key)
        if user is not None:
            user.bubbles.extend(self._bubbles("callback", body["template"]))
        return "SUCCESS", "OK"

    def _auth_problem(self, request: Request) -> Response | None:
        header = request.headers.get("authorization")
        if header is None:
            return None
        scheme, _, key = header.partition(" ")
        if scheme not in ("KakaoAK", "KakaoBK") or key.strip() != self.rest_api_key:
            return json_response({"code": -401, "msg": "wrong appKey format or unknown key"}, 401)
        return None

    def _fail(self, message: str, code: int = 400) -> Response:
        return json_response({"status": "FAIL", "message": message}, code)

    async def _talk(self, request: Request) -> Response:
        if (refusal := self._auth_problem(request)) is not None:
            return refusal
        if request.params["bot_id"].removesuffix("!") != self.bot_id:
            return self._fail("Invalid bot ID. Check your Bot ID.")
        try:
            body = request.json()
        except ValueError:
            return self._fail("the body is not JSON")
        if not isinstance(body, dict):
            return self._fail("the body is not a JSON object")
        event = body.get("event")
        name = event.get("name") if isinstance(event, dict) else None
        if name not in self.event_blocks:
            return self._fail(f"no block has the event name {name!r}")
        users = body.get("user")
        if not isinstance(users, list) or not 1 <= len(users) <= MAX_USERS:
            return self._fail(f"user must list 1 to {MAX_USERS} users")
        seen = set()
        for entry in users:
            if not isinstance(entry, dict) or entry.get("type") not in USER_TYPES:
                return self._fail(
                    "every user needs a type (botUserKey|appUserId|plusfriendUserKey)"
                )
            if not isinstance(entry.get("id"), str) or (entry["type"], entry["id"]) in seen:
                return self._fail("every user needs an id, and no user may repeat")
            seen.add((entry["type"], entry["id"]))
        raw_params = body.get("params")
        params: dict[str, Any] = raw_params if isinstance(raw_params, dict) else {}
        self.event_calls.append(body)
        task = _Task(task_id=str(uuid.uuid4()), requested=len(users))
        self.tasks[task.task_id] = task
        self._jobs.spawn(self._run_event(task, str(name), users, params))
        return json_response(
            {"taskId": task.task_id, "status": "SUCCESS", "timestamp": self._timestamp()}
        )

    def _resolve(self, kind: str, key: str) -> KakaoUser | None:
        for user in self.users.values():
            own = {
                "botUserKey": user.bot_user_key,
                "plusfriendUserKey": user.plusfriend_user_key,
                "appUserId": user.app_user_id,
            }[kind]
            if own == key and user.is_friend:
                return user
        return None

    async def _run_event(
        self, task: _Task, name: str, users: list[dict[str, Any]], params: Mapping[str, Any]
    ) -> None:
        for entry in users:
            user = self._resolve(entry["type"], entry["id"])
            if user is None:
                task.resolving_failures += 1
                continue
            properties = (
                entry.get("properties") if isinstance(entry.get("properties"), dict) else {}
            )
            payload = skill_payload(
                bot=self.bot,
                user=user,
                utterance="",
                block=self.event_blocks[name],
                params=params,
                properties=properties,
            )
            status, body, problems = await self._call_skill(payload, allow_empty=True)
            if problems or body.get("useCallback") is True:
                task.failures.append(
                    {
                        "userId": entry["id"],
                        "reqUserType": entry["type"],
                        "createdAt": int(self.clock.time()),
                        "errorMsg": {
                            "errorType": 201,
                            "msg": SKILL_HTTP_ERROR if status != 200 else INVALID_JSON,
                        },
                    }
                )
                continue
            user.bubbles.extend(self._bubbles("event", body["template"]))
            task.success += 1
        task.done = True

    async def _task(self, request: Request) -> Response:
        if (refusal := self._auth_problem(request)) is not None:
            return refusal
        task = self.tasks.get(request.params["task_id"])
        if task is None:
            return self._fail("task not found", 404)
        return json_response(task.as_json())

    # -- control endpoints for `byoc emulate kakao-chatbot` ------------------------------------

    async def _control_say(self, request: Request) -> Response:
        text = _string_field(request, "text")
        if text is None:
            return json_response({"error": "expected {text}"}, 400)
        exchange = await self.user(request.params["key"]).say(text)
        return json_response(_exchange_json(exchange))

    async def _control_tap(self, request: Request) -> Response:
        label = _string_field(request, "label")
        if label is None:
            return json_response({"error": "expected {label}"}, 400)
        try:
            exchange = await self.user(request.params["key"]).tap(label)
        except LookupError as exc:
            return json_response({"error": str(exc)}, 409)
        return json_response(_exchange_json(exchange))

    async def _control_bubbles(self, request: Request) -> Response:
        user = self.users.get(request.params["key"])
        bubbles = [] if user is None else user.bubbles
        return json_response([_bubble_json(b) for b in bubbles])

    async def _control_skill(self, request: Request) -> Response:
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("url"), str):
            return json_response({"error": "expected {url, headers?}"}, 400)
        self.skill_url = body["url"]
        self.skill_headers = {str(k): str(v) for k, v in (body.get("headers") or {}).items()}
        return json_response({"ok": True})

    async def _control_drain(self, request: Request) -> Response:
        """Answer once all background work (deliveries, events) is done."""
        await self.drain()
        return json_response({"ok": True})
