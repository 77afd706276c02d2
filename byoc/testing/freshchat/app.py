"""The emulator's ASGI app: Freshchat's REST API under `/v2`, plus the control endpoints.

Every API route, in order: counts the call (`emulator.calls[(method, pattern)]`), applies the
armed faults, checks `Authorization: Bearer <token>` (401 otherwise), then answers in
Freshchat's wire format. Refusals use the error body `{"code", "status", "message"}`.

- `GET /v2/users`: users matching `reference_id`, `email`, `phone`, `created_from`,
  `created_to`, `updated_from` or `updated_to` (at least one is required, else 400), oldest
  first, in the generic list envelope; no match is `200 {"users": []}`.
- `POST /v2/users`, `PUT /v2/users/{id}`: the user.
- `GET /v2/users/{id}`: the user, or 404 `USER_NOT_FOUND`.
- `GET /v2/users/{id}/conversations`: `{"conversations": [{"id": ...}]}`, most recent first.
- `POST /v2/conversations`: the conversation with the `messages` it was created with.
- `GET /v2/conversations/{id}`: the conversation, without messages or users.
- `PUT /v2/conversations/{id}`: the conversation after the change.
- `POST /v2/conversations/{id}/messages`: the message.
- `GET /v2/conversations/{id}/messages`: newest first, `items_per_page` (default 50) at a
  time, with a `link` to the next page (a `from_time` cursor) while there is one.
- `GET /v2/channels`, `/v2/agents`, `/v2/groups`: the generic list envelope.
- `GET /v2/agents/{id}`, `/v2/accounts/configuration`: the agent, the account.
- `POST /v2/images/upload` (multipart field `image`): the image response; its `url` is
  served by the emulator.
- `POST /v2/files/upload` (multipart field `file`): the file response; messages then send
  `{"file": {"fileHash": ...}}` parts, which the emulator stores with the file's `url`.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ..routing import Handler, Request, Response, Router, json_response
from .control import register_control
from .host import EmulatorHost
from .payloads import (
    conversation_draft,
    conversation_update,
    json_object,
    message_draft,
    user_fields,
)
from .state import User, iso_time, parse_iso_time
from .uploads import file_json, form_files, image_json, store_upload
from .wire import (
    ApiError,
    agent_json,
    channel_json,
    conversation_json,
    group_json,
    message_json,
    page_params,
    paginate,
    user_json,
)

__all__ = ["USER_FILTERS", "build_app"]

USER_FILTERS = (
    "reference_id",
    "email",
    "phone",
    "created_from",
    "created_to",
    "updated_from",
    "updated_to",
)
MESSAGES_PAGE_SIZE = 50


def build_app(emulator: EmulatorHost) -> Router:
    """The whole ASGI app of one emulator."""

    def not_found(request: Request) -> Response:
        return ApiError(
            404, "NOT_FOUND", f"No route for {request.method} {request.path}"
        ).response()

    def method_not_allowed(request: Request) -> Response:
        return ApiError(
            405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed on {request.path}"
        ).response()

    router = Router(not_found=not_found, method_not_allowed=method_not_allowed)
    _register_api(router, emulator)
    register_control(router, emulator)
    return router


def _authorized(headers: Mapping[str, str], token: str) -> bool:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        value.strip().encode("utf-8", "surrogateescape"), token.encode()
    )


def _user_matches(user: User, filters: Mapping[str, Any]) -> bool:
    for key, wanted in filters.items():
        if key in ("reference_id", "email", "phone"):
            if getattr(user, key) != wanted:
                return False
            continue
        moment = user.created if key.startswith("created") else user.updated
        if (key.endswith("_from") and moment < wanted) or (key.endswith("_to") and moment > wanted):
            return False
    return True


def _user_filters(query: Mapping[str, str]) -> dict[str, Any]:
    filters: dict[str, Any] = {k: query[k] for k in USER_FILTERS if k in query}
    if not filters:
        raise ApiError.invalid(f"At least one filter is required: {', '.join(USER_FILTERS)}")
    for key in ("created_from", "created_to", "updated_from", "updated_to"):
        if key in filters:
            try:
                filters[key] = parse_iso_time(filters[key])
            except ValueError as exc:
                raise ApiError.invalid(f"{key} must be an ISO-8601 time") from exc
    return filters


def _register_api(router: Router, emulator: EmulatorHost) -> None:
    desk, state = emulator.desk, emulator.state

    def api(method: str, pattern: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            async def guarded(request: Request) -> Response:
                emulator.calls[(method, pattern)] += 1
                injected = await emulator.faults.intercept(method, pattern, request.params)
                if injected is not None:
                    return injected
                if not _authorized(request.headers, emulator.token):
                    return ApiError(401, "UNAUTHORIZED", "Missing or invalid API token").response()
                try:
                    return await handler(request)
                except ApiError as error:
                    return error.response()

            router.route(method, pattern)(guarded)
            return handler

        return register

    @api("GET", "/v2/users")
    async def list_users(request: Request) -> Response:
        filters = _user_filters(request.query)
        reference_id = filters.get("reference_id")
        candidates = (
            state.users_by_reference(reference_id)
            if reference_id is not None
            else state.users.values()
        )
        found = [user_json(u) for u in candidates if _user_matches(u, filters)]
        return json_response(paginate(found, key="users", path="/v2/users", query=request.query))

    @api("POST", "/v2/users")
    async def create_user(request: Request) -> Response:
        user = desk.create_user(user_fields(json_object(request.body)))
        return json_response(user_json(user))

    @api("GET", "/v2/users/{id}")
    async def get_user(request: Request) -> Response:
        return json_response(user_json(desk.user(request.params["id"])))

    @api("PUT", "/v2/users/{id}")
    async def update_user(request: Request) -> Response:
        fields = user_fields(json_object(request.body))
        return json_response(user_json(desk.update_user(request.params["id"], fields)))

    @api("GET", "/v2/users/{id}/conversations")
    async def user_conversations(request: Request) -> Response:
        user = desk.user(request.params["id"])
        ids = [{"id": c.id} for c in state.conversations_of(user.id)]
        return json_response({"conversations": ids})

    @api("POST", "/v2/conversations")
    async def create_conversation(request: Request) -> Response:
        conversation, messages = desk.create_conversation(
            conversation_draft(json_object(request.body))
        )
        body = conversation_json(conversation, state)
        body["messages"] = [message_json(m, state) for m in messages]
        return json_response(body)

    @api("GET", "/v2/conversations/{id}")
    async def get_conversation(request: Request) -> Response:
        return json_response(conversation_json(desk.conversation(request.params["id"]), state))

    @api("PUT", "/v2/conversations/{id}")
    async def update_conversation(request: Request) -> Response:
        update = conversation_update(json_object(request.body))
        conversation = desk.update_conversation(request.params["id"], update, desk.api_actor)
        return json_response(conversation_json(conversation, state))

    @api("POST", "/v2/conversations/{id}/messages")
    async def post_message(request: Request) -> Response:
        draft = message_draft(json_object(request.body))
        message = desk.post_message(request.params["id"], draft)
        return json_response(message_json(message, state))

    @api("GET", "/v2/conversations/{id}/messages")
    async def list_messages(request: Request) -> Response:
        conversation = desk.conversation(request.params["id"])
        page, size = page_params(request.query, MESSAGES_PAGE_SIZE)
        newest_first = sorted(state.messages[conversation.id], key=lambda m: -m.created)
        if "from_time" in request.query:
            try:
                before = parse_iso_time(request.query["from_time"])
            except ValueError as exc:
                raise ApiError.invalid("from_time must be an ISO-8601 time") from exc
            newest_first = [m for m in newest_first if m.created < before]
        shown = newest_first[(page - 1) * size : page * size]
        body: dict[str, Any] = {"messages": [message_json(m, state) for m in shown]}
        if shown and len(newest_first) > page * size:
            cursor = iso_time(shown[-1].created)
            body["link"] = {
                "rel": "next",
                "type": "GET",
                "href": f"/v2/conversations/{conversation.id}/messages"
                f"?page=1&items_per_page={size}&from_time={cursor}",
            }
        return json_response(body)

    @api("GET", "/v2/channels")
    async def list_channels(request: Request) -> Response:
        channels = list(state.channels.values())
        if request.query.get("sort_by") == "name":
            channels.sort(key=lambda c: c.name.lower())
        if request.query.get("sort_order") == "desc":
            channels.reverse()
        return json_response(
            paginate(
                [channel_json(c) for c in channels],
                key="channels",
                path="/v2/channels",
                query=request.query,
            )
        )

    @api("GET", "/v2/agents")
    async def list_agents(request: Request) -> Response:
        agents = [agent_json(a) for a in state.agents.values()]
        return json_response(paginate(agents, key="agents", path="/v2/agents", query=request.query))

    @api("GET", "/v2/agents/{id}")
    async def get_agent(request: Request) -> Response:
        agent = state.agents.get(request.params["id"])
        if agent is None:
            raise ApiError(404, "AGENT_NOT_FOUND", "agent not found")
        return json_response(agent_json(agent))

    @api("GET", "/v2/groups")
    async def list_groups(request: Request) -> Response:
        groups = [group_json(g) for g in state.groups.values()]
        return json_response(paginate(groups, key="groups", path="/v2/groups", query=request.query))

    @api("GET", "/v2/accounts/configuration")
    async def account_configuration(request: Request) -> Response:
        return json_response(attrs.asdict(state.account))

    @api("POST", "/v2/images/upload")
    async def upload_image(request: Request) -> Response:
        form = form_files(request.headers.get("content-type", ""), request.body)
        upload = store_upload(state, form, "image")
        return json_response(image_json(upload, emulator.file_url(upload)))

    @api("POST", "/v2/files/upload")
    async def upload_file(request: Request) -> Response:
        form = form_files(request.headers.get("content-type", ""), request.body)
        return json_response(file_json(store_upload(state, form, "file")))
