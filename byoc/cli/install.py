"""`byoc install [CHANNEL...]` and `byoc uninstall [CHANNEL...]`: the channels' webhooks.

`install` registers `<BYOC_PUBLIC_URL>/channels/<name>/webhook` with each channel that has an
API for it (Viber calls the URL back while registering it, so `byoc serve` must be running and
reachable there), prints the URL to paste for the others, and the Freshchat webhook URL. What
it did is kept in the store, where the admin page shows it. It needs the channels and the store,
not the help desk: no Freshchat call is made.

The URL to paste is printed whole (a dealer's holds the webhook secret: it is what must be
pasted); the instructions and errors around it go through `byoc.redaction.displayable`, so no
other credential (a Kakao sender key, a token a channel's API echoed) is printed.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from typing import Any, TextIO

from ..errors import ByocError, ConfigurationError
from ..installs import Installs
from ..redaction import Redactor, displayable
from ..service import build_channels, open_store
from ..settings import Settings
from .config import add_config_option, redact_logs, settings_from

__all__ = ["install_channels", "register"]


def register(sub: Any) -> None:
    for name, text, run in (
        ("install", "register the channels' webhooks (or print the URLs to paste)", _install),
        ("uninstall", "unregister the channels' webhooks", _uninstall),
    ):
        parser: argparse.ArgumentParser = sub.add_parser(name, help=text, description=text)
        parser.add_argument(
            "channels", nargs="*", metavar="CHANNEL", help="channel names (default: every one)"
        )
        add_config_option(parser)
        parser.set_defaults(run=run)


def _installs(settings: Settings, verb: str) -> Installs:
    """The channels' registrations, from the settings: no help desk, no delivery workers."""
    if settings.demo:
        raise ConfigurationError(
            f"nothing to {verb}: no help-desk credentials are set (BYOC_FRESHCHAT_API_URL and "
            "BYOC_FRESHCHAT_API_TOKEN, or BYOC_CHATWOOT_URL and BYOC_CHATWOOT_API_TOKEN), so "
            "`byoc serve` runs the demo, which registers its emulated channels itself. Set them "
            "to connect real services (docs/quickstart.md)"
        )
    channels = build_channels(settings)
    # Beside a running `byoc serve`, which holds a SQLite file exclusively.
    store = open_store(settings.store_url.reveal(), exclusive=False)
    for channel in channels:
        channel.bind(store)
    return Installs({c.name: c for c in channels}, store, public_url=settings.public_url)


async def _close(installs: Installs) -> None:
    for channel in installs.channels.values():
        await channel.aclose()
    await installs.store.aclose()


async def install_channels(
    installs: Installs,
    names: Sequence[str] | None,
    *,
    out: TextIO,
    redactor: Redactor | None = None,
) -> bool:
    """Install each channel, printing what was done or what to paste; False if one failed.

    `redactor` blanks the settings' credentials out of instructions and errors (those of the
    settings a bridge was built from are blanked anyway).
    """
    ok = True
    for name in names or list(installs.channels):
        try:
            results = await installs.install([name])
        except ByocError as exc:
            ok = False
            print(f"{name}: FAILED: {displayable(str(exc), redactor)}", file=out)
            print(
                f"  Is `byoc serve` running and reachable at {installs.public_url}? Channels "
                "that register by API call the URL back while registering it.",
                file=out,
            )
            continue
        result = results[name]
        if result.registered:
            print(f"{name}: registered {result.target_url}", file=out)
        else:
            print(f"{name}: paste this URL by hand:\n  {result.target_url}", file=out)
        if result.instructions:
            print(f"  {displayable(result.instructions, redactor)}", file=out)
    print(
        "freshchat: paste this URL in Freshchat Admin > Marketplace & Integrations > "
        f"Conversation Webhooks:\n  {installs.messaging_webhook_url()}\n"
        "  and copy the public key shown there into BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY.",
        file=out,
    )
    return ok


async def _run_install(installs: Installs, names: Sequence[str] | None, redactor: Redactor) -> int:
    import sys

    try:
        done = await install_channels(installs, names, out=sys.stdout, redactor=redactor)
        return 0 if done else 1
    finally:
        await _close(installs)


async def _run_uninstall(
    installs: Installs, names: Sequence[str] | None, redactor: Redactor
) -> int:
    failed = False
    try:
        for name in names or list(installs.channels):
            try:
                await installs.uninstall([name])
            except ByocError as exc:
                failed = True
                print(f"{name}: FAILED: {displayable(str(exc), redactor)}")
                continue
            print(f"{name}: uninstalled (the channel no longer calls the bridge)")
    finally:
        await _close(installs)
    return 1 if failed else 0


def _check_names(installs: Installs, names: Sequence[str]) -> None:
    unknown = [n for n in names if n not in installs.channels]
    if unknown:
        raise ConfigurationError(
            f"{', '.join(unknown)}: not enabled (enabled: {', '.join(installs.channels)}); "
            "configure it or add it to BYOC_CHANNELS"
        )


def _install(args: argparse.Namespace, rest: list[str]) -> int:
    settings = settings_from(args)
    redact_logs(settings)
    settings.require_public_url("`byoc install` registers <public URL>/channels/<name>/webhook")
    installs = _installs(settings, "install")
    _check_names(installs, args.channels)
    return asyncio.run(_run_install(installs, args.channels or None, settings.redactor()))


def _uninstall(args: argparse.Namespace, rest: list[str]) -> int:
    settings = settings_from(args)
    redact_logs(settings)
    installs = _installs(settings, "uninstall")
    _check_names(installs, args.channels)
    return asyncio.run(_run_uninstall(installs, args.channels or None, settings.redactor()))
