"""The emulator's ASGI app: Chatwoot's application API, served files, and the control endpoints.

Every API route, in order: counts the call (`emulator.calls[(method, pattern)]`), applies the
armed faults, counts it against Rack::Attack's throttles (429 past them), checks the
`api_access_token` header (401 `{"errors": [...]}` without one, `{"error": "Invalid Access
Token"}` for a wrong one, and an agent bot's token only where Chatwoot lets bots in), finds the
account (404 for another id), then answers in Chatwoot's wire format. Routes under
`/api/v1/accounts/{account_id}`:

- `GET /inboxes`, `GET /inboxes/{id}`: `{"payload": [...]}` and the inbox (its `secret` and
  `hmac_token` shown to administrators only).
- `GET /contacts/search?q=&page=`: `{"meta": {"count", "current_page", "has_more"},
  "payload": [...]}`; `q` is required (422).
- `POST /contacts/filter?page=`: `{"meta": {"count", "current_page"}, "payload": [...]}`.
- `POST /contacts`: `{"payload": {"contact", "contact_inbox": {"inbox", "source_id"}}}`.
- `GET /contacts/{id}`: `{"payload": contact}`, with its `contact_inboxes`.
- `POST /contacts/{id}/contact_inboxes`: `{"source_id", "inbox"}`.
- `GET /contacts/{id}/conversations`: `{"payload": [...]}`, the latest activity first.
- `POST /conversations`, `GET /conversations/{id}`: the conversation (display id).
- `POST /conversations/{id}/toggle_status`: `{"meta": {}, "payload": {"success",
  "current_status", "conversation_id"}}`.
- `GET /conversations/{id}/messages?before=&after=`: `{"meta": {...}, "payload": [...]}`,
  the latest 20, oldest first.
- `POST /conversations/{id}/messages` (JSON, or multipart with `attachments[]`): the message.

Outside the account: `GET /api/v1/profile` (the token's user) and the attachment URLs,
`GET /rails/active_storage/blobs/redirect/{key}/{filename}`, which redirect (302) to
`/rails/active_storage/disk/{key}/{filename}`, which serves the bytes; neither needs a token.
An unknown path gets Rails' HTML 404 page.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from ..routing import Request, Response, Router
from .control import register_control
from .desk import Sender
from .forms import decode, integer
from .host import EmulatorHost
from .wire import (
    ApiError,
    contact_inbox_json,
    contact_json,
    conversation_json,
    inbox_json,
    message_json,
    rails_response,
)

__all__ = ["ACCOUNT", "build_app"]

ACCOUNT = "/api/v1/accounts/{account_id}"
# What an agent bot's token may call (Chatwoot's `BOT_ACCESSIBLE_ENDPOINTS`).
_BOT_ROUTES = frozenset(
    {
        ("POST", f"{ACCOUNT}/conversations"),
        ("POST", f"{ACCOUNT}/conversations/{{id}}/toggle_status"),
        ("POST", f"{ACCOUNT}/conversations/{{id}}/messages"),
    }
)

Handler = Callable[[Request, Sender], Awaitable[Response]]


def build_app(emulator: EmulatorHost) -> Router:
    """The whole ASGI app of one emulator."""
    router = Router(
        not_found=lambda request: ApiError.no_route().response(),
        method_not_allowed=lambda request: ApiError.no_route().response(),
    )
    _register_api(router, emulator)
    _register_files(router, emulator)
    register_control(router, emulator)
    return router


def _caller(emulator: EmulatorHost, request: Request) -> Sender:
    token = request.headers.get("api_access_token", "").strip()
    if not token:
        raise ApiError.sign_in()
    given = token.encode("utf-8", "surrogateescape")
    state = emulator.state
    for agent in state.agents.values():
        if hmac.compare_digest(given, agent.token.encode()):
            return ("user", agent.id)
    for bot in state.bots.values():
        if hmac.compare_digest(given, bot.token.encode()):
            return ("agent_bot", bot.id)
    raise ApiError.error(401, "Invalid Access Token")


def _page(request: Request) -> int:
    page = integer(request.query.get("page"), "page") or 1
    return max(page, 1)


def _register_api(router: Router, emulator: EmulatorHost) -> None:
    desk, state = emulator.desk, emulator.state

    def api(method: str, pattern: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            async def guarded(request: Request) -> Response:
                emulator.calls[(method, pattern)] += 1
                async with emulator.handling():
                    return await answer(request)

            async def answer(request: Request) -> Response:
                try:
                    injected = await emulator.faults.intercept(method, pattern)
                    if injected is not None:
                        raise injected
                    emulator.throttle("req/ip", "client")
                    if pattern.endswith("/contacts/search"):
                        emulator.throttle("contacts/search", str(state.account_id))
                    caller = _caller(emulator, request)
                    if caller[0] == "agent_bot" and (method, pattern) not in _BOT_ROUTES:
                        raise ApiError.error(
                            401, "Access to this endpoint is not authorized for bots"
                        )
                    if "account_id" in request.params and (
                        integer(request.params["account_id"], "account_id") != state.account_id
                    ):
                        raise ApiError.not_found()
                    return await handler(request, caller)
                except ApiError as error:
                    return error.response()

            router.route(method, pattern)(guarded)
            return handler

        return register

    def params(request: Request) -> dict[str, Any]:
        return decode(request.headers.get("content-type", ""), request.body)

    base = emulator.public_url

    @api("GET", "/api/v1/profile")
    async def profile(request: Request, caller: Sender) -> Response:
        kind, ident = caller
        if kind != "user":
            raise ApiError.error(401, "Access to this endpoint is not authorized for bots")
        agent = state.agents[ident]
        accounts = [{"id": state.account_id, "name": state.account_name, "role": agent.role}]
        return rails_response(
            {"id": agent.id, "name": agent.name, "email": agent.email, "accounts": accounts}
        )

    @api("GET", f"{ACCOUNT}/inboxes")
    async def inboxes(request: Request, caller: Sender) -> Response:
        admin = _admin(emulator, caller)
        return rails_response(
            {"payload": [inbox_json(i, admin=admin) for i in state.inboxes.values()]}
        )

    @api("GET", f"{ACCOUNT}/inboxes/{{id}}")
    async def inbox(request: Request, caller: Sender) -> Response:
        found = desk.inbox(request.params["id"])
        return rails_response(inbox_json(found, admin=_admin(emulator, caller)))

    @api("GET", f"{ACCOUNT}/contacts/search")
    async def search(request: Request, caller: Sender) -> Response:
        page = _page(request)
        found, more = desk.search_contacts(request.query.get("q"), page)
        return rails_response(
            {
                "meta": {"count": len(found), "current_page": page, "has_more": more},
                "payload": [contact_json(c, state) for c in found],
            }
        )

    @api("POST", f"{ACCOUNT}/contacts/filter")
    async def filter_contacts(request: Request, caller: Sender) -> Response:
        page = _page(request)
        found, total = desk.filter_contacts(params(request).get("payload"), page)
        return rails_response(
            {
                "meta": {"count": total, "current_page": page},
                "payload": [contact_json(c, state) for c in found],
            }
        )

    @api("POST", f"{ACCOUNT}/contacts")
    async def create_contact(request: Request, caller: Sender) -> Response:
        contact, session = desk.create_contact(params(request))
        created = {
            "inbox": inbox_json(state.inboxes[session.inbox_id]) if session else None,
            "source_id": session.source_id if session else None,
        }
        return rails_response(
            {"payload": {"contact": contact_json(contact, state), "contact_inbox": created}}
        )

    @api("GET", f"{ACCOUNT}/contacts/{{id}}")
    async def get_contact(request: Request, caller: Sender) -> Response:
        contact = desk.contact(request.params["id"])
        return rails_response({"payload": contact_json(contact, state)})

    @api("POST", f"{ACCOUNT}/contacts/{{id}}/contact_inboxes")
    async def add_contact_inbox(request: Request, caller: Sender) -> Response:
        session = desk.add_contact_inbox(desk.contact(request.params["id"]), params(request))
        return rails_response(contact_inbox_json(session, state))

    @api("GET", f"{ACCOUNT}/contacts/{{id}}/conversations")
    async def contact_conversations(request: Request, caller: Sender) -> Response:
        contact = desk.contact(request.params["id"])
        found = state.conversations_of(contact.id)[:20]
        return rails_response({"payload": [conversation_json(c, state, base) for c in found]})

    @api("POST", f"{ACCOUNT}/conversations")
    async def create_conversation(request: Request, caller: Sender) -> Response:
        conversation = desk.create_conversation(params(request), caller)
        return rails_response(conversation_json(conversation, state, base))

    @api("GET", f"{ACCOUNT}/conversations/{{id}}")
    async def get_conversation(request: Request, caller: Sender) -> Response:
        conversation = desk.conversation(request.params["id"])
        return rails_response(conversation_json(conversation, state, base))

    @api("POST", f"{ACCOUNT}/conversations/{{id}}/toggle_status")
    async def toggle_status(request: Request, caller: Sender) -> Response:
        conversation = desk.conversation(request.params["id"])
        status = desk.set_status(conversation, params(request).get("status"), caller)
        return rails_response(
            {
                "meta": {},
                "payload": {
                    "success": True,
                    "current_status": status,
                    "conversation_id": conversation.display_id,
                },
            }
        )

    @api("GET", f"{ACCOUNT}/conversations/{{id}}/messages")
    async def list_messages(request: Request, caller: Sender) -> Response:
        conversation = desk.conversation(request.params["id"])
        page = desk.messages_page(
            conversation,
            before=integer(request.query.get("before"), "before"),
            after=integer(request.query.get("after"), "after"),
        )
        contact = state.contacts[conversation.contact_id]
        meta: dict[str, Any] = {
            "labels": [],
            "additional_attributes": dict(conversation.additional_attributes),
            "contact": contact_json(contact, state, with_inboxes=False),
            "assignee": None,
            "agent_last_seen_at": int(conversation.agent_last_seen_at),
            "assignee_last_seen_at": 0,
        }
        return rails_response(
            {"meta": meta, "payload": [message_json(m, state, base) for m in page]}
        )

    @api("POST", f"{ACCOUNT}/conversations/{{id}}/messages")
    async def create_message(request: Request, caller: Sender) -> Response:
        conversation = desk.conversation(request.params["id"])
        message = desk.post_message(conversation, params(request), caller)
        return rails_response(message_json(message, state, base))


def _admin(emulator: EmulatorHost, caller: Sender) -> bool:
    kind, ident = caller
    return kind == "user" and emulator.state.agents[ident].role == "administrator"


def _register_files(router: Router, emulator: EmulatorHost) -> None:
    # Attachment URLs are opened by whoever receives a message, with no token.
    @router.route("GET", "/rails/active_storage/blobs/redirect/{key}/{filename}")
    async def redirect(request: Request) -> Response:
        attachment = emulator.state.attachments.get(request.params["key"])
        if attachment is None:
            return ApiError.no_route().response()
        target = f"{emulator.public_url}/rails/active_storage/disk/{attachment.key}/"
        return Response(
            status=302, content_type="text/html", headers={"Location": target + attachment.filename}
        )

    @router.route("GET", "/rails/active_storage/disk/{key}/{filename}")
    async def serve(request: Request) -> Response:
        attachment = emulator.state.attachments.get(request.params["key"])
        if attachment is None:
            return ApiError.no_route().response()
        return Response(status=200, body=attachment.data, content_type=attachment.content_type)
