"""Control endpoints under `/_emulator`: play the agent, read state, arm faults, route webhooks.

They let a test in another process, a benchmark or the demo drive the emulator over HTTP, as
the Python methods of `EmulatorHost` do in process. They need no token unless the emulator
was made with `control_token=...`; then `Authorization: Bearer <control_token>`. Bodies are
JSON (an empty body means `{}`); errors use Chatwoot's `{"error": ...}`.

- `GET /_emulator/inbox`: `{"id", "webhook_url", "signing", "secret", "hmac_token",
  "greeting_message", "lock_to_single_conversation"}`; paste `secret` into the bridge.
- `PUT /_emulator/inbox` with any of `webhook_url`, `signing` (`secret`, `hmac_token`,
  `unsigned`), `greeting_message`, `lock_to_single_conversation`: answers as GET.
- `GET /_emulator/webhooks`: `{"pending", "attempts": [...]}` (the last 100 attempts).
- `POST /_emulator/drain`: answers `{"pending": 0}` once every delivery has finished.
- `GET /_emulator/contacts?identifier=`: `{"contacts": [...]}`;
  `DELETE /_emulator/contacts/{id}` deletes one with its conversations.
- `GET /_emulator/conversations?contact_id=`: `{"conversations": [...]}`, latest first;
  `DELETE /_emulator/conversations/{id}` deletes one (the API answers 404 for it after).
- `GET /_emulator/conversations/{id}/messages`: `{"messages": [...]}`, **oldest first**,
  private notes and activity messages included.
- `POST /_emulator/conversations/{id}/reply` `{"text"?, "agent_id"?, "bot"?,
  "content_type"?, "content_attributes"?, "attachments"?: [{"name", "content_type",
  "data_base64"}]}`: the agent's message.
- `POST /_emulator/conversations/{id}/note` `{"text", "agent_id"?}`: the private note.
- `POST /_emulator/conversations/{id}/status` `{"status", "agent_id"?}`: the conversation.
- `GET /_emulator/faults`: `{"faults": [{..., "remaining"}], "webhook_copies"}`;
  `POST` a fault (`Fault.to_json()`) or `{"kind": "duplicate_webhooks", "copies": k}`;
  `DELETE` clears them; `POST /_emulator/faults/release` ends the hangs. All answer as GET.
- `GET /_emulator/throttles`: `{"throttles": [...], "retry_after_header"}`; `PUT` with
  `{"name", "limit", "period"}` and/or `{"retry_after_header": bool}` answers as GET.
- `GET /_emulator/calls`: `{"calls": [{"method", "route", "count"}], "total"}`;
  `DELETE /_emulator/calls` resets the counts and answers as GET.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from ..emulation.control import ControlRoutes
from ..routing import Request, Response, Router
from .faults import Fault
from .forms import FormFile, decode, integer
from .host import EmulatorHost
from .webhooks import SIGNING_MODES
from .wire import ApiError, rails_response

__all__ = ["register_control"]

_ATTEMPTS_SHOWN = 100


def _body(request: Request) -> dict[str, Any]:
    return decode("application/json", request.body)


def _string(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise ApiError.error(422, f"{key} must be a string")
    return value


def _files(body: dict[str, Any]) -> list[FormFile]:
    items = body.get("attachments") or []
    if not isinstance(items, list):
        raise ApiError.error(422, "attachments must be a list")
    files = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("data_base64"), str):
            raise ApiError.error(422, "each attachment needs name, content_type, data_base64")
        try:
            data = base64.b64decode(item["data_base64"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ApiError.error(422, "data_base64 is not base64") from exc
        files.append(
            FormFile(
                filename=_string(item, "name") or "file",
                content_type=_string(item, "content_type") or "application/octet-stream",
                data=data,
            )
        )
    return files


def register_control(router: Router, emulator: EmulatorHost) -> None:
    """Add the `/_emulator` routes of `emulator` to `router`."""

    routes = ControlRoutes(
        router,
        emulator,
        respond=rails_response,
        invalid=lambda message: ApiError.error(422, message),
        unauthorized=ApiError.error(401, "Invalid control token"),
    )
    control = routes.route

    def conversation_id(request: Request) -> int:
        return integer(request.params["id"], "id") or 0

    def agent(body: dict[str, Any]) -> int | None:
        return integer(body.get("agent_id"), "agent_id")

    def inbox_state() -> Response:
        inbox = emulator.inbox
        return rails_response(
            {
                "id": inbox.id,
                "webhook_url": inbox.webhook_url,
                "signing": emulator.signing,
                "secret": inbox.secret,
                "hmac_token": inbox.hmac_token,
                "greeting_message": inbox.greeting_message,
                "lock_to_single_conversation": inbox.lock_to_single_conversation,
            }
        )

    @control("GET", "/_emulator/inbox")
    async def get_inbox(request: Request) -> Response:
        return inbox_state()

    @control("PUT", "/_emulator/inbox")
    async def set_inbox(request: Request) -> Response:
        body = _body(request)
        signing = body.get("signing", emulator.signing)
        if signing not in SIGNING_MODES:
            raise ApiError.error(422, f"signing must be one of {', '.join(SIGNING_MODES)}")
        lock = body.get("lock_to_single_conversation", emulator.inbox.lock_to_single_conversation)
        if not isinstance(lock, bool):
            raise ApiError.error(422, "lock_to_single_conversation must be true or false")
        if "webhook_url" in body:
            try:
                emulator.webhook_url = _string(body, "webhook_url")
            except ValueError as exc:
                raise ApiError.error(422, str(exc)) from exc
        if "greeting_message" in body:
            emulator.inbox.greeting_message = _string(body, "greeting_message") or None
        emulator.signing = signing
        emulator.inbox.lock_to_single_conversation = lock
        return inbox_state()

    @control("GET", "/_emulator/webhooks")
    async def webhooks(request: Request) -> Response:
        attempts = list(emulator.webhooks.attempts)[-_ATTEMPTS_SHOWN:]
        return rails_response(
            {
                "pending": emulator.webhooks.pending,
                "attempts": [
                    {
                        "event": a.event,
                        "conversation_id": a.conversation_id,
                        "delivery_id": a.delivery_id,
                        "attempt": a.attempt,
                        "status_code": a.status_code,
                        "error": a.error,
                    }
                    for a in attempts
                ],
            }
        )

    @control("POST", "/_emulator/drain")
    async def drain(request: Request) -> Response:
        await emulator.drain()
        return rails_response({"pending": emulator.webhooks.pending})

    @control("GET", "/_emulator/contacts")
    async def contacts(request: Request) -> Response:
        return rails_response({"contacts": emulator.contacts(request.query.get("identifier"))})

    @control("DELETE", "/_emulator/contacts/{id}")
    async def delete_contact(request: Request) -> Response:
        await emulator.delete_contact(conversation_id(request))
        return rails_response({"deleted": True})

    @control("GET", "/_emulator/conversations")
    async def conversations(request: Request) -> Response:
        contact = integer(request.query.get("contact_id"), "contact_id")
        return rails_response({"conversations": emulator.conversations(contact)})

    @control("DELETE", "/_emulator/conversations/{id}")
    async def delete_conversation(request: Request) -> Response:
        await emulator.delete_conversation(conversation_id(request))
        return rails_response({"deleted": True})

    @control("GET", "/_emulator/conversations/{id}/messages")
    async def messages(request: Request) -> Response:
        return rails_response(
            {"messages": emulator.conversation_messages(conversation_id(request))}
        )

    @control("POST", "/_emulator/conversations/{id}/reply")
    async def reply(request: Request) -> Response:
        body = _body(request)
        attributes = body.get("content_attributes")
        if attributes is not None and not isinstance(attributes, dict):
            raise ApiError.error(422, "content_attributes must be an object")
        message = await emulator.agent_reply(
            conversation_id(request),
            _string(body, "text"),
            attachments=_files(body),
            content_type=_string(body, "content_type") or "text",
            content_attributes=attributes,
            agent_id=agent(body),
            bot=body.get("bot") is True,
        )
        return rails_response(message)

    @control("POST", "/_emulator/conversations/{id}/note")
    async def note(request: Request) -> Response:
        body = _body(request)
        text = _string(body, "text")
        if not text:
            raise ApiError.error(422, "text is required")
        message = await emulator.private_note(conversation_id(request), text, agent_id=agent(body))
        return rails_response(message)

    @control("POST", "/_emulator/conversations/{id}/status")
    async def status(request: Request) -> Response:
        body = _body(request)
        conversation = await emulator.set_status(
            conversation_id(request), _string(body, "status") or "", agent_id=agent(body)
        )
        return rails_response(conversation)

    def throttles_state() -> Response:
        limits = emulator.limits
        return rails_response(
            {
                "throttles": [
                    {"name": t.name, "limit": t.limit, "period": t.period}
                    for t in limits.throttles.values()
                ],
                "retry_after_header": limits.retry_after_header,
            }
        )

    @control("GET", "/_emulator/throttles")
    async def get_throttles(request: Request) -> Response:
        return throttles_state()

    @control("PUT", "/_emulator/throttles")
    async def set_throttles(request: Request) -> Response:
        body = _body(request)
        header = body.get("retry_after_header", emulator.limits.retry_after_header)
        if not isinstance(header, bool):
            raise ApiError.error(422, "retry_after_header must be true or false")
        if "name" in body:
            name = _string(body, "name")
            limit, period = body.get("limit"), body.get("period")
            if not name or not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
                raise ApiError.error(422, "a throttle needs a name and a limit of at least 0")
            if not isinstance(period, int | float) or isinstance(period, bool) or period <= 0:
                raise ApiError.error(422, "period must be a positive number of seconds")
            emulator.limits.set(name, limit=limit, period=float(period))
        emulator.limits.retry_after_header = header
        return throttles_state()

    routes.add_fault_routes(_body, Fault.from_json)
    routes.add_call_routes()
