"""`byoc check`: is the configuration complete, and do the credentials work?

Each check makes at most one cheap, read-only upstream call (Freshchat
`GET /accounts/configuration`, Viber `get_account_info`) and reports a `Finding`: ok, a
warning (works, but something will bite later) or a failure whose message says how to fix it.

The checks run at once, each given at most `timeout` seconds (5 by default): a dead service
costs one timeout, not one per check, and a caller hears of each finding as its check ends.

```python
findings = await run_checks(settings, timeout=5.0, report=print)
```
"""

from __future__ import annotations

import asyncio
import inspect
import warnings
from collections.abc import Awaitable, Callable
from typing import Literal

import attrs

from .channel import AccountCheck, Channel
from .errors import ByocError, ConfigurationError, PermanentError, RetryableError
from .settings import ChannelChoice, Settings

__all__ = ["DEFAULT_TIMEOUT", "Finding", "account_check", "planned_subjects", "run_checks"]

Status = Literal["ok", "warn", "fail", "skip"]

DEFAULT_TIMEOUT = 5.0
"""Seconds each check may take: a live service answers a read-only call well within it."""


@attrs.frozen(kw_only=True)
class Finding:
    """One line of `byoc check`: what was checked, how it went, what to do."""

    subject: str
    status: Status
    message: str


async def _freshchat(settings: Settings) -> list[Finding]:
    from .freshchat import FreshchatMessaging

    if settings.demo:
        return [
            Finding(
                subject="freshchat",
                status="fail",
                message="no Freshchat credentials: BYOC_FRESHCHAT_API_URL and "
                "BYOC_FRESHCHAT_API_TOKEN are not set, so `byoc serve` runs the demo on "
                "emulators. Set them (the token is in Freshchat Admin > API Tokens) to connect "
                "your account; see docs/configuration.md",
            )
        ]
    url = settings.values.get("BYOC_FRESHCHAT_API_URL", "").strip()
    try:
        messaging = FreshchatMessaging.from_env(settings.values)
    except ConfigurationError as exc:
        return [Finding(subject="freshchat", status="fail", message=str(exc))]
    try:
        account = await messaging.check()
    except ConfigurationError as exc:
        return [Finding(subject="freshchat", status="fail", message=str(exc))]
    except RetryableError as exc:
        message = (
            f"cannot reach Freshchat at {url}: {exc}. Check BYOC_FRESHCHAT_API_URL and that "
            "this machine can reach it (proxy, firewall)"
        )
        return [Finding(subject="freshchat", status="fail", message=message)]
    except PermanentError as exc:
        message = (
            f"Freshchat at {url} refused the account check: {exc}. Check "
            "BYOC_FRESHCHAT_API_URL: it is your account's API address and ends in /v2"
        )
        return [Finding(subject="freshchat", status="fail", message=message)]
    finally:
        await messaging.aclose()
    name = account.get("account_domain") or account.get("account_id") or "the account"
    found = [
        Finding(
            subject="freshchat",
            status="ok",
            message=f"API URL and token work ({name} at {url})",
        )
    ]
    if messaging.webhook_key_missing:
        found.append(
            Finding(
                subject="freshchat webhooks",
                status="fail",
                message="BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY is not set, so agent replies are "
                "refused: paste the bridge's /messaging/webhook URL (printed by `byoc install`) "
                "in Freshchat Admin > Marketplace & Integrations > Conversation Webhooks, then "
                "copy the public key shown there into it and restart the bridge",
            )
        )
    return found


async def account_check(channel: Channel) -> AccountCheck | None:
    """`channel.check()`; for a plugin written before it was declared, its `account_info()`.

    Such a plugin's own `check()` / `account_info()` may answer anything with a `name` and a
    `webhook`, synchronously or not; that still works, with a `DeprecationWarning`.
    """
    answer: object
    if type(channel).check is not Channel.check:
        hook, answer = "check()", channel.check()
    else:
        legacy = getattr(channel, "account_info", None)
        if not callable(legacy):
            return None
        hook, answer = "account_info()", legacy()
    if inspect.isawaitable(answer):
        answer = await answer
    if isinstance(answer, AccountCheck):
        return answer
    if answer is None and hook == "check()":
        return None
    warnings.warn(
        f"{type(channel).__name__}.{hook} answered a {type(answer).__name__}: `byoc check` "
        "now calls Channel.check(), which returns an AccountCheck; the duck-typed hook is "
        "deprecated",
        DeprecationWarning,
        stacklevel=2,
    )
    webhook = getattr(answer, "webhook", None)
    title = getattr(answer, "name", None)
    return AccountCheck(
        account=str(title) if title else None,
        webhook=str(webhook) if webhook else None,
        reports_webhook=hasattr(answer, "webhook"),
    )


async def _channel(channel: Channel, settings: Settings) -> Finding:
    name = channel.name
    try:
        answer = await account_check(channel)
    except ConfigurationError as exc:
        return Finding(subject=name, status="fail", message=str(exc))
    except RetryableError as exc:
        return Finding(
            subject=name,
            status="fail",
            message=f"cannot reach the {name} API: {exc}. Check its API URL setting and the "
            "network",
        )
    except ByocError as exc:
        return Finding(subject=name, status="fail", message=f"the {name} API refused: {exc}")
    finally:
        await channel.aclose()
    if answer is None:
        return Finding(
            subject=name,
            status="ok",
            message="configured (the channel has no account call to test its credentials with)",
        )
    said = (
        f"credentials work (account {answer.account!r})" if answer.account else "credentials work"
    )
    if not answer.reports_webhook:
        return Finding(subject=name, status="ok", message=said)
    webhook = answer.webhook
    expected = f"{settings.public_url}/channels/{name}/webhook" if settings.public_url else None
    if not webhook:
        return Finding(
            subject=name,
            status="warn",
            message=f"{said}, but no webhook is registered: run `byoc install {name}` while "
            "`byoc serve` is running",
        )
    if expected is not None and webhook != expected:
        return Finding(
            subject=name,
            status="warn",
            message=f"{said}, but its webhook is {webhook}, not {expected}: run "
            f"`byoc install {name}` while `byoc serve` is running",
        )
    return Finding(subject=name, status="ok", message=f"{said}; webhook {webhook}")


def _channel_choice(settings: Settings, choice: ChannelChoice) -> list[Finding]:
    """What the settings say of the channels, before any call: skipped, broken, none."""
    found = [
        Finding(subject=name, status="skip", message=f"not enabled: {reason}")
        for name, reason in sorted(choice.skipped.items())
    ]
    found += [
        Finding(subject=name, status="fail", message=f"broken, left out: {error}")
        for name, error in sorted(choice.broken.items())
    ]
    if not choice.enabled and not settings.demo:
        found.append(
            Finding(
                subject="channels",
                status="fail",
                message="no channel is configured; set one channel's settings (e.g. "
                "BYOC_VIBER_AUTH_TOKEN and BYOC_VIBER_SENDER_NAME) or list them in BYOC_CHANNELS",
            )
        )
    return found


def _public_url(settings: Settings) -> Finding:
    url = settings.public_url
    if url is None:
        return Finding(
            subject="public url",
            status="warn",
            message="BYOC_PUBLIC_URL is not set: `byoc install` and the admin page need the "
            "HTTPS address where this bridge is reachable",
        )
    if not url.startswith("https://"):
        return Finding(
            subject="public url",
            status="warn",
            message=f"{url} is not HTTPS: Viber and Freshchat call only HTTPS webhooks with a "
            "certificate from a public CA",
        )
    return Finding(subject="public url", status="ok", message=url)


async def _store(settings: Settings) -> Finding:
    from .service import open_store

    if settings.demo:
        return Finding(subject="store", status="skip", message="the demo keeps state in memory")
    try:
        store = open_store(settings.store)
    except ConfigurationError as exc:
        return Finding(subject="store", status="fail", message=str(exc))
    try:
        depth = await store.depth()
        dead = len(await store.dead_letters(limit=1000))
    finally:
        await store.aclose()
    said = f"{settings.store}: {depth} message(s) waiting, {dead} dead letter(s)"
    if dead:
        return Finding(
            subject="store",
            status="warn",
            message=f"{said}; see them with `byoc dead-letters list` or on the admin page",
        )
    return Finding(subject="store", status="ok", message=said)


def _admin(settings: Settings) -> Finding:
    if settings.admin_token is None:
        return Finding(
            subject="admin page",
            status="warn",
            message="off: set BYOC_ADMIN_TOKEN (16+ random characters) to turn on /admin",
        )
    return Finding(subject="admin page", status="ok", message="on (/admin, BYOC_ADMIN_TOKEN)")


@attrs.frozen
class _Check:
    """One check to run: its subject, what to run, and what a timeout means for it."""

    subject: str
    run: Callable[[], Awaitable[list[Finding]]]
    timed_out: str


def _plan(settings: Settings) -> list[_Check]:
    url = settings.values.get("BYOC_FRESHCHAT_API_URL", "").strip()
    checks = [
        _Check(
            "freshchat",
            lambda: _freshchat(settings),
            f"Freshchat at {url} did not answer in time: check BYOC_FRESHCHAT_API_URL and that "
            "this machine can reach it (proxy, firewall)",
        )
    ]
    try:
        choice = settings.choose_channels()
    except ConfigurationError as exc:
        problem = [Finding(subject="channels", status="fail", message=str(exc))]
        checks.append(_Check("channels", _found(problem), ""))
    else:
        checks.append(_Check("channels", _found(_channel_choice(settings, choice)), ""))
        checks += [
            _Check(
                channel.name,
                _runner(channel, settings),
                f"the {channel.name} API did not answer in time: check its API URL setting "
                "and the network",
            )
            for channel in choice.enabled
        ]
    checks += [
        _Check("public url", _found([_public_url(settings)]), ""),
        _Check(
            "store",
            lambda: _listed(_store(settings)),
            f"the store {settings.store} did not answer in time: is another process holding "
            "its write lock?",
        ),
        _Check("admin page", _found([_admin(settings)]), ""),
    ]
    return checks


def _found(findings: list[Finding]) -> Callable[[], Awaitable[list[Finding]]]:
    async def done() -> list[Finding]:
        return findings

    return done


def _runner(channel: Channel, settings: Settings) -> Callable[[], Awaitable[list[Finding]]]:
    return lambda: _listed(_channel(channel, settings))


async def _listed(check: Awaitable[Finding]) -> list[Finding]:
    return [await check]


def planned_subjects(settings: Settings) -> list[str]:
    """What `run_checks` will look at, in its order (a check may report more than one line)."""
    return [check.subject for check in _plan(settings)]


async def run_checks(
    settings: Settings,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    report: Callable[[Finding], None] | None = None,
) -> list[Finding]:
    """Every check, run at once, each stopped after `timeout` seconds (a failure saying
    what did not answer). `report` hears of each finding as soon as its check ends; the
    list returned is in the order of the checks."""

    async def run(check: _Check) -> list[Finding]:
        try:
            found = await asyncio.wait_for(check.run(), timeout)
        except asyncio.TimeoutError:
            found = [
                Finding(
                    subject=check.subject,
                    status="fail",
                    message=f"no answer within {timeout:g} s: {check.timed_out}",
                )
            ]
        if report is not None:
            for finding in found:
                report(finding)
        return found

    results = await asyncio.gather(*(run(check) for check in _plan(settings)))
    return [finding for found in results for finding in found]
