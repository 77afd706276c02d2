"""`FreshchatEmulator`: one emulated Freshchat account, its API app, webhooks and agent actions."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence
from typing import Any

import httpx

from ...clock import Clock, SystemClock
from ..emulation.lifecycle import ServedDesk
from ..routing import Router
from .app import build_app
from .desk import Actor, Desk, Event, MessageCreated
from .events import PAYLOAD_MODES, PayloadMode, render
from .faults import Faults
from .payloads import ConversationUpdate, Keep, MessageDraft, parse_parts
from .state import State, Upload
from .webhooks import DEFAULT_RETRY_DELAYS, WebhookKey, WebhookSender
from .wire import ApiError, conversation_json, message_json, user_json

__all__ = ["FreshchatEmulator"]

_EMITTED_LIMIT = 10_000


class FreshchatEmulator(ServedDesk):
    """A faithful fake of one Freshchat account, served as an ASGI app.

    It speaks the REST API v2 wire format (see `app`), posts RSA-signed webhooks for every
    message and conversation change (see `webhooks`, `events`), lets a test act as the agent,
    injects faults and counts calls.

    ```python
    async with FreshchatEmulator(webhook_url="http://bridge.test/messaging/webhook",
                                 webhook_http=bridge_client) as freshchat:
        client = FreshchatClient(token=freshchat.token, http=freshchat.client())
        ...                                   # the bridge posts a user message
        conversation_id = ...
        await freshchat.agent_reply(conversation_id, "Hello from support")
        await freshchat.drain()               # every webhook delivered (retries included)
        assert freshchat.calls[("POST", "/v2/conversations")] == 1
    ```

    Arguments:

    - `token`: the API token every `/v2` call must carry as `Authorization: Bearer <token>`.
    - `webhook_url`: where webhooks go; None sends none (they are still in `emitted`).
    - `webhook_http`: the client webhooks are posted with (an `httpx.AsyncClient`, e.g. over
      `httpx.ASGITransport` into an in-process bridge); by default one of its own.
    - `private_key_pem`: the RSA signing key (PEM); by default a new RSA-2048 key. `key`
      passes a loaded `WebhookKey` instead (loading a PEM checks the key, which takes a while).
    - `payload`: `"webhook"` (Admin Conversation Webhooks) or `"marketplace"` (product events).
    - `public_url`: where the emulator is reachable; `api_url` and upload URLs derive from it.
    - `retry_delays`: seconds between webhook retries; its length bounds the retries.
    - `clock`: time for timestamps and retry waits (inject a fake to test without sleeping).
    - `control_token`: when set, the `/_emulator` control endpoints require it.

    The agent actions (`agent_reply`, `private_note`, `resolve`, `reopen`, `assign`) raise
    `ApiError` where the help desk would refuse them, and send the same webhooks as the real
    inbox. The readers (`users_by_reference`, `conversations_of`, `conversation_messages`)
    return the API's JSON shapes.
    """

    def __init__(
        self,
        token: str = "test-token",
        webhook_url: str | None = None,
        *,
        webhook_http: httpx.AsyncClient | None = None,
        private_key_pem: bytes | str | None = None,
        key: WebhookKey | None = None,
        payload: PayloadMode = "webhook",
        public_url: str = "http://freshchat.test",
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        webhook_timeout: float = 10.0,
        clock: Clock | None = None,
        control_token: str | None = None,
    ) -> None:
        if payload not in PAYLOAD_MODES:
            raise ValueError(f"payload must be one of {', '.join(PAYLOAD_MODES)}")
        self.token = token
        self.control_token = control_token
        self.payload: PayloadMode = payload
        self.public_url = public_url.rstrip("/")
        self.clock: Clock = clock or SystemClock()
        self.state = State(self.clock)
        self.faults: Faults = Faults(self.clock)
        self.calls: Counter[tuple[str, str]] = Counter()
        if key is None:
            key = WebhookKey.from_pem(private_key_pem) if private_key_pem else WebhookKey.generate()
        self.key = key
        self.webhooks: WebhookSender = WebhookSender(
            self.key,
            http=webhook_http,
            clock=self.clock,
            retry_delays=retry_delays,
            timeout=webhook_timeout,
        )
        self.emitted: deque[dict[str, Any]] = deque(maxlen=_EMITTED_LIMIT)
        self._webhook_url: str | None = None
        self.webhook_url = webhook_url
        self.desk = Desk(self.state, emit=self._emit, file_url=self.file_url)
        self.app: Router = build_app(self)
        self.app.on_shutdown.append(self.aclose)

    @property
    def api_url(self) -> str:
        """The API base URL, e.g. `http://freshchat.test/v2`."""
        return f"{self.public_url}/v2"

    @property
    def webhook_url(self) -> str | None:
        return self._webhook_url

    @webhook_url.setter
    def webhook_url(self, url: str | None) -> None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError(f"the webhook URL must be http(s), got {url!r}")
        self._webhook_url = url or None

    @property
    def public_key_text(self) -> str:
        """The public key as Freshchat's admin page shows it (SPKI labelled RSA PUBLIC KEY)."""
        return self.key.public_key_text

    @property
    def public_key_pem(self) -> str:
        return self.key.public_key_pem

    def file_url(self, upload: Upload) -> str:
        return f"{self.public_url}/_emulator/files/{upload.id}"

    def client(self, *, authenticated: bool = False) -> httpx.AsyncClient:
        """An httpx client into this app in-process, based at `api_url`.

        Without `authenticated` it sends no token, so the code under test must send its own.
        The caller closes it.
        """
        headers = {"Authorization": f"Bearer {self.token}"} if authenticated else {}
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url=self.api_url, headers=headers
        )

    async def agent_reply(
        self,
        conversation_id: str,
        text: str | None = None,
        *,
        parts: list[dict[str, Any]] | None = None,
        reply_parts: list[dict[str, Any]] | None = None,
        agent_id: str | None = None,
    ) -> dict[str, Any]:
        """Post an agent's message: `text` first, then any `parts` (images, files, buttons...)."""
        return self._agent_message(conversation_id, text, parts, reply_parts, agent_id, "normal")

    async def private_note(
        self, conversation_id: str, text: str, *, agent_id: str | None = None
    ) -> dict[str, Any]:
        """Post a private note (`message_type: "private"`), never meant for the end user."""
        return self._agent_message(conversation_id, text, None, None, agent_id, "private")

    async def resolve(self, conversation_id: str, *, agent_id: str | None = None) -> dict[str, Any]:
        return self._update(conversation_id, ConversationUpdate(status="resolved"), agent_id)

    async def reopen(self, conversation_id: str, *, agent_id: str | None = None) -> dict[str, Any]:
        return self._update(conversation_id, ConversationUpdate(status="reopened"), agent_id)

    async def assign(
        self,
        conversation_id: str,
        *,
        agent_id: str | None = None,
        group_id: str | None = None,
        by_agent_id: str | None = None,
    ) -> dict[str, Any]:
        """Assign to an agent (status `assigned`) and/or a group, as agent `by_agent_id`."""
        update = ConversationUpdate(
            status="assigned" if agent_id else None,
            assigned_agent_id=agent_id if agent_id else Keep.KEEP,
            assigned_group_id=group_id if group_id else Keep.KEEP,
        )
        return self._update(conversation_id, update, by_agent_id)

    def _agent(self, agent_id: str | None) -> str:
        agent_id = agent_id or self.state.default_agent.id
        if agent_id not in self.state.agents:
            raise ApiError.invalid(f"Agent {agent_id} does not exist")
        return agent_id

    def _agent_message(
        self,
        conversation_id: str,
        text: str | None,
        parts: list[dict[str, Any]] | None,
        reply_parts: list[dict[str, Any]] | None,
        agent_id: str | None,
        message_type: str,
    ) -> dict[str, Any]:
        if parts is not None and not isinstance(parts, list):
            raise ApiError.invalid("parts must be a list of message parts")
        wanted = ([{"text": {"content": text}}] if text else []) + (parts or [])
        draft = MessageDraft(
            actor_type="agent",
            actor_id=self._agent(agent_id),
            message_type=message_type,
            parts=parse_parts(wanted),
            reply_parts=None if reply_parts is None else parse_parts(reply_parts, "reply_parts"),
        )
        message = self.desk.post_message(conversation_id, draft, source="web")
        return message_json(message, self.state)

    def _update(
        self, conversation_id: str, update: ConversationUpdate, agent_id: str | None
    ) -> dict[str, Any]:
        actor = Actor(type="agent", id=self._agent(agent_id))
        conversation = self.desk.update_conversation(conversation_id, update, actor)
        return conversation_json(conversation, self.state)

    def users_by_reference(self, reference_id: str) -> list[dict[str, Any]]:
        """Every user carrying this `reference_id`, oldest first, as the API shows them."""
        return [user_json(u) for u in self.state.users_by_reference(reference_id)]

    def conversations_of(self, user_id: str) -> list[dict[str, Any]]:
        """The user's conversations, the most recent first."""
        return [conversation_json(c, self.state) for c in self.state.conversations_of(user_id)]

    def conversation_messages(self, conversation_id: str) -> list[dict[str, Any]]:
        """The conversation's messages, **oldest first** (the API pages them newest first)."""
        conversation = self.desk.conversation(conversation_id)
        return [message_json(m, self.state) for m in self.state.messages[conversation.id]]

    def _emit(self, event: Event) -> None:
        payload = render(event, self.state, self.payload)
        self.emitted.append(payload)
        if self.webhook_url is None:
            return
        conversation_id = (
            event.message.conversation_id
            if isinstance(event, MessageCreated)
            else event.conversation.id
        )
        self.webhooks.send(
            self.webhook_url,
            conversation_id=conversation_id,
            payload=payload,
            copies=self.faults.webhook_copies,
        )
