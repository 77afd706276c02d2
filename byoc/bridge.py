"""`Bridge`: channels + help desk + store, wired together and served as an ASGI app.

```python
bridge = Bridge(
    messaging=FreshchatMessaging.from_env(os.environ),
    channels=[ViberChannel.from_env(os.environ)],
    store=SQLiteStore("byoc.sqlite3"),
)
app = bridge          # any ASGI server, or mount it in FastAPI/Starlette/... under any prefix
```

Routes: `POST /channels/{name}/webhook` (a channel's target URL), `POST /messaging/webhook`
(Freshchat webhooks), `GET /healthz`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from .asgi import Receive, Scope, Send
from .channel import Channel, InstallResult
from .errors import ConfigurationError, NotFound
from .http import BridgeApp
from .messaging import AgentMessage, ConversationChanged, Messaging
from .store import MemoryStore, Store
from .sync import Outcome, ReferenceIds, ResolvedPolicy, Sync
from .webhook import WebhookRequest, WebhookResponse

__all__ = ["Bridge"]

log = logging.getLogger("byoc.bridge")

DEFAULT_MAX_BODY_SIZE = 1024 * 1024


def _target_url_key(name: str) -> str:
    return f"target_url:{name}"


class Bridge:
    """The bridge. Call it as an ASGI app; `install()` registers the channels' webhooks."""

    def __init__(
        self,
        *,
        messaging: Messaging,
        channels: Sequence[Channel],
        store: Store | None = None,
        public_url: str | None = None,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        reference_ids: ReferenceIds | None = None,
        resolved_policy: ResolvedPolicy = ResolvedPolicy.REOPEN,
    ) -> None:
        names = [c.name for c in channels]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigurationError(
                f"two channels share the name {duplicates[0]!r}; names must differ"
            )
        if store is None:
            log.warning("no store given: using memory, so mappings are lost on restart")
            store = MemoryStore()
        self.messaging = messaging
        self.channels = {c.name: c for c in channels}
        self.store = store
        self.public_url = public_url.rstrip("/") if public_url else None
        self.max_body_size = max_body_size
        for channel in channels:
            channel.bind(store)
        self.sync = Sync(
            messaging=messaging,
            channels=self.channels,
            store=store,
            reference_ids=reference_ids,
            resolved_policy=resolved_policy,
        )
        self.app = BridgeApp(self)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    # -- webhooks --------------------------------------------------------------------------

    async def handle_channel_webhook(self, name: str, request: WebhookRequest) -> WebhookResponse:
        """Verify, parse and deliver a channel's webhook; answer what the channel expects."""
        channel = self.channels.get(name)
        if channel is None:
            raise NotFound(
                f"no channel named {name!r} is enabled "
                f"(enabled: {', '.join(self.channels) or 'none'})"
            )
        events = await channel.parse(request)
        for event in events:
            await self.sync.deliver_event(event)
        return await channel.ack(request, events)

    async def handle_messaging_webhook(self, request: WebhookRequest) -> WebhookResponse:
        """Verify and parse a help-desk webhook; send agent replies to their users."""
        for event in await self.messaging.parse_webhook(request):
            if isinstance(event, AgentMessage):
                outcome = await self.sync.deliver_reply(event)
            elif isinstance(event, ConversationChanged):
                outcome = await self.sync.conversation_changed(event)
            else:
                outcome = Outcome.IGNORED
            log.debug("help-desk event %s: %s", type(event).__name__, outcome.value)
        return WebhookResponse()

    # -- installation ----------------------------------------------------------------------

    def target_url(self, name: str, public_url: str | None = None) -> str:
        """The URL a channel must call: `<public URL>/channels/<name>/webhook`."""
        base = (public_url or self.public_url or "").rstrip("/")
        if not base:
            raise ConfigurationError(
                "the bridge's public URL is not set; set BYOC_PUBLIC_URL (or pass public_url=) "
                "to the HTTPS address where this bridge is reachable, e.g. https://byoc.example.com"
            )
        return f"{base}/channels/{name}/webhook"

    def messaging_webhook_url(self, public_url: str | None = None) -> str:
        """The URL to paste into the help desk's webhook settings."""
        return self.target_url("_", public_url).replace("/channels/_/webhook", "/messaging/webhook")

    async def install(
        self, names: Iterable[str] | None = None, *, public_url: str | None = None
    ) -> dict[str, InstallResult]:
        """Register each channel's webhook (or record the URL to paste by hand).

        Channels such as Viber call the URL back while registering it, so the bridge must
        already be serving it when this runs.
        """
        results: dict[str, InstallResult] = {}
        for name in names if names is not None else list(self.channels):
            channel = self.channels.get(name)
            if channel is None:
                raise ConfigurationError(f"no channel named {name!r} is enabled")
            result = await channel.install(self.target_url(name, public_url))
            await self.store.set_setting(_target_url_key(name), result.target_url)
            results[name] = result
        return results

    async def uninstall(self, names: Iterable[str] | None = None) -> None:
        for name in names if names is not None else list(self.channels):
            await self.channels[name].uninstall()

    async def installed_url(self, name: str) -> str | None:
        """The target URL recorded by the last `install()` of a channel."""
        return await self.store.get_setting(_target_url_key(name))

    async def aclose(self) -> None:
        """Close channels, help desk and store."""
        for channel in self.channels.values():
            await channel.aclose()
        await self.messaging.aclose()
        await self.store.aclose()
