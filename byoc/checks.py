"""`byoc check`: is the configuration complete, and do the credentials work?

Each check makes at most one cheap, read-only upstream call (the help desk's `Messaging.check`:
Freshchat `GET /accounts/configuration`, Chatwoot `GET /inboxes/{id}`; a channel's
`Channel.check`, Viber `get_account_info`) and reports a `Finding`: ok, a warning (works, but
something will bite later) or a failure whose message says how to fix it.

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
from .settings import ChannelChoice, Settings, is_postgres_url

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


@attrs.frozen(kw_only=True)
class _Desk:
    """What `byoc check` says of a help desk: its URL setting, what its check proves, and what a
    refusal of the check usually means."""

    title: str
    url_setting: str
    proves: str
    refused_hint: str


_DESKS = {
    "freshchat": _Desk(
        title="Freshchat",
        url_setting="BYOC_FRESHCHAT_API_URL",
        proves="API URL and token work",
        refused_hint="it is your account's API address and ends in /v2",
    ),
    "chatwoot": _Desk(
        title="Chatwoot",
        url_setting="BYOC_CHATWOOT_URL",
        proves="URL, token, account and API inbox work",
        refused_hint="it is your installation's base URL, without /api/v1; and check "
        "BYOC_CHATWOOT_ACCOUNT_ID and BYOC_CHATWOOT_INBOX_ID",
    ),
}


async def _helpdesk(settings: Settings) -> list[Finding]:
    from .freshchat import FreshchatMessaging
    from .service import build_messaging

    desk, said = settings.messaging, _DESKS[settings.messaging]
    if settings.demo:
        return [
            Finding(
                subject=desk,
                status="fail",
                message="no help-desk credentials: neither BYOC_FRESHCHAT_API_URL and "
                "BYOC_FRESHCHAT_API_TOKEN (Freshchat) nor BYOC_CHATWOOT_URL and "
                "BYOC_CHATWOOT_API_TOKEN (Chatwoot, with BYOC_MESSAGING=chatwoot) are set, so "
                "`byoc serve` runs the demo on emulators. Set your help desk's to connect your "
                "account; see docs/configuration.md",
            )
        ]
    url = settings.values.get(said.url_setting, "").strip()
    try:
        messaging = build_messaging(settings)
    except ConfigurationError as exc:
        return [Finding(subject=desk, status="fail", message=str(exc))]
    title = messaging.title
    try:
        found = await messaging.check()
    except ConfigurationError as exc:
        return [Finding(subject=desk, status="fail", message=str(exc))]
    except RetryableError as exc:
        message = (
            f"cannot reach {title} at {url}: {exc}. Check {said.url_setting} and that this "
            "machine can reach it (proxy, firewall)"
        )
        return [Finding(subject=desk, status="fail", message=message)]
    except PermanentError as exc:
        message = (
            f"{title} at {url} refused the account check: {exc}. Check {said.url_setting}: "
            f"{said.refused_hint}"
        )
        return [Finding(subject=desk, status="fail", message=message)]
    finally:
        await messaging.aclose()
    name = (found.account if found else None) or "the account"
    findings = [Finding(subject=desk, status="ok", message=f"{said.proves} ({name} at {url})")]
    if found is not None and found.reports_webhook:
        findings.append(_helpdesk_webhook(settings, title, found.webhook))
    if isinstance(messaging, FreshchatMessaging) and messaging.webhook_key_missing:
        findings.append(
            Finding(
                subject=f"{desk} webhooks",
                status="fail",
                message="BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY is not set, so agent replies are "
                "refused: paste the bridge's /messaging/webhook URL (printed by `byoc install`) "
                "in Freshchat Admin > Marketplace & Integrations > Conversation Webhooks, then "
                "copy the public key shown there into it and restart the bridge",
            )
        )
    return findings


def _helpdesk_webhook(settings: Settings, title: str, webhook: str | None) -> Finding:
    """Whether the help desk sends its webhooks to this bridge (for one that tells)."""
    subject = f"{settings.messaging} webhooks"
    expected = f"{settings.public_url}/messaging/webhook" if settings.public_url else None
    if webhook is None:
        where = expected or "the bridge's /messaging/webhook URL"
        return Finding(
            subject=subject,
            status="fail",
            message=f"{title} sends its webhooks nowhere, so agent replies never reach the "
            f"bridge: set the inbox's webhook URL to {where}",
        )
    if expected is not None and webhook != expected:
        return Finding(
            subject=subject,
            status="warn",
            message=f"{title} sends its webhooks to {webhook}, not {expected}: set the inbox's "
            "webhook URL to the latter",
        )
    return Finding(subject=subject, status="ok", message=f"{title} sends them to {webhook}")


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
    if answer.webhook_error:
        return Finding(
            subject=name,
            status="warn",
            message=f"{said}; webhook {webhook}, but the {name} API reports its last delivery "
            f"there failed: {answer.webhook_error}. Is `byoc serve` running and reachable?",
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
        # Beside a running bridge, and without migrating: a check changes nothing.
        store = open_store(settings.store_url.reveal(), exclusive=False, migrate=False)
    except ConfigurationError as exc:
        return Finding(subject="store", status="fail", message=str(exc))
    try:
        schema = await _schema(store) if is_postgres_url(settings.store_url.reveal()) else None
        if schema is not None and schema.status != "ok":
            return schema
        await store.ping()
        depth = await store.depth()
        dead = await store.count_dead_letters()
    except ConfigurationError as exc:
        return Finding(subject="store", status="fail", message=str(exc))
    except RetryableError as exc:
        return Finding(
            subject="store",
            status="fail",
            message=f"cannot reach {settings.store}: {exc}. Check BYOC_STORE, that the "
            "database runs and that this machine may connect to it",
        )
    finally:
        await store.aclose()
    said = f"{settings.store}: {depth} message(s) waiting, {dead} dead letter(s)"
    if schema is not None:
        said += f"; {schema.message}"
    if dead:
        return Finding(
            subject="store",
            status="warn",
            message=f"{said}; see them with `byoc dead-letters list` or on the admin page",
        )
    return Finding(subject="store", status="ok", message=said)


async def _schema(store: object) -> Finding:
    """How a PostgreSQL schema compares with this byoc's."""
    from .store.postgres import PostgresStore
    from .store.postgres_schema import SCHEMA_VERSION

    assert isinstance(store, PostgresStore)
    version = await store.schema_version()
    if version > SCHEMA_VERSION:
        return Finding(
            subject="store",
            status="fail",
            message=f"{store.name}: schema version {version} is newer than this byoc's "
            f"({SCHEMA_VERSION}); upgrade byoc here (another replica runs a newer one)",
        )
    if version < SCHEMA_VERSION:
        return Finding(
            subject="store",
            status="warn",
            message=f"schema version {version}, this byoc needs {SCHEMA_VERSION}: the next "
            "`byoc serve` migrates it",
        )
    return Finding(subject="store", status="ok", message=f"schema version {version} (current)")


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
    desk = _DESKS[settings.messaging]
    url = settings.values.get(desk.url_setting, "").strip()
    checks = [
        _Check(
            settings.messaging,
            lambda: _helpdesk(settings),
            f"{desk.title} at {url} did not answer in time: check {desk.url_setting} "
            "and that this machine can reach it (proxy, firewall)",
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
