"""Request bodies of the Freshchat API, validated into drafts; anything else is a 400.

Validation is as strict as the reference allows and no stricter: unknown top-level keys are
ignored (clients send `app_id`, `channel_id`, `cf_*` keys the emulator has no use for), wrong
types and unknown message-part kinds are refused with `400 INVALID_VALUE`.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from typing import Any

import attrs

from .wire import ApiError

__all__ = [
    "CONVERSATION_STATUSES",
    "PART_KINDS",
    "ConversationDraft",
    "ConversationUpdate",
    "Keep",
    "MessageDraft",
    "conversation_draft",
    "conversation_update",
    "json_object",
    "message_draft",
    "parse_parts",
    "user_fields",
]

PART_KINDS = frozenset(
    {
        "text",
        "image",
        "file",
        "video",
        "email",
        "url_button",
        "quick_reply_button",
        "callback",
        "collection",
        "reference",
        "template_content",
    }
)
CONVERSATION_STATUSES = frozenset(
    # The last two are seen only in Freshworks' own automation code; accepted, never emitted.
    {"new", "assigned", "resolved", "reopened", "waiting on customer", "waiting on internal team"}
)
ACTOR_TYPES = frozenset({"user", "agent", "bot"})
MESSAGE_TYPES = frozenset({"normal", "private"})
# Fields of each part kind that must be strings; a kind not listed only has to be an object.
_REQUIRED_STRINGS: Mapping[str, tuple[str, ...]] = {
    "text": ("content",),
    "image": ("url",),
    "video": ("url",),
    "email": ("content",),
    "url_button": ("url", "label"),
    "quick_reply_button": ("label",),
    "callback": ("payload",),
}
_MAX_NESTING = 3


class Keep(enum.Enum):
    """Marks a field the request left out, as opposed to one it set to null."""

    KEEP = "keep"


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError) as exc:
        # RecursionError: absurdly deep nesting is malformed input, not a server fault.
        raise ApiError(400, "BAD_REQUEST", "Request body is not valid JSON") from exc
    if not isinstance(value, dict):
        raise ApiError(400, "BAD_REQUEST", "Request body must be a JSON object")
    return value


def _optional_str(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise ApiError.invalid(f"{key} must be a string")
    return value


def _required_str(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise ApiError.invalid(f"{key} is required and must be a string")
    return value


def _assignment(obj: Mapping[str, Any], key: str) -> str | None | Keep:
    if key not in obj:
        return Keep.KEEP
    value = _optional_str(obj, key)
    # Clients unassign with null, "" or " " (one space, as Pipedream's action does).
    return value if value and value.strip() else None


def _properties(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    if "properties" not in obj or obj["properties"] is None:
        return None
    value = obj["properties"]
    if not isinstance(value, dict):
        raise ApiError(400, "INVALID_VALUE", "Conversation payload not valid")
    return value


def _part(value: Any, field: str, depth: int) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ApiError.invalid(f"{field}: each part must be an object")
    # Webhook payloads show unused kinds as null (`"image": null`); a client echoing such a
    # part back means the one kind that is set.
    present = {k: v for k, v in value.items() if v is not None}
    if len(present) != 1:
        kinds = ", ".join(sorted(present)) or "none"
        raise ApiError.invalid(f"{field}: exactly one part should be present, got {kinds}")
    ((kind, body),) = present.items()
    if kind not in PART_KINDS:
        raise ApiError.invalid(f"{field}: unknown part {kind!r}")
    if not isinstance(body, dict):
        raise ApiError.invalid(f"{field}: {kind} must be an object")
    for key in _REQUIRED_STRINGS.get(kind, ()):
        if not isinstance(body.get(key), str):
            raise ApiError.invalid(f"{field}: {kind}.{key} must be a string")
    if kind == "file":
        refs = [body.get(k) for k in ("url", "fileHash", "file_hash")]
        if not any(isinstance(ref, str) and ref for ref in refs):
            raise ApiError.invalid(f"{field}: file needs a url or a fileHash")
    elif kind == "collection":
        body = {
            **body,
            "sub_parts": parse_parts(body.get("sub_parts"), f"{field}.sub_parts", depth),
        }
    elif kind == "template_content":
        _template(body, field, depth)
    return {kind: body}


def _template(body: Mapping[str, Any], field: str, depth: int) -> None:
    if not isinstance(body.get("type"), str):
        raise ApiError.invalid(f"{field}: template_content.type must be a string")
    sections = body.get("sections", [])
    if not isinstance(sections, list) or not all(isinstance(s, dict) for s in sections):
        raise ApiError.invalid(f"{field}: template_content.sections must be a list of objects")
    for section in sections:
        if "parts" in section:
            parse_parts(section["parts"], f"{field}.sections.parts", depth)


def parse_parts(value: Any, field: str = "message_parts", depth: int = 0) -> list[dict[str, Any]]:
    """A non-empty list of message parts, each with exactly one known kind."""
    if depth >= _MAX_NESTING:
        raise ApiError.invalid(f"{field}: parts are nested too deeply")
    if not isinstance(value, list) or not value:
        raise ApiError.invalid(f"{field} must be a non-empty list of parts")
    return [_part(item, field, depth + 1) for item in value]


def user_fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The user fields a create or update sets, keyed as `state.User` names them."""
    fields: dict[str, Any] = {}
    for key in ("reference_id", "first_name", "last_name", "email", "phone"):
        if key in obj:
            fields[key] = _optional_str(obj, key)
    if "avatar" in obj:
        avatar = obj["avatar"]
        if avatar is not None and not isinstance(avatar, dict):
            raise ApiError.invalid("avatar must be an object")
        fields["avatar_url"] = _optional_str(avatar or {}, "url")
    if "properties" in obj:
        properties = obj["properties"] if obj["properties"] is not None else []
        if not isinstance(properties, list):
            raise ApiError.invalid("properties must be a list of {name, value}")
        for item in properties:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise ApiError.invalid("properties must be a list of {name, value}")
            if isinstance(item.get("value"), (dict, list)):
                raise ApiError.invalid("property values must be scalars")
        fields["properties"] = [{"name": p["name"], "value": p.get("value")} for p in properties]
    return fields


@attrs.frozen(kw_only=True)
class MessageDraft:
    """A message to create, as a client asked for it."""

    actor_type: str
    actor_id: str | None
    message_type: str = "normal"
    parts: list[dict[str, Any]]
    reply_parts: list[dict[str, Any]] | None = None


def message_draft(obj: Any) -> MessageDraft:
    if not isinstance(obj, dict):
        raise ApiError.invalid("a message must be an object")
    actor_type = obj.get("actor_type")
    if not isinstance(actor_type, str) or actor_type not in ACTOR_TYPES:
        raise ApiError.invalid("actor_type must be one of agent, bot, user")
    # Bots may post without an actor id (Freshworks' own automation does); people may not.
    if actor_type == "bot":
        actor_id = _optional_str(obj, "actor_id")
    else:
        actor_id = _required_str(obj, "actor_id")
    message_type = obj.get("message_type", "normal")
    if not isinstance(message_type, str) or message_type not in MESSAGE_TYPES:
        raise ApiError.invalid("message_type must be normal or private")
    _optional_str(obj, "user_id")
    reply_parts = obj.get("reply_parts")
    return MessageDraft(
        actor_type=actor_type,
        actor_id=actor_id,
        message_type=message_type,
        parts=parse_parts(obj.get("message_parts")),
        reply_parts=None if reply_parts is None else parse_parts(reply_parts, "reply_parts"),
    )


@attrs.frozen(kw_only=True)
class ConversationDraft:
    channel_id: str
    user_ids: list[str]
    status: str
    assigned_agent_id: str | None
    assigned_group_id: str | None
    properties: dict[str, Any]
    messages: list[MessageDraft]


def conversation_draft(obj: Mapping[str, Any]) -> ConversationDraft:
    users = obj.get("users")
    if not isinstance(users, list) or not users:
        raise ApiError.invalid("users must be a non-empty list of {id}")
    user_ids = []
    for user in users:
        if not isinstance(user, dict):
            raise ApiError.invalid("users must be a non-empty list of {id}")
        user_ids.append(_required_str(user, "id"))
    status = obj.get("status", "new")
    if not isinstance(status, str) or status not in CONVERSATION_STATUSES:
        raise ApiError.invalid(f"unknown conversation status {status!r}")
    messages = obj.get("messages") or []
    if not isinstance(messages, list):
        raise ApiError.invalid("messages must be a list")
    agent, group = _assignment(obj, "assigned_agent_id"), _assignment(obj, "assigned_group_id")
    return ConversationDraft(
        channel_id=_required_str(obj, "channel_id"),
        user_ids=user_ids,
        status=status,
        assigned_agent_id=None if isinstance(agent, Keep) else agent,
        assigned_group_id=None if isinstance(group, Keep) else group,
        properties=_properties(obj) or {},
        messages=[message_draft(m) for m in messages],
    )


@attrs.frozen(kw_only=True)
class ConversationUpdate:
    """A `PUT /conversations/{id}`: `Keep.KEEP` (or None for `status`) leaves a field alone."""

    status: str | None = None
    assigned_agent_id: str | None | Keep = Keep.KEEP
    assigned_group_id: str | None | Keep = Keep.KEEP
    properties: dict[str, Any] | None = None


def conversation_update(obj: Mapping[str, Any]) -> ConversationUpdate:
    status = obj.get("status")
    if status is not None and (not isinstance(status, str) or status not in CONVERSATION_STATUSES):
        raise ApiError.invalid(f"unknown conversation status {status!r}")
    return ConversationUpdate(
        status=status,
        assigned_agent_id=_assignment(obj, "assigned_agent_id"),
        assigned_group_id=_assignment(obj, "assigned_group_id"),
        properties=_properties(obj),
    )
