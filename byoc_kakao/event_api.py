"""Kakao's Event API: reaching chatbot users minutes or hours after they wrote.

```
POST https://bot-api.kakao.com/v2/bots/{botId}/talk
Authorization: KakaoAK {REST API key}
{"event": {"name": "agent_reply", "data": {"text": "…"}},
 "user": [{"type": "botUserKey", "id": "1b2b…"}],
 "params": {"byoc_page": "…"}}
→ {"taskId": "5f76…", "status": "SUCCESS", "timestamp": 1728382106745}
```

The event runs the block whose event name matches; when that block answers with skill data,
Kakao calls the skill for each user, with `params` as `userRequest.params`. SUCCESS means
accepted, not delivered: `GET /v1/tasks/{taskId}` tells what happened (`"ALL SUCCESS"` or
`"<n> FAIL"` with a list of failures). Sources disagree on `/v1/tasks` vs `/v2/tasks`; the
path is a parameter. For a development channel append `!` to the bot id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import attrs
import httpx

from byoc.errors import ConfigurationError, PermanentError
from byoc.http_client import HttpClientSlot
from byoc.upstream import answer_text, raise_for_status, transport_errors

__all__ = [
    "DEFAULT_EVENT_API_URL",
    "MAX_USERS",
    "USER_TYPES",
    "EventApiClient",
    "EventUser",
    "TalkAccepted",
    "TaskFailure",
    "TaskResult",
    "parse_task_result",
    "talk_body",
]

DEFAULT_EVENT_API_URL = "https://bot-api.kakao.com"
MAX_USERS = 100
USER_TYPES = frozenset({"botUserKey", "appUserId", "plusfriendUserKey"})


@attrs.frozen(kw_only=True)
class EventUser:
    """One recipient: `id` of the given `type`; `properties` reach the skill call."""

    id: str
    type: str = "botUserKey"
    properties: Mapping[str, str] = attrs.field(factory=dict)


def talk_body(
    event_name: str,
    users: Sequence[EventUser],
    *,
    data: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The body of an Event API call; `ValueError` when it breaks Kakao's rules.

    Rules: 1 to 100 users, no user twice, types botUserKey / appUserId / plusfriendUserKey.
    """
    if not event_name:
        raise ValueError("the event name must not be empty")
    if not 1 <= len(users) <= MAX_USERS:
        raise ValueError(f"an Event API call takes 1 to {MAX_USERS} users, not {len(users)}")
    seen: set[tuple[str, str]] = set()
    entries = []
    for user in users:
        if user.type not in USER_TYPES:
            raise ValueError(f"unknown Event API user type {user.type!r}")
        if not user.id or (user.type, user.id) in seen:
            raise ValueError(f"empty or repeated user {user.id!r}")
        seen.add((user.type, user.id))
        entry: dict[str, Any] = {"type": user.type, "id": user.id}
        if user.properties:
            entry["properties"] = dict(user.properties)
        entries.append(entry)
    body: dict[str, Any] = {"event": {"name": event_name, "data": dict(data or {})}}
    body["user"] = entries
    if params:
        body["params"] = dict(params)
    return body


@attrs.frozen(kw_only=True)
class TalkAccepted:
    """Kakao accepted an event for delivery (not yet delivered)."""

    task_id: str
    status: str
    timestamp: int | None = None


@attrs.frozen(kw_only=True)
class TaskFailure:
    """One user an event did not reach, and why (`error_type` 201: the skill call failed)."""

    user_id: str | None
    user_type: str | None
    error_type: int | None
    message: str


@attrs.frozen(kw_only=True)
class TaskResult:
    """What became of an Event API task."""

    task_id: str
    status: str
    all_request_count: int = 0
    success_count: int = 0
    fail_count: int = 0
    user_key_resolving_fail_count: int = 0
    failures: tuple[TaskFailure, ...] = ()

    @property
    def succeeded(self) -> bool:
        """Every user got the event."""
        return self.status == "ALL SUCCESS"

    @property
    def finished(self) -> bool:
        """Kakao is done with the task (successfully or not)."""
        return self.succeeded or self.status.endswith("FAIL")


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _optional_text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def parse_task_result(payload: Mapping[str, Any]) -> TaskResult:
    """A task result body, read leniently (missing counts are 0)."""
    fail = payload.get("fail")
    fail = fail if isinstance(fail, dict) else {}
    failures = []
    for item in fail.get("list") or []:
        if not isinstance(item, dict):
            continue
        error = item.get("errorMsg")
        error = error if isinstance(error, dict) else {}
        error_type = error.get("errorType")
        failures.append(
            TaskFailure(
                user_id=_optional_text(item.get("userId")),
                user_type=_optional_text(item.get("reqUserType")),
                error_type=error_type if isinstance(error_type, int) else None,
                message=str(error.get("msg") or ""),
            )
        )
    return TaskResult(
        task_id=str(payload.get("taskId") or ""),
        status=str(payload.get("status") or ""),
        all_request_count=_int(payload.get("allRequestCount")),
        success_count=_int(payload.get("successCount")),
        fail_count=_int(fail.get("count")),
        user_key_resolving_fail_count=_int(payload.get("userKeyResolvingFailCount")),
        failures=tuple(failures),
    )


class EventApiClient:
    """Calls the Event API of one bot.

    ```python
    client = EventApiClient(bot_id="667e…", rest_api_key="…")
    accepted = await client.talk("agent_reply", [EventUser(id=bot_user_key)], params={...})
    result = await client.task(accepted.task_id)
    ```
    """

    def __init__(
        self,
        *,
        bot_id: str,
        rest_api_key: str,
        base_url: str = DEFAULT_EVENT_API_URL,
        http: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        tasks_path: str = "/v1/tasks/{task_id}",
    ) -> None:
        self.bot_id = bot_id
        self.base_url = base_url.rstrip("/")
        self.tasks_path = tasks_path
        self._key = rest_api_key
        self._slot = HttpClientSlot(http, timeout=timeout)
        self._timeout = timeout

    @property
    def http(self) -> httpx.AsyncClient:
        """The HTTP client, created on first use (constructing a channel stays cheap)."""
        return self._slot.client

    async def talk(
        self,
        event_name: str,
        users: Sequence[EventUser],
        *,
        data: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> TalkAccepted:
        """Fire `event_name` for `users`; Kakao runs the event block for each of them."""
        body = talk_body(event_name, users, data=data, params=params)
        url = f"{self.base_url}/v2/bots/{quote(self.bot_id, safe='!')}/talk"
        answer = await self._call("POST", url, body, action="send an event")
        status = str(answer.get("status") or "")
        if status != "SUCCESS":
            raise _refusal(
                status,
                str(answer.get("message") or ""),
                action="send an event",
                secrets=(self._key,),
            )
        timestamp = answer.get("timestamp")
        return TalkAccepted(
            task_id=str(answer.get("taskId") or ""),
            status=status,
            timestamp=timestamp if isinstance(timestamp, int) else None,
        )

    async def task(self, task_id: str) -> TaskResult:
        """What became of an event: delivered to everyone, or who failed and why."""
        path = self.tasks_path.format(task_id=quote(task_id, safe=""))
        answer = await self._call("GET", self.base_url + path, None, action="read a task")
        return parse_task_result(answer)

    async def aclose(self) -> None:
        await self._slot.aclose()

    async def _call(
        self, method: str, url: str, body: Mapping[str, Any] | None, *, action: str
    ) -> dict[str, Any]:
        headers = {"Authorization": f"KakaoAK {self._key}"}
        content = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(body, ensure_ascii=False).encode()
        with transport_errors(
            f"the Kakao Event API call to {action}", url_setting="BYOC_KAKAO_EVENT_API_URL"
        ):
            response = await self.http.request(
                method, url, content=content, headers=headers, timeout=self._timeout
            )
        return _answer(response, action=action, secrets=(self._key,))


def _answer(
    response: httpx.Response, *, action: str, secrets: Sequence[str] = ()
) -> dict[str, Any]:
    try:
        value = response.json()
    except (ValueError, UnicodeDecodeError):
        value = {}
    body: dict[str, Any] = value if isinstance(value, dict) else {}
    status = response.status_code
    if 200 <= status < 300:
        return body  # quote nothing (no redaction pass) for an answer that is not an error
    message = answer_text(str(body.get("message") or body.get("msg") or ""), secrets=secrets)
    if 400 <= status < 500 and status not in (401, 403, 408, 429):
        raise _refusal(f"HTTP {status}", message, action=action)
    raise_for_status(
        response,
        f"the Kakao Event API failed to {action} (HTTP {status}: {message})",
        credentials="check BYOC_KAKAO_REST_API_KEY: the REST API key of the Kakao Developers "
        "app connected to the channel",
    )
    return body


def _refusal(status: str, message: str, *, action: str, secrets: Sequence[str] = ()) -> Exception:
    """The error for Kakao's refusal; what it said is quoted without `secrets` (the REST API
    key) or any other credential."""
    status = answer_text(status, limit=40)
    message = answer_text(message, secrets=secrets)
    text = f"the Kakao Event API refused to {action} ({status}: {message})"
    lowered = message.lower()
    if "bot id" in lowered or "botid" in lowered:
        return ConfigurationError(f"{text}; check BYOC_KAKAO_BOT_ID (chatbot admin center > 설정)")
    # Kakao's wording for an unknown event name is undocumented; any message naming the event
    # most likely means the block's event name and BYOC_KAKAO_EVENT_NAME differ [inferred].
    if "event" in lowered:
        return ConfigurationError(
            f"{text}; check BYOC_KAKAO_EVENT_NAME matches the event name set on a block"
        )
    return PermanentError(text)
