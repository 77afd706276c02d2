"""From `Settings` to what `byoc serve` runs: the configured bridge, or the demo.

```python
settings = load_settings()
service = build_service(settings)     # settings.demo → DemoWorld, else a Bridge on SQLite
# service.app is the ASGI app to serve; service.bridge the bridge inside it
```
"""

from __future__ import annotations

import secrets

import attrs

from .asgi import ASGIApp
from .bridge import Bridge
from .channel import Channel
from .errors import ConfigurationError
from .settings import Settings, load_settings
from .store import Store

__all__ = ["Service", "build_bridge", "build_channels", "build_service", "open_store"]


@attrs.frozen(kw_only=True)
class Service:
    """What one `byoc serve` process runs.

    `admin_token_generated` is set in the demo when no `BYOC_ADMIN_TOKEN` was given: a token
    made for this run, printed so the newcomer can open the admin page.
    """

    app: ASGIApp
    bridge: Bridge
    demo: bool
    hints: tuple[str, ...] = ()
    admin_token_generated: str | None = None


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

    channels = build_channels(settings)
    messaging = FreshchatMessaging.from_env(settings.values)
    return Bridge(
        messaging=messaging,
        channels=channels,
        store=open_store(settings.store),
        public_url=settings.public_url,
        delivery=settings.delivery,
        admin_token=settings.admin_token.reveal() if settings.admin_token else None,
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


def build_service(settings: Settings) -> Service:
    """The demo when no Freshchat credential is set, else the configured bridge."""
    if not settings.demo:
        bridge = build_bridge(settings)
        return Service(app=bridge, bridge=bridge, demo=False)
    from .demo import DemoWorld, choose_kits

    generated = None
    token = settings.admin_token.reveal() if settings.admin_token else None
    if token is None:
        token = generated = secrets.token_urlsafe(18)
    kits = choose_kits(settings.channel_names, every=True)
    world = DemoWorld(kits, admin_token=token, delivery=settings.delivery)
    world.bridge.shutdown_grace = settings.shutdown_grace
    return Service(
        app=world,
        bridge=world.bridge,
        demo=True,
        hints=tuple(world.control_hints("{base}")),
        admin_token_generated=generated,
    )
