"""What `byoc serve` runs: the configured bridge, or the demo on the bundled emulators.

```python
service = build_service(load_settings())   # settings.demo → DemoWorld, else build_bridge()
# service.app is the ASGI app to serve; service.bridge the bridge inside it
```

The demo is made of the test doubles (`byoc.testing`): the command line is the one layer that
may reach them.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

import attrs

from ..asgi import ASGIApp
from ..bridge import Bridge
from ..service import build_bridge
from ..settings import Settings

__all__ = ["Service", "build_service"]


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
    serving_at: Callable[[str], Awaitable[None]] | None = None
    """Told the base URL once the server listens (the demo then shows reachable URLs)."""


def build_service(settings: Settings) -> Service:
    """The demo when no help desk's credential is set (on the emulator of the help desk
    `BYOC_MESSAGING` names), else the configured bridge."""
    if not settings.demo:
        bridge = build_bridge(settings)
        return Service(app=bridge, bridge=bridge, demo=False)
    from ..demo import DemoWorld, choose_kits

    generated = None
    token = settings.admin_token.reveal() if settings.admin_token else None
    if token is None:
        token = generated = secrets.token_urlsafe(18)
    # The demo plays each kind once: `viber-eu` (a second Viber account) is the Viber kit.
    kinds = None
    if settings.channel_names is not None:
        kinds = list(dict.fromkeys(settings.channel_kind(n) for n in settings.channel_names))
    kits = choose_kits(kinds, every=True)
    world = DemoWorld(
        kits, admin_token=token, delivery=settings.delivery, helpdesk=settings.messaging
    )
    world.bridge.shutdown_grace = settings.shutdown_grace
    return Service(
        app=world,
        bridge=world.bridge,
        demo=True,
        hints=tuple(world.control_hints("{base}")),
        admin_token_generated=generated,
        serving_at=world.serve_at,
    )
