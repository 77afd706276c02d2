"""The emulator's `/_emulator/...` control endpoints: play Telegram's users from another process.

Bodies are JSON objects; `user_id` is a user's (and their chat's) integer id.

- `POST /_emulator/users` `{"first_name", "last_name", "username", "language_code", "id"}`: a
  new user (201, with its `id`); `GET /_emulator/users` lists them.
- `POST /_emulator/send` `{"user_id", ...}` and one of: `"text"`; `"kind"` (`photo`,
  `document`, `video`, `voice`, `audio`, `sticker`) with `"data_base64"` and optionally
  `"caption"`, `"file_name"`, `"mime_type"`, `"emoji"`, `"animated"`, `"thumbnail_base64"`;
  or `"message"`, raw `Message` fields (`location`, `contact`, `venue`, `poll`, ...). Answers
  the update.
- `POST /_emulator/edit` `{"user_id", "message_id", "text"}`: the user edits a message.
- `POST /_emulator/block`, `/_emulator/unblock` `{"user_id"}`: `my_chat_member` updates; a
  blocked user's chat answers 403.
- `POST /_emulator/tap` `{"user_id", "text"}`: the user taps a button (409 when none shows).
- `POST /_emulator/redeliver` `{"update_id"}`: post an update again, as Telegram retries.
- `GET /_emulator/sent[?user_id=]`: what the bot sent; `GET /_emulator/deliveries`: every
  update and its attempts; `GET /_emulator/callback-answers`: `answerCallbackQuery` calls.
- `POST /_emulator/faults` `{"method", "error_code", "description", "retry_after", "times"}`:
  the next calls of a method fail so (429 with `parameters.retry_after`, 403, 5xx, ...);
  `DELETE /_emulator/faults` clears them.
- `GET /_emulator/webhook`: the webhook set; `POST /_emulator/drain`: answers once every
  delivery in flight is done.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from byoc.testing.routing import Request, Response, Router, json_response

from .users import SentMessage, TelegramUser
from .webhook import Delivery, Webhook

__all__ = ["Controlled", "add_control_routes"]

_PROFILE = ("first_name", "last_name", "username", "language_code", "id")


def _error(message: str, status: int = 400) -> Response:
    return json_response({"error": message}, status)


def _body(request: Request) -> dict[str, Any] | None:
    try:
        body = json.loads(request.body) if request.body.strip() else {}
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _bytes(value: Any) -> bytes:
    if not isinstance(value, str):
        raise ValueError("data_base64 must be base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise ValueError("data_base64 is not base64") from None


class Controlled(Protocol):
    """What the control routes drive (`TelegramEmulator` is one)."""

    users: dict[int, TelegramUser]
    sent: list[SentMessage]
    webhook: Webhook | None
    callback_answers: list[dict[str, Any]]

    @property
    def deliveries(self) -> list[Delivery]: ...

    def user(
        self,
        first_name: str = ...,
        *,
        last_name: str | None = ...,
        username: str | None = ...,
        language_code: str | None = ...,
        id: int | None = ...,
    ) -> TelegramUser: ...

    def sent_to(self, chat_id: int) -> list[SentMessage]: ...

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str | None = None,
        *,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None: ...

    def clear_faults(self) -> None: ...

    async def send_text(self, user: TelegramUser, text: str) -> dict[str, Any]: ...

    async def send_media(
        self, user: TelegramUser, kind: str, data: bytes, *, caption: str = ..., **options: Any
    ) -> dict[str, Any]: ...

    async def user_sends(self, user: TelegramUser, content: dict[str, Any]) -> dict[str, Any]: ...

    async def edit(self, user: TelegramUser, message_id: int, text: str) -> dict[str, Any]: ...

    async def block(self, user: TelegramUser) -> dict[str, Any]: ...

    async def unblock(self, user: TelegramUser) -> dict[str, Any]: ...

    async def tap(self, user: TelegramUser, text: str) -> dict[str, Any]: ...

    async def redeliver(self, update_id: int) -> dict[str, Any]: ...

    async def drain(self) -> None: ...


UserHandler = Callable[[dict[str, Any], TelegramUser], Awaitable[Response]]


def add_control_routes(router: Router, emulator: Controlled) -> None:
    """Register the control endpoints of `emulator` on `router`."""

    def for_user(path: str) -> Callable[[UserHandler], UserHandler]:
        """Serve `POST path` with a handler of the body and the user its `user_id` names."""

        def register(handler: UserHandler) -> UserHandler:
            async def endpoint(request: Request) -> Response:
                body = _body(request)
                user_id = body.get("user_id") if body is not None else None
                user = emulator.users.get(user_id) if isinstance(user_id, int) else None
                if body is None or user is None:
                    return _error("no user with that 'user_id' (an integer)", 404)
                return await handler(body, user)

            router.route("POST", path)(endpoint)
            return handler

        return register

    @router.route("POST", "/_emulator/users")
    async def create_user(request: Request) -> Response:
        body = _body(request)
        if body is None:
            return _error("the body must be a JSON object")
        profile = {k: body[k] for k in _PROFILE if k in body}
        if not isinstance(profile.setdefault("first_name", "Alice"), str):
            return _error("first_name must be a string")
        if not isinstance(profile.get("id", 0), int):
            return _error("id must be an integer")
        return json_response(emulator.user(**profile).as_json(), 201)

    @router.route("GET", "/_emulator/users")
    async def list_users(request: Request) -> Response:
        return json_response(
            [u.as_json() | {"blocked": u.blocked} for u in emulator.users.values()]
        )

    @for_user("/_emulator/send")
    async def user_sends(body: dict[str, Any], user: TelegramUser) -> Response:
        try:
            if isinstance(body.get("text"), str):
                update = await emulator.send_text(user, body["text"])
            elif isinstance(body.get("kind"), str):
                thumbnail = body.get("thumbnail_base64")
                update = await emulator.send_media(
                    user,
                    body["kind"],
                    _bytes(body.get("data_base64")),
                    caption=str(body.get("caption") or ""),
                    file_name=body.get("file_name") or None,
                    mime_type=body.get("mime_type") or None,
                    emoji=str(body.get("emoji") or "👍"),
                    animated=body.get("animated") is True,
                    thumbnail=_bytes(thumbnail) if thumbnail is not None else None,
                )
            elif isinstance(body.get("message"), dict):
                update = await emulator.user_sends(user, body["message"])
            else:
                return _error("give 'text', 'kind' with 'data_base64', or 'message'")
        except ValueError as exc:
            return _error(str(exc))
        return json_response(update)

    @for_user("/_emulator/edit")
    async def edit(body: dict[str, Any], user: TelegramUser) -> Response:
        message_id, text = body.get("message_id"), body.get("text")
        if not isinstance(message_id, int) or not isinstance(text, str):
            return _error("'message_id' (an integer) and 'text' are required")
        try:
            return json_response(await emulator.edit(user, message_id, text))
        except LookupError as exc:
            return _error(str(exc), 404)

    @for_user("/_emulator/block")
    async def block(body: dict[str, Any], user: TelegramUser) -> Response:
        return json_response(await emulator.block(user))

    @for_user("/_emulator/unblock")
    async def unblock(body: dict[str, Any], user: TelegramUser) -> Response:
        return json_response(await emulator.unblock(user))

    @for_user("/_emulator/tap")
    async def tap(body: dict[str, Any], user: TelegramUser) -> Response:
        if not isinstance(body.get("text"), str):
            return _error("'text' must name a button the user sees")
        try:
            return json_response(await emulator.tap(user, body["text"]))
        except LookupError as exc:
            return _error(str(exc), 409)

    @router.route("POST", "/_emulator/redeliver")
    async def redeliver(request: Request) -> Response:
        body = _body(request) or {}
        update_id = body.get("update_id")
        try:
            if not isinstance(update_id, int):
                raise LookupError("'update_id' (an integer) is required")
            return json_response(await emulator.redeliver(update_id))
        except LookupError as exc:
            return _error(str(exc), 404)

    @router.route("GET", "/_emulator/sent")
    async def sent(request: Request) -> Response:
        user_id = request.query.get("user_id", "")
        chosen = emulator.sent_to(int(user_id)) if user_id.lstrip("-").isdigit() else emulator.sent
        return json_response([m.as_json() for m in chosen])

    @router.route("GET", "/_emulator/deliveries")
    async def deliveries(request: Request) -> Response:
        return json_response(
            [
                {
                    "update": d.update,
                    "attempts": d.attempts,
                    "delivered": d.delivered,
                    "gave_up": d.gave_up,
                }
                for d in emulator.deliveries
            ]
        )

    @router.route("GET", "/_emulator/callback-answers")
    async def callback_answers(request: Request) -> Response:
        return json_response(emulator.callback_answers)

    @router.route("POST", "/_emulator/faults")
    async def add_fault(request: Request) -> Response:
        body = _body(request) or {}
        method, code = body.get("method"), body.get("error_code")
        if not isinstance(method, str) or not isinstance(code, int):
            return _error("'method' and 'error_code' (an integer) are required")
        retry_after, times = body.get("retry_after"), body.get("times", 1)
        emulator.fail_next(
            method,
            code,
            body.get("description") if isinstance(body.get("description"), str) else None,
            retry_after=retry_after if isinstance(retry_after, int) else None,
            times=times if isinstance(times, int) else 1,
        )
        return json_response({"ok": True}, 201)

    @router.route("DELETE", "/_emulator/faults")
    async def clear_faults(request: Request) -> Response:
        emulator.clear_faults()
        return json_response({"ok": True})

    @router.route("GET", "/_emulator/webhook")
    async def webhook(request: Request) -> Response:
        hook = emulator.webhook
        if hook is None:
            return json_response({"url": None, "secret_set": False, "allowed_updates": []})
        return json_response(
            {
                "url": hook.url,
                "secret_set": hook.secret is not None,
                "allowed_updates": list(hook.allowed_updates),
            }
        )

    @router.route("POST", "/_emulator/drain")
    async def drain(request: Request) -> Response:
        await emulator.drain()
        return json_response({"ok": True})
