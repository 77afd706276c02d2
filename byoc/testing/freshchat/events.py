"""Desk events as the JSON bodies Freshchat posts: Admin webhooks or Marketplace product events.

Two payload modes, because a bridge may receive either (reference §3 and §4):

- `"webhook"`: the Admin "Conversation Webhooks" envelope,
  `{"actor": {...}, "action": "message_create", "action_time": ..., "data": {"message": {...}}}`,
  and `conversation_resolution` / `conversation_reopen` / `conversation_assignment` with
  `data.resolve` / `data.reopen` / `data.assignment`.
- `"marketplace"`: the serverless product-event envelope (`onMessageCreate`,
  `onConversationUpdate`), with its quirk: `data.message` is the *conversation* and the new
  message sits in `data.message.messages[]`, its parts listing unused kinds as null.

Bodies are rendered when the event happens, so they show the conversation as it was then.
"""

from __future__ import annotations

from typing import Any, Literal

from .desk import Actor, ConversationChanged, Event, MessageCreated
from .state import Conversation, State, iso_time
from .wire import agent_json, channel_json, conversation_json, group_json, message_json, user_json

__all__ = ["PAYLOAD_MODES", "PayloadMode", "render"]

PayloadMode = Literal["webhook", "marketplace"]
PAYLOAD_MODES: tuple[PayloadMode, ...] = ("webhook", "marketplace")
_DATA_KEYS = {
    "conversation_resolution": ("resolve", "resolver"),
    "conversation_reopen": ("reopen", "reopener"),
    "conversation_assignment": ("assignment", "assignor"),
}
# Kinds a product event lists as null when a part does not use them (KAKAO's captured payloads).
_NULL_KINDS = ("text", "image", "file")


def render(event: Event, state: State, mode: PayloadMode) -> dict[str, Any]:
    """The body Freshchat would post for `event`."""
    if mode == "marketplace":
        return _product_event(event, state)
    if isinstance(event, MessageCreated):
        message = event.message
        return {
            "actor": {"actor_type": message.actor_type, "actor_id": message.actor_id},
            "action": "message_create",
            "action_time": iso_time(message.created),
            "data": {"message": message_json(message, state)},
        }
    return _conversation_webhook(event, state)


def _conversation_webhook(event: ConversationChanged, state: State) -> dict[str, Any]:
    conversation = event.conversation
    key, role = _DATA_KEYS[event.action]
    data: dict[str, Any] = {
        role: event.actor.type,
        f"{role}_id": event.actor.id,
        "conversation": _webhook_conversation(conversation, state),
        "interaction_id": conversation.interaction_id,
    }
    if event.action == "conversation_assignment":
        old_agent, new_agent = event.changes.get(
            "assigned_agent_id", (conversation.assigned_agent_id,) * 2
        )
        old_group, new_group = event.changes.get(
            "assigned_group_id", (conversation.assigned_group_id,) * 2
        )
        data |= {
            "to_agent_id": new_agent,
            "to_group_id": new_group,
            "from_agent_id": old_agent,
            "from_group_id": old_group,
        }
    elif event.action == "conversation_resolution":
        user = state.users.get(conversation.user_id)
        data["user"] = user_json(user) if user else None
    return {
        "actor": {"actor_type": event.actor.type, "actor_id": event.actor.id},
        "action": event.action,
        "action_time": iso_time(conversation.updated),
        "data": {key: data},
    }


def _webhook_conversation(conversation: Conversation, state: State) -> dict[str, Any]:
    return {**conversation_json(conversation, state), "sla_policy_id": None, "sla_breached": False}


def _product_event(event: Event, state: State) -> dict[str, Any]:
    if isinstance(event, MessageCreated):
        message = event.message
        conversation = state.conversations[message.conversation_id]
        body = message_json(message, state)
        body["message_parts"] = [_with_null_kinds(p) for p in body["message_parts"]]
        name = "onMessageCreate"
        actor = Actor(type=message.actor_type, id=message.actor_id)
        source = message.message_source
        moment = message.created
        data: dict[str, Any] = {
            "message": {
                **_webhook_conversation(conversation, state),
                "response_due_type": "FIRST_RESPONSE_DUE",
                "reopened_time": None,
                "messages": [body],
            }
        }
    else:
        conversation = event.conversation
        name = "onConversationUpdate"
        actor = event.actor
        source = "api" if actor.type == "system" else "web"
        moment = conversation.updated
        data = {
            "conversation": _webhook_conversation(conversation, state),
            "changes": {
                "model_changes": {k: [old, new] for k, (old, new) in event.changes.items()}
            },
        }
    account = state.account
    return {
        "account_id": account.account_id,
        "domain": account.account_domain,
        "event": name,
        "region": account.datacenter,
        "timestamp": moment,
        "version": "1.0.0",
        "iparams": {},
        "data": {
            "actor": _product_actor(actor, source, state),
            "associations": _associations(conversation, state),
            **data,
        },
    }


def _with_null_kinds(part: dict[str, Any]) -> dict[str, Any]:
    return {**{kind: None for kind in _NULL_KINDS}, **part}


def _product_actor(actor: Actor, source: str, state: State) -> dict[str, Any]:
    person: dict[str, Any] = {}
    org_actor_id = state.org_actor_id(actor.type, actor.id)
    if actor.type == "user" and actor.id in state.users:
        person = user_json(state.users[actor.id])
    elif actor.type == "agent" and actor.id in state.agents:
        person = agent_json(state.agents[actor.id])
    return {
        "type": actor.type,
        "id": actor.id,
        "first_name": person.get("first_name"),
        "last_name": person.get("last_name"),
        "email": person.get("email"),
        "phone": person.get("phone"),
        "avatar": person.get("avatar", {}),
        "org_actor_id": org_actor_id,
        "actor_source": source.upper(),
        "sub_entity": None,
    }


def _associations(conversation: Conversation, state: State) -> dict[str, Any]:
    user = state.users.get(conversation.user_id)
    group = state.groups.get(conversation.assigned_group_id or "")
    agent = state.agents.get(conversation.assigned_agent_id or "")
    associations: dict[str, Any] = {
        "channel": channel_json(state.channels[conversation.channel_id]),
        "group": group_json(group) if group else None,
        "user": user_json(user) if user else None,
    }
    if agent:
        associations["agent"] = agent_json(agent)
    return associations
