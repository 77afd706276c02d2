"""Freshchat's wire format: records as JSON objects, list envelopes and error bodies.

Shapes follow the API reference (`docs/reference/freshchat-api.md` §1); fields the reference
lists but the emulator has no meaning for (`skill_id`, `sla_policy_id`, ...) carry the neutral
values live samples show.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from ..emulation.refusal import Refusal
from ..routing import Response, json_response
from .state import Agent, Channel, Conversation, Group, Message, State, User, iso_time

__all__ = [
    "ApiError",
    "agent_json",
    "channel_json",
    "conversation_json",
    "group_json",
    "message_json",
    "not_found",
    "page_params",
    "paginate",
    "user_json",
]


class ApiError(Refusal):
    """A refusal in Freshchat's error shape: `{"code": 400, "status": "...", "message": "..."}`."""

    def __init__(
        self,
        code: int,
        status: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "status": self.status, "message": self.message}

    def response(self) -> Response:
        return json_response(self.body(), self.code, self.headers)

    @classmethod
    def invalid(cls, message: str) -> ApiError:
        """400 INVALID_VALUE, the status real validation errors carry."""
        return cls(400, "INVALID_VALUE", message)


def not_found(kind: str, ident: str) -> ApiError:
    """404 in the style of the documented `AGENT_NOT_FOUND` / "agent not found"."""
    return ApiError(404, f"{kind.upper()}_NOT_FOUND", f"{kind} not found: {ident}")


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "created_time": iso_time(user.created),
        "updated_time": iso_time(user.updated),
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "phone": user.phone,
        "avatar": {"url": user.avatar_url} if user.avatar_url else {},
        "properties": [dict(p) for p in user.properties],
        "reference_id": user.reference_id,
        "restore_id": None,
        "login_status": False,
        "org_contact_id": user.org_contact_id,
        "social_profiles": [],
    }


def conversation_json(conversation: Conversation, state: State) -> dict[str, Any]:
    """The conversation as `GET /conversations/{id}` shows it: no messages, no users."""
    user = state.users.get(conversation.user_id)
    agent = state.agents.get(conversation.assigned_agent_id or "")
    account = state.account
    return {
        "conversation_id": conversation.id,
        "conversation_internal_id": conversation.internal_id,
        "app_id": account.app_id,
        "status": conversation.status,
        "channel_id": conversation.channel_id,
        "skill_id": 0,
        "properties": dict(conversation.properties),
        "url": (
            f"https://{account.account_domain}/a/{account.account_id}/inbox/open/0"
            f"/conversation/{conversation.internal_id}"
        ),
        "org_contact_id": user.org_contact_id if user else None,
        "created_time": iso_time(conversation.created),
        "updated_time": iso_time(conversation.updated),
        "user_id": conversation.user_id,
        "assigned_agent_id": conversation.assigned_agent_id,
        "assigned_org_agent_id": agent.org_agent_id if agent else None,
        "assigned_group_id": conversation.assigned_group_id,
    }


def message_json(message: Message, state: State) -> dict[str, Any]:
    conversation = state.conversations[message.conversation_id]
    channel_number = list(state.channels).index(message.channel_id) + 1
    body: dict[str, Any] = {
        "id": message.id,
        "created_time": iso_time(message.created),
        "conversation_id": message.conversation_id,
        "freshchat_conversation_id": str(conversation.internal_id),
        "channel_id": message.channel_id,
        "freshchat_channel_id": str(channel_number),
        "app_id": state.account.app_id,
        "interaction_id": message.interaction_id,
        "actor_type": message.actor_type,
        "actor_id": message.actor_id,
        "org_actor_id": message.org_actor_id,
        "user_id": message.user_id,
        "message_type": message.message_type,
        "message_source": message.message_source,
        "message_parts": [dict(p) for p in message.parts],
        "restrictResponse": False,
        "botsPrivateNote": False,
    }
    if message.reply_parts is not None:
        body["reply_parts"] = [dict(p) for p in message.reply_parts]
    return body


def channel_json(channel: Channel) -> dict[str, Any]:
    welcome = (
        {
            "message_parts": [{"text": {"content": channel.welcome_message}}],
            "message_type": "normal",
        }
        if channel.welcome_message
        else None
    )
    return {
        "id": channel.id,
        "name": channel.name,
        "enabled": channel.enabled,
        "public": channel.public,
        "tags": list(channel.tags),
        "icon": {"url": channel.icon_url} if channel.icon_url else {},
        "locale": channel.locale,
        "updated_time": iso_time(channel.updated),
        "source": "FRESHCHAT",
        "welcome_message": welcome,
        "assign_to_group": None,
    }


def agent_json(agent: Agent) -> dict[str, Any]:
    return {
        "id": agent.id,
        "email": agent.email,
        "first_name": agent.first_name,
        "last_name": agent.last_name,
        "avatar": {},
        "groups": list(agent.group_ids),
        "role_id": agent.role_name,
        "role_name": agent.role_name,
        "availability_status": "AVAILABLE",
        "agent_status": {"name": "Available"},
        "routing_type": "INTELLIASSIGN",
        "is_deactivated": False,
        "locale": "en",
        "timezone": "UTC",
        "org_agent_id": agent.org_agent_id,
    }


def group_json(group: Group) -> dict[str, Any]:
    return {
        "id": group.id,
        "name": group.name,
        "description": group.description,
        "routing_type": "DISABLED",
        "agents": list(group.agent_ids),
    }


def page_params(query: Mapping[str, str], default_page_size: int) -> tuple[int, int]:
    """`(page, items_per_page)` from a query; 400 WRONG_PAGE when they are not positive integers."""
    size = _positive_int(query, "items_per_page", default_page_size)
    return _positive_int(query, "page", 1), size


def _positive_int(query: Mapping[str, str], key: str, default: int) -> int:
    raw = query.get(key)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9) or int(raw) < 1:
        raise ApiError(400, "WRONG_PAGE", f"{key} must be a positive integer, got {raw!r}")
    return int(raw)


def paginate(
    items: Sequence[dict[str, Any]],
    *,
    key: str,
    path: str,
    query: Mapping[str, str],
    default_page_size: int = 10,
) -> dict[str, Any]:
    """The generic list envelope: `{key: [...], "pagination": {...}, "links": {...}}`.

    `links` hrefs are host-relative and include `/v2`; `next_page`/`previous_page` are absent
    when there is no such page. Query parameters other than the page ones are kept.
    """
    page, size = page_params(query, default_page_size)
    total = len(items)
    pages = (total + size - 1) // size
    kept = {k: v for k, v in query.items() if k not in ("page", "items_per_page")}
    rel = key[:-1] if key.endswith("s") else key

    def link(number: int) -> dict[str, str]:
        href = f"{path}?{urlencode({**kept, 'page': number, 'items_per_page': size})}"
        return {"href": href, "rel": rel, "type": "GET"}

    links: dict[str, Any] = {"first_page": link(1), "last_page": link(max(pages, 1))}
    if page < pages:
        links["next_page"] = link(page + 1)
    if 1 < page <= pages + 1:
        links["previous_page"] = link(page - 1)
    return {
        key: list(items[(page - 1) * size : page * size]),
        "pagination": {
            "total_items": total,
            "total_pages": pages,
            "current_page": page,
            "items_per_page": size,
        },
        "links": links,
    }
