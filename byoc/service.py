"""From `Settings` to a bridge: the one way settings become a `Bridge`.

```python
bridge = build_bridge(load_settings())   # Freshchat, the configured channels, the store
```

`byoc serve` runs this bridge, or the demo when no Freshchat credential is set
(`byoc.cli.service`).
"""

from __future__ import annotations

from .bridge import Bridge
from .channel import Channel
from .errors import ConfigurationError
from .redaction import remember_secrets
from .settings import Settings, load_settings
from .store import Store
from .sync import Notices

__all__ = ["build_bridge", "build_channels", "open_store"]


def build_channels(settings: Settings) -> list[Channel]:
    """The channels the settings enable; a `ConfigurationError` saying why when there is none."""
    choice = settings.choose_channels()
    if not choice.enabled:
        why = "; ".join(f"{name}: {reason}" for name, reason in sorted(choice.skipped.items()))
        raise ConfigurationError(
            "no channel is configured, so the bridge would have nothing to bridge. Set a "
            "channel's settings (e.g. BYOC_VIBER_AUTH_TOKEN and BYOC_VIBER_SENDER_NAME; "
            f"`byoc channels` lists the installed ones). {why}"
        )
    return list(choice.enabled)


def build_bridge(settings: Settings | None = None) -> Bridge:
    """The bridge the settings describe: Freshchat, the enabled channels, the store.

    The one way settings become a bridge: `byoc serve`, the CLI and the framework examples all
    call it. Without `settings`, they are read from the environment and `BYOC_CONFIG`.

    ```python
    from byoc import build_bridge

    bridge = build_bridge()          # BYOC_* settings; mount it in any ASGI framework
    ```
    """
    from .freshchat import FreshchatMessaging

    if settings is None:
        settings = load_settings()
    # The admin page shows what came from upstream through `displayable`: with these blanked.
    remember_secrets(settings.values)

    channels = build_channels(settings)
    messaging = FreshchatMessaging.from_env(settings.values)
    notices = {}
    for channel in channels:
        assigned, resolved = settings.notice_texts(channel.name)
        if assigned or resolved:
            notices[channel.name] = Notices(assigned=assigned, resolved=resolved)
    return Bridge(
        messaging=messaging,
        channels=channels,
        notices=notices,
        store=open_store(settings.store),
        public_url=settings.public_url,
        delivery=settings.delivery,
        admin_token=settings.admin_token.reveal() if settings.admin_token else None,
        metrics_token=settings.metrics_token.reveal() if settings.metrics_token else None,
        shutdown_grace=settings.shutdown_grace,
    )


def open_store(path: str) -> Store:
    """The SQLite store at `path`; a `ConfigurationError` naming `BYOC_STORE` if it cannot open."""
    from .store.sqlite import SQLiteStore

    try:
        return SQLiteStore(path)
    except ConfigurationError:
        raise
    except Exception as exc:
        raise ConfigurationError(
            f"cannot open the store {path} ({type(exc).__name__}: {exc}); check BYOC_STORE and "
            "that its directory exists and is writable"
        ) from exc
