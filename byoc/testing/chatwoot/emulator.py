"""`ChatwootEmulator`: one emulated Chatwoot account, its API app, webhooks and agent actions."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, deque
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx

from ...clock import Clock, SystemClock
from ..emulation.lifecycle import ServedDesk
from ..routing import Router
from .app import build_app
from .desk import ConversationCreated, Desk, Event, MessageCreated, Sender, StatusChanged
from .faults import Faults
from .forms import FormFile
from .limits import Limits
from .state import Inbox, Message, State
from .webhooks import DEFAULT_RETRY_DELAYS, SIGNING_MODES, SigningMode, WebhookSender
from .wire import (
    ApiError,
    contact_json,
    conversation_json,
    conversation_webhook,
    message_json,
    message_webhook,
)

__all__ = ["ChatwootEmulator"]

_EMITTED_LIMIT = 10_000
# Events an API inbox posts to its webhook URL (`activity` messages are never sent).
_WEBHOOK_MESSAGE_TYPES = frozenset({"incoming", "outgoing", "template"})


class ChatwootEmulator(ServedDesk):
    """A faithful fake of one Chatwoot account with an API inbox, served as an ASGI app.

    It speaks the application API's wire format (see `app`), posts signed webhooks to the API
    inbox's URL for every message and conversation change (see `webhooks`), lets a test act as
    an agent, injects faults, enforces Rack::Attack's throttles and counts calls.

    ```python
    async with ChatwootEmulator(webhook_url="http://bridge.test/messaging/webhook",
                                webhook_http=to_bridge) as chatwoot:
        messaging = ChatwootMessaging(url=chatwoot.public_url, account_id=chatwoot.account_id,
                                      inbox_id=chatwoot.inbox_id, token=chatwoot.token,
                                      hmac_token=chatwoot.inbox.secret, http=chatwoot.client())
        ...                                   # the bridge posts a user message
        await chatwoot.agent_reply(conversation_id, "Hello from support")
        await chatwoot.drain()                # every webhook delivered (retries included)
    ```

    Arguments:

    - `token`: the administrator's access token the API takes (`api_access_token`).
    - `webhook_url`: the API inbox's webhook URL; None sends none (they are still `emitted`).
    - `webhook_http`: the client webhooks are posted with; by default one of its own.
    - `signing`: `"secret"` (the inbox's secret signs, as Chatwoot 4.13+ does),
      `"hmac_token"` (Chatwoot issue #13809: the inbox's HMAC token signs while the UI and REST
      show the secret) or `"unsigned"` (Chatwoot before 4.13).
    - `public_url`: where the emulator is reachable; attachment URLs derive from it.
    - `account_id`, `inbox_id`: the ids of the account and its API inbox.
    - `retry_delays`: seconds between webhook retries; its length bounds the retries.
    - `clock`: time for timestamps, signatures, throttles and retry waits.
    - `control_token`: when set, the `/_emulator` control endpoints require it.
    """

    def __init__(
        self,
        token: str = "test-token",
        webhook_url: str | None = None,
        *,
        webhook_http: httpx.AsyncClient | None = None,
        signing: SigningMode = "secret",
        public_url: str = "http://chatwoot.test",
        account_id: int = 1,
        inbox_id: int = 1,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        webhook_timeout: float = 5.0,
        clock: Clock | None = None,
        control_token: str | None = None,
    ) -> None:
        self.token = token
        self.control_token = control_token
        self.public_url = public_url.rstrip("/")
        self.clock: Clock = clock or SystemClock()
        self.state = State(self.clock, account_id=account_id, inbox_id=inbox_id, token=token)
        self.faults: Faults = Faults(self.clock)
        self.limits = Limits(self.clock)
        self.calls: Counter[tuple[str, str]] = Counter()
        self.in_flight = 0
        self._quiet = asyncio.Condition()
        self.webhooks: WebhookSender = WebhookSender(
            http=webhook_http, clock=self.clock, retry_delays=retry_delays, timeout=webhook_timeout
        )
        self.emitted: deque[dict[str, Any]] = deque(maxlen=_EMITTED_LIMIT)
        self.signing = signing
        self.webhook_url = webhook_url
        self.desk = Desk(self.state, emit=self._emit)
        self.app: Router = build_app(self)
        self.app.on_shutdown.append(self.aclose)

    @property
    def account_id(self) -> int:
        return self.state.account_id

    @property
    def inbox_id(self) -> int:
        return self.state.api_inbox.id

    @property
    def inbox(self) -> Inbox:
        """The API inbox record (`secret`, `hmac_token`, `greeting_message`, ...)."""
        return self.state.api_inbox

    @property
    def webhook_url(self) -> str | None:
        return self.state.api_inbox.webhook_url

    @webhook_url.setter
    def webhook_url(self, url: str | None) -> None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError(f"the webhook URL must be http(s), got {url!r}")
        self.state.api_inbox.webhook_url = url or None

    @property
    def signing(self) -> SigningMode:
        return self._signing

    @signing.setter
    def signing(self, mode: SigningMode) -> None:
        if mode not in SIGNING_MODES:
            raise ValueError(f"signing must be one of {', '.join(SIGNING_MODES)}")
        self._signing = mode

    def client(self, *, authenticated: bool = False) -> httpx.AsyncClient:
        """An httpx client into this app in-process (it sends no token unless `authenticated`).

        The caller closes it.
        """
        headers = {"api_access_token": self.token} if authenticated else {}
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url=self.public_url, headers=headers
        )

    def throttle(self, name: str, key: str) -> None:
        """Count a request against a throttle; `ApiError` (429) past it."""
        wait = self.limits.hit(name, key)
        if wait is not None:
            raise ApiError.throttled(wait if self.limits.retry_after_header else None)

    async def settle(self) -> None:
        """Wait until no API call is being handled (a hung one included), then `drain()`."""
        async with self._quiet:
            await self._quiet.wait_for(lambda: self.in_flight == 0)
        await self.drain()

    @contextlib.asynccontextmanager
    async def handling(self) -> AsyncIterator[None]:
        """Count an API call in flight while it is handled (the app wraps each call in it)."""
        self.in_flight += 1
        try:
            yield
        finally:
            async with self._quiet:
                self.in_flight -= 1
                self._quiet.notify_all()

    # -- agent actions -------------------------------------------------------------------------

    async def agent_reply(
        self,
        conversation_id: int,
        text: str | None = None,
        *,
        attachments: Sequence[FormFile] = (),
        content_type: str = "text",
        content_attributes: dict[str, Any] | None = None,
        agent_id: int | None = None,
        bot: bool = False,
    ) -> dict[str, Any]:
        """An agent's (or, with `bot`, the agent bot's) outgoing message, as the REST API
        shows it; `attachments` are the files the agent attached."""
        return self._post(
            conversation_id,
            {
                "content": text,
                "message_type": "outgoing",
                "content_type": content_type,
                "content_attributes": content_attributes or {},
                "attachments": list(attachments),
            },
            ("agent_bot", 1) if bot else self._agent(agent_id),
        )

    async def private_note(
        self, conversation_id: int, text: str, *, agent_id: int | None = None
    ) -> dict[str, Any]:
        """A private note: an outgoing message with `private: true`, for agents only."""
        params = {"content": text, "message_type": "outgoing", "private": True}
        return self._post(conversation_id, params, self._agent(agent_id))

    async def set_status(
        self, conversation_id: int, status: str, *, agent_id: int | None = None
    ) -> dict[str, Any]:
        """Resolve, reopen ("open"), set pending or snooze a conversation, as an agent."""
        conversation = self.desk.conversation(conversation_id)
        self.desk.set_status(conversation, status, self._agent(agent_id))
        return conversation_json(conversation, self.state, self.public_url)

    async def resolve(self, conversation_id: int, *, agent_id: int | None = None) -> dict[str, Any]:
        return await self.set_status(conversation_id, "resolved", agent_id=agent_id)

    async def reopen(self, conversation_id: int, *, agent_id: int | None = None) -> dict[str, Any]:
        return await self.set_status(conversation_id, "open", agent_id=agent_id)

    async def delete_conversation(self, conversation_id: int) -> None:
        """An administrator deletes the conversation: the API then answers 404 for it."""
        self.desk.delete_conversation(self.desk.conversation(conversation_id))

    async def delete_contact(self, contact_id: int) -> None:
        """An administrator deletes the contact, its sessions and its conversations."""
        self.desk.delete_contact(self.desk.contact(contact_id))

    def _agent(self, agent_id: int | None) -> Sender:
        ident = agent_id if agent_id is not None else self.state.default_agent.id
        if ident not in self.state.agents:
            raise ApiError.not_found()
        return ("user", ident)

    def _post(self, conversation_id: int, params: dict[str, Any], actor: Sender) -> dict[str, Any]:
        conversation = self.desk.conversation(conversation_id)
        message = self.desk.post_message(conversation, params, actor)
        return message_json(message, self.state, self.public_url)

    # -- readers -------------------------------------------------------------------------------

    def contacts(self, identifier: str | None = None) -> list[dict[str, Any]]:
        """Every contact (or those with this exact identifier), as the API shows them."""
        found = [
            c
            for c in self.state.contacts.values()
            if identifier is None or c.identifier == identifier
        ]
        return [contact_json(c, self.state) for c in found]

    def conversations(self, contact_id: int | None = None) -> list[dict[str, Any]]:
        """Conversations (of one contact, or all), the latest activity first."""
        found = sorted(
            (
                c
                for c in self.state.conversations.values()
                if contact_id is None or c.contact_id == contact_id
            ),
            key=lambda c: -c.last_activity_at,
        )
        return [conversation_json(c, self.state, self.public_url) for c in found]

    def conversation_messages(self, conversation_id: int) -> list[dict[str, Any]]:
        """Every message of the conversation, **oldest first**, notes and activities included."""
        conversation = self.desk.conversation(conversation_id)
        return [
            message_json(m, self.state, self.public_url)
            for m in self.state.messages[conversation.id]
        ]

    # -- webhooks ------------------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        inbox = self.state.inboxes[
            event.message.inbox_id
            if isinstance(event, MessageCreated)
            else event.conversation.inbox_id
        ]
        if isinstance(event, MessageCreated):
            if event.message.message_type not in _WEBHOOK_MESSAGE_TYPES:
                return
            payload = message_webhook(event.message, self.state, self.public_url, "message_created")
            conversation = self.state.conversations[event.message.conversation_id]
        elif isinstance(event, StatusChanged):
            changes = {"status": (event.previous, event.conversation.status)}
            conversation = event.conversation
            payload = conversation_webhook(
                conversation, self.state, self.public_url, "conversation_status_changed", changes
            )
        else:
            assert isinstance(event, ConversationCreated)
            conversation = event.conversation
            payload = conversation_webhook(
                conversation, self.state, self.public_url, "conversation_created"
            )
        self.emitted.append(payload)
        if inbox.channel_type != "Channel::Api" or inbox.webhook_url is None:
            return
        key = {"secret": inbox.secret, "hmac_token": inbox.hmac_token}.get(self.signing)
        message = event.message if isinstance(event, MessageCreated) else None
        self.webhooks.send(
            inbox.webhook_url,
            payload,
            key=key,
            conversation_id=conversation.display_id,
            copies=self.faults.webhook_copies,
            given_up=(lambda: _mark_failed(message)) if message is not None else None,
        )


def _mark_failed(message: Message) -> None:
    # Chatwoot flags an API inbox's message whose webhook failed, for the agent to see.
    message.status = "failed"
    message.content_attributes["external_error"] = "Webhook delivery to the API inbox failed"
