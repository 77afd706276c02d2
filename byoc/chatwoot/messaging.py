"""`ChatwootMessaging`: the `Messaging` contract over a Chatwoot API inbox and its webhooks.

Each contract method is one Chatwoot call; the steady state (a known user's message, an agent's
reply) is one call each way, and a new user's first message costs two. How the contract's words
map onto Chatwoot:

| contract                | Chatwoot                                                            |
|-------------------------|---------------------------------------------------------------------|
| user id                 | `<contact id>:<source id>` (`identity.UserId`)                       |
| reference id            | the contact's `identifier`, and its source id in the inbox           |
| `get_or_create_user`    | `POST /contacts`; when the identifier is taken (422), `find_user`    |
| `find_user`             | `POST /contacts/filter` on `identifier` (exact; the search is not)  |
| `create_user`           | `POST /contacts` with the inbox and `source_id` = the reference id  |
| `get_user`              | `GET /contacts/{id}`                                                 |
| `list_conversations`    | `GET /contacts/{id}/conversations`, those of the bridge's inbox      |
| `create_conversation`   | `POST /conversations` from the user id, its first message inside     |
| `post_message`          | `POST /conversations/{id}/messages`, media as multipart attachments |
| `find_posted`           | `GET /conversations/{id}/messages`: the contact's latest 20          |
| `rehost`, `rehost_media` | no call: the part holds its bytes until the message call           |
| `check`                 | `GET /inboxes/{id}`                                                  |

```python
messaging = ChatwootMessaging.from_env(os.environ)
user = await messaging.get_or_create_user("viber:jc9HsWTZ2Yf2NkRZ8KcNug==", None)
posted = await messaging.create_conversation(user.id, [Text(text="hello")])
```
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs
import httpx
from typing_extensions import Self, override

from ..channel import AccountCheck, require_setting
from ..clock import Clock, SystemClock
from ..errors import ConfigurationError, PermanentError
from ..freshness import FreshnessWindow
from ..media import HeldMedia, MediaPart, MediaStream, held, hold, read_within
from ..messaging import HelpdeskUser, Messaging, MessagingEvent, Posted
from ..models import File, Image, Part, Profile, Video
from ..webhook import WebhookRequest
from .client import ChatwootClient, ChatwootRefused, Upload
from .identity import UserId, contact_user, exact_contact
from .media import fetch, missing_note, upload_of
from .parts import ChatwootDraft, to_chatwoot
from .signature import DEFAULT_WINDOW, DELIVERY_HEADER, verify_signature
from .webhooks import parse_webhook_body

__all__ = ["DEFAULT_MAX_MEDIA_BYTES", "ChatwootMessaging"]

_LOG = logging.getLogger("byoc.chatwoot")

DEFAULT_MAX_MEDIA_BYTES = 40 * 1024 * 1024
"""Chatwoot's default attachment limit (`MAXIMUM_FILE_UPLOAD_SIZE`); larger media stays a link."""

_SECRET_HELP = (
    "set BYOC_CHATWOOT_HMAC_TOKEN to the webhook secret of the API inbox (Settings > Inboxes > "
    "<the inbox> > Configuration), or set BYOC_CHATWOOT_VERIFY_SIGNATURES=false to accept "
    "unsigned webhooks (unsafe: anyone who finds the URL can then message your users as an "
    "agent; only for Chatwoot before 4.13, which does not sign)"
)
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_INCOMING = 0
_VERIFY = "BYOC_CHATWOOT_VERIFY_SIGNATURES"

JsonObject = dict[str, Any]


class ChatwootMessaging(Messaging):
    """A Chatwoot API inbox, as the bridge sees it.

    - `url`: the installation's base URL; `account_id`, `inbox_id`: where users and
      conversations live (the inbox must be an API inbox whose webhook URL is the bridge's).
    - `token`: an access token of a user (or agent bot) that may use the inbox.
    - `hmac_token`: the secret that verifies `X-Chatwoot-Signature`; required unless
      `verify_signatures=False`, which logs a warning because it lets anyone fake agent replies.
    - `freshness`: how old (`BYOC_CHATWOOT_MAX_WEBHOOK_AGE`) and how far ahead
      (`BYOC_CHATWOOT_WEBHOOK_CLOCK_SKEW`) a delivery's signed timestamp may be, default 5
      minutes each; `clock` tells the time.
    - `http`: an httpx client to share (it stays the caller's to close).
    - `max_media_bytes`, `media_timeout`: bounds of each attachment's download.
    """

    title = "Chatwoot"
    webhook_help = (
        "Paste this URL in Chatwoot as the API inbox's Webhook URL: Settings > Inboxes > "
        "<the inbox> > Configuration; its webhook secret goes in BYOC_CHATWOOT_HMAC_TOKEN."
    )

    def __init__(
        self,
        *,
        url: str,
        account_id: int,
        inbox_id: int,
        token: str,
        hmac_token: str | None = None,
        verify_signatures: bool = True,
        freshness: FreshnessWindow = DEFAULT_WINDOW,
        clock: Clock | None = None,
        http: httpx.AsyncClient | None = None,
        timeout: float = 15.0,
        max_media_bytes: int = DEFAULT_MAX_MEDIA_BYTES,
        media_timeout: float = 60.0,
    ) -> None:
        for name, value in (("account_id", account_id), ("inbox_id", inbox_id)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"Chatwoot {name} must be a positive integer")
        self._secret: str | None = None
        if verify_signatures:
            if not hmac_token or not hmac_token.strip():
                raise ConfigurationError(
                    f"no Chatwoot webhook secret to verify with; {_SECRET_HELP}"
                )
            self._secret = hmac_token.strip()
        else:
            _LOG.warning(
                "Chatwoot webhook signatures are NOT verified "
                "(BYOC_CHATWOOT_VERIFY_SIGNATURES=false): anyone who can reach the messaging "
                "webhook URL can send messages to your users as an agent"
            )
        self._client = ChatwootClient(
            url, account_id=account_id, token=token, http=http, timeout=timeout
        )
        self._account_id = account_id
        self._inbox_id = inbox_id
        self.freshness = freshness
        self._clock: Clock = clock or SystemClock()
        self.max_media_bytes = max_media_bytes
        self._media_timeout = media_timeout

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str],
        *,
        http: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
    ) -> Self:
        """Build from `BYOC_CHATWOOT_*` settings; a missing or wrong one names its fix.

        Required: `BYOC_CHATWOOT_URL`, `BYOC_CHATWOOT_ACCOUNT_ID`, `BYOC_CHATWOOT_INBOX_ID`,
        `BYOC_CHATWOOT_API_TOKEN`, `BYOC_CHATWOOT_HMAC_TOKEN` (unless
        `BYOC_CHATWOOT_VERIFY_SIGNATURES` is false/0/no/off).
        """
        return cls(
            url=require_setting(
                env,
                "BYOC_CHATWOOT_URL",
                "set it to the base URL of your Chatwoot, e.g. https://app.chatwoot.com",
            ),
            account_id=_positive_int(
                env,
                "BYOC_CHATWOOT_ACCOUNT_ID",
                "the number after /accounts/ in the dashboard's URL",
            ),
            inbox_id=_positive_int(
                env,
                "BYOC_CHATWOOT_INBOX_ID",
                "the number after /inboxes/ in the URL of the API inbox's settings page",
            ),
            token=require_setting(
                env,
                "BYOC_CHATWOOT_API_TOKEN",
                "copy the access token from Chatwoot > Profile settings > Access Token",
            ),
            hmac_token=env.get("BYOC_CHATWOOT_HMAC_TOKEN", "").strip() or None,
            verify_signatures=_verifies(env),
            freshness=FreshnessWindow.from_env(
                env,
                "BYOC_CHATWOOT_MAX_WEBHOOK_AGE",
                "BYOC_CHATWOOT_WEBHOOK_CLOCK_SKEW",
                default=DEFAULT_WINDOW,
            ),
            http=http,
            clock=clock,
        )

    @property
    def client(self) -> ChatwootClient:
        """The REST client, for calls outside the `Messaging` contract."""
        return self._client

    # -- users ---------------------------------------------------------------------------------

    @override
    async def get_or_create_user(self, reference_id: str, profile: Profile | None) -> HelpdeskUser:
        """Create the contact; find it only when Chatwoot says its identifier is taken.

        Identifiers are unique, so two bridges meeting the same person at once still make one
        contact: the second's `POST /contacts` is refused (422) and it takes the first's.
        """
        try:
            return attrs.evolve(await self.create_user(reference_id, profile), created=True)
        except ChatwootRefused as exc:
            if exc.http_status != 422 or "identifier" not in exc.attributes:
                raise
            found = await self.find_user(reference_id)
            if found is None:
                raise
            return found

    @override
    async def find_user(self, reference_id: str) -> HelpdeskUser | None:
        rule = {
            "attribute_key": "identifier",
            "filter_operator": "equal_to",
            "values": [reference_id],
            "query_operator": None,
        }
        answer = await self._client.filter_contacts([rule])
        # The filter ignores case; identifiers (base64 user ids) do not.
        contact = exact_contact(answer.get("payload"), reference_id)
        if contact is None:
            return None
        return contact_user(contact, "POST /contacts/filter", inbox_id=self._inbox_id)

    @override
    async def create_user(self, reference_id: str, profile: Profile | None) -> HelpdeskUser:
        body: JsonObject = {
            "inbox_id": self._inbox_id,
            "identifier": reference_id,
            # The webhook's conversation then names the channel user in contact_inbox.source_id.
            "source_id": reference_id,
            **_profile_fields(profile),
        }
        answer = await self._client.create_contact(body)
        payload = answer.get("payload")
        contact = payload.get("contact") if isinstance(payload, dict) else None
        if not isinstance(contact, dict):
            raise PermanentError("Chatwoot POST /contacts answered without a contact")
        session = payload.get("contact_inbox") if isinstance(payload, dict) else None
        source_id = session.get("source_id") if isinstance(session, dict) else None
        return contact_user(
            contact,
            "POST /contacts",
            inbox_id=self._inbox_id,
            source_id=source_id if isinstance(source_id, str) else None,
        )

    @override
    async def get_user(self, user_id: str) -> HelpdeskUser:
        contact_id = str(UserId.parse(user_id).contact_id)
        return contact_user(
            await self._contact(contact_id),
            f"GET /contacts/{contact_id}",
            inbox_id=self._inbox_id,
        )

    async def _contact(self, contact_id: str) -> JsonObject:
        contact = (await self._client.get_contact(contact_id)).get("payload")
        if not isinstance(contact, dict):
            raise PermanentError(f"Chatwoot GET /contacts/{contact_id} answered without a contact")
        return contact

    async def _session(self, user_id: str) -> UserId:
        """The contact and source id of `user_id`; a bare contact id (made before user ids
        carried the source id) costs one `GET /contacts/{id}`."""
        user = UserId.parse(user_id)
        if user.source_id is not None:
            return user
        found = UserId.parse((await self.get_user(user_id)).id)
        # A contact made elsewhere (no identifier, not in this inbox) gets a session here.
        return attrs.evolve(found, source_id=found.source_id or f"byoc-contact-{found.contact_id}")

    # -- conversations -------------------------------------------------------------------------

    @override
    async def list_conversations(self, user_id: str) -> list[str]:
        contact_id = str(UserId.parse(user_id).contact_id)
        answer = await self._client.contact_conversations(contact_id)
        found = answer.get("payload")
        return [
            str(c["id"])
            for c in (found if isinstance(found, list) else [])
            if isinstance(c, dict) and c.get("inbox_id") == self._inbox_id and _is_id(c.get("id"))
        ]

    @override
    async def create_conversation(self, user_id: str, parts: Sequence[Part]) -> Posted:
        session = await self._session(user_id)
        fields, uploads = await self._message(to_chatwoot(parts))
        body: JsonObject = {
            # With the contact and the inbox, Chatwoot makes the session when it is missing.
            "source_id": session.source_id,
            "inbox_id": self._inbox_id,
            "contact_id": session.contact_id,
            "status": "open",
            "message": fields,
        }
        answer = await self._client.create_conversation(body, uploads)
        if not _is_id(answer.get("id")):
            # Created, but unusable: retrying would make a second conversation.
            raise PermanentError("Chatwoot POST /conversations answered without a conversation id")
        messages = answer.get("messages")
        first = messages[0] if isinstance(messages, list) and messages else None
        message_id = (
            str(first["id"])
            if isinstance(first, dict) and _is_id(first.get("id")) and _incoming(first)
            else ""
        )
        return Posted(conversation_id=str(answer["id"]), message_id=message_id)

    @override
    async def post_message(
        self, conversation_id: str, user_id: str, parts: Sequence[Part]
    ) -> Posted:
        fields, uploads = await self._message(to_chatwoot(parts))
        answer = await self._client.create_message(conversation_id, fields, uploads)
        # The message is posted: a missing id must not turn into a retry (a duplicate).
        ident = answer.get("id")
        return Posted(
            conversation_id=conversation_id, message_id=str(ident) if _is_id(ident) else ""
        )

    async def _message(self, draft: ChatwootDraft) -> tuple[JsonObject, list[Upload]]:
        """The fields of an incoming message and its files."""
        uploads: list[Upload] = []
        notes: list[str] = []
        for part in draft.attachments:
            holding = held(part)
            if holding is None:
                # A channel whose links last: downloaded now, right before the one call.
                try:
                    holding = await self._fetch(part)
                except PermanentError:
                    notes.append(missing_note(part))
                    continue
            uploads.append(upload_of(holding))
        content = "\n".join(line for line in (draft.content, *notes) if line)
        # Chatwoot's default is "outgoing": without this the user's own words would go back
        # to them as an agent's reply.
        fields: JsonObject = {"message_type": "incoming", "private": False}
        if content:
            fields["content"] = content
        return fields, uploads

    async def _fetch(self, part: MediaPart) -> HeldMedia:
        return await fetch(
            self._client.http,
            part,
            max_bytes=self.max_media_bytes,
            timeout=self._media_timeout,
        )

    # -- media ---------------------------------------------------------------------------------

    @override
    async def rehost(self, part: Part) -> Part:
        """No call: the file is downloaded now, while its link works, and the part holds it
        until the message call (Chatwoot has no upload step for an API inbox)."""
        if not isinstance(part, Image | Video | File) or held(part) is not None:
            return part
        return await self._fetch(part)

    @override
    async def rehost_media(self, part: MediaPart, media: MediaStream) -> Part:
        """No call: the part holds the bytes the channel fetched until the message call."""
        return hold(part, await read_within(media, self._media_timeout), media.content_type)

    @override
    async def find_posted(
        self, conversation_id: str, user_id: str, parts: Sequence[Part], since: datetime
    ) -> list[Posted]:
        # One page (the latest 20) is enough: only the lane's head can be in doubt, and the
        # user's later messages wait behind it.
        contact_id = UserId.parse(user_id).contact_id
        answer = await self._client.list_messages(conversation_id)
        listed = answer.get("payload")
        draft = to_chatwoot(parts)
        cutoff = int(since.timestamp())  # Chatwoot's REST times are whole seconds
        found = []
        for message in reversed(listed if isinstance(listed, list) else []):
            if not isinstance(message, dict) or not _incoming(message) or message.get("private"):
                continue
            sender = message.get("sender")
            if not isinstance(sender, dict) or sender.get("id") != contact_id:
                continue
            created = message.get("created_at")
            if isinstance(created, int) and created < cutoff:
                break  # newest first: everything after this is older still
            if _same_message(message, draft) and _is_id(message.get("id")):
                found.append(Posted(conversation_id=conversation_id, message_id=str(message["id"])))
        return found

    # -- webhooks ------------------------------------------------------------------------------

    @override
    async def parse_webhook(self, request: WebhookRequest) -> Sequence[MessagingEvent]:
        if self._secret is not None:
            verify_signature(
                self._secret,
                request.body,
                request.headers,
                now=self._clock.time(),
                window=self.freshness,
            )
        return parse_webhook_body(
            request.body,
            inbox_id=self._inbox_id,
            account_id=self._account_id,
            delivery_id=request.header(DELIVERY_HEADER),
        )

    # -- lifecycle -----------------------------------------------------------------------------

    @override
    async def check(self) -> AccountCheck:
        """The inbox (`GET /inboxes/{id}`): proves URL, account, token and inbox, that the
        inbox is an API inbox, and tells where its webhooks go."""
        inbox = await self._client.get_inbox(self._inbox_id)
        kind = inbox.get("channel_type")
        if kind != "Channel::Api":
            raise ConfigurationError(
                f"Chatwoot inbox {self._inbox_id} is a {kind or 'unknown'} inbox, not an API "
                "inbox: create one under Settings > Inboxes > Add Inbox > API and set "
                "BYOC_CHATWOOT_INBOX_ID to its id"
            )
        name, webhook = inbox.get("name"), inbox.get("webhook_url")
        return AccountCheck(
            account=f"inbox {name!r}" if isinstance(name, str) and name else None,
            webhook=webhook if isinstance(webhook, str) and webhook else None,
            reports_webhook=True,
        )

    @override
    async def aclose(self) -> None:
        await self._client.aclose()


def _same_message(message: JsonObject, draft: ChatwootDraft) -> bool:
    """Whether a listed message is what `draft` became: its text, with a note in place of each
    attachment that could not be fetched, and the rest attached."""
    content = message.get("content")
    lines = content.split("\n") if isinstance(content, str) and content else []
    notes = {missing_note(m) for m in draft.attachments}
    kept = [line for line in lines if line not in notes]
    attachments = message.get("attachments")
    attached = len(attachments) if isinstance(attachments, list) else 0
    return "\n".join(kept) == draft.content and attached + len(lines) - len(kept) == len(
        draft.attachments
    )


def _incoming(message: JsonObject) -> bool:
    return message.get("message_type") in (_INCOMING, "incoming")


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _profile_fields(profile: Profile | None) -> JsonObject:
    if profile is None:
        return {}
    fields: JsonObject = {}
    if profile.name:
        fields["name"] = profile.name[:255]
    if profile.avatar_url:
        fields["avatar_url"] = profile.avatar_url
    attributes = {
        key: value
        for key, value in (("country_code", profile.country), ("language", profile.language))
        if value
    }
    if attributes:
        fields["additional_attributes"] = attributes
    return fields


def _positive_int(env: Mapping[str, str], key: str, where: str) -> int:
    raw = require_setting(env, key, where)
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise ConfigurationError(f"{key} must be a positive integer (got {raw!r}); {where}")
    return int(raw)


def _verifies(env: Mapping[str, str]) -> bool:
    raw = env.get(_VERIFY, "").strip().lower()
    if raw in _FALSE:
        return False
    if raw and raw not in _TRUE:
        raise ConfigurationError(f"{_VERIFY} must be true or false (got {raw!r})")
    return True
