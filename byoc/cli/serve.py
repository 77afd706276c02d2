"""`byoc serve`: run the bridge with uvicorn (the demo when no Freshchat credential is set).

uvicorn runs on uvloop with the httptools parser when they are installed (the `server` extra
brings both): measured with `benchmarks/side_by_side.py`, the pure-Python parser (h11) and
asyncio's own loop cost several hundred µs of CPU more per webhook. No access log line is
written per request unless `--access-log` asks for one: the hop lines already say what each
webhook did, with the ids that matter. Log records skip what byoc's log format never shows
(the caller's file and line, thread and process names: see `_lighter_log_records`).

Start-up: the ASGI lifespan starts the delivery workers (and, in the demo, registers each
channel's webhook with its emulator). With `--install`, each channel's webhook is registered
once the server answers requests: Viber calls the URL back while registering it.

Connections: a request's head must arrive within `BYOC_HEADER_TIMEOUT` seconds and its body
may pause at most `BYOC_BODY_TIMEOUT` between chunks; at most `BYOC_MAX_CONNECTIONS` are open
at once (by default the file limit, raised to its hard limit at start, less a reserve). Refused
connections and failed accepts are logged once, then summed up once a minute
(`byoc.cli.connections`, `byoc.cli.refusals`).

Shutdown (SIGTERM or Ctrl-C): uvicorn stops accepting connections and finishes the requests in
progress; then the bridge stops taking queued work, lets deliveries in flight finish for
`BYOC_SHUTDOWN_GRACE` seconds and hands the rest back to the store, which delivers them after
the next start. The exit status is 0 after a clean shutdown.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import signal
import sys
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from ..asgi import ASGIApp, Receive, Scope, Send
from ..errors import ByocError
from ..settings import Settings
from .config import add_config_option, redact_logs, settings_from
from .connections import ConnectionGuard, ConnectionLimits, guarded_protocol
from .file_limit import FileLimit, default_max_connections, raise_file_limit
from .refusals import RefusalLog, loop_exception_handler
from .service import Service, build_service

__all__ = ["register", "run", "server_stack"]

# The cap where the platform has no file limit to derive one from (Windows).
_UNLIMITED_FILES_CAP = 10_000

_SERVER_MISSING = (
    "byoc serve needs uvicorn, which comes with the server extra: pip install 'byoc[server]'"
)


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "serve",
        help="run the bridge (the demo on emulators when no Freshchat credential is set)",
        description="Serve the bridge over HTTP. Without Freshchat credentials it runs the "
        "demo: the bridge wired to the bundled emulators, with their control endpoints under "
        "/emulators/<name>/.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port (0: any free port)")
    add_config_option(parser)
    parser.add_argument(
        "--install",
        action="store_true",
        help="register the channels' webhooks once the server is up (as `byoc install` does)",
    )
    parser.add_argument("--log-level", default="info", help="uvicorn's log level")
    loop, http = server_stack()
    parser.add_argument(
        "--loop",
        choices=("uvloop", "asyncio"),
        default=loop,
        help=f"the event loop (default here: {loop}, the fastest installed)",
    )
    parser.add_argument(
        "--http",
        choices=("httptools", "h11"),
        default=http,
        help=f"uvicorn's HTTP parser (default here: {http}, the fastest installed)",
    )
    parser.add_argument(
        "--access-log",
        action="store_true",
        help="also log one line per HTTP request (off by default: the hop lines record each "
        "webhook, and the access line would cost as much again)",
    )
    parser.set_defaults(run=run)


def server_stack() -> tuple[str, str]:
    """The event loop and HTTP parser uvicorn is given: uvloop and httptools when installed
    (the `server` extra), else asyncio and h11 (pure Python, slower, same behaviour)."""

    def installed(module: str) -> bool:
        return importlib.util.find_spec(module) is not None

    # Python 3.10 has no loop factories (asyncio.Runner): the default loop serves there.
    uvloop = installed("uvloop") and sys.version_info >= (3, 11)
    return ("uvloop" if uvloop else "asyncio"), ("httptools" if installed("httptools") else "h11")


class _LifespanWatch:
    """Passes everything to the app and remembers whether start-up or shutdown failed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.failures: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def watched(message: Any) -> None:
            if str(message.get("type", "")).endswith(".failed"):
                self.failures.append(str(message.get("message", "")))
            await send(message)

        await self.app(scope, receive, watched)


@contextmanager
def _quiet_signals() -> Iterator[list[int]]:
    """Let uvicorn's graceful shutdown decide the exit status.

    uvicorn handles SIGTERM/SIGINT while serving and raises them again once it has shut down,
    which would kill the process with the signal after a clean shutdown. Handlers that only
    note the signal make that second delivery harmless.
    """
    seen: list[int] = []

    def note(sig: int, frame: FrameType | None) -> None:
        seen.append(sig)

    previous = {sig: signal.signal(sig, note) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield seen
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _limits(settings: Settings, files: FileLimit | None) -> ConnectionLimits:
    if settings.max_connections is not None:
        cap = settings.max_connections
    elif files is None:
        cap = _UNLIMITED_FILES_CAP
    else:
        cap = default_max_connections(files.now, settings.store_pool_size)
    return ConnectionLimits(
        header_timeout=settings.header_timeout,
        body_timeout=settings.body_timeout,
        max_connections=cap,
    )


def _connections_line(limits: ConnectionLimits, files: FileLimit | None) -> str:
    line = f"  connections: at most {limits.max_connections} (BYOC_MAX_CONNECTIONS)"
    if files is not None:
        line += f" · file limit {files.now}"
        if files.raised:
            line += f" (raised from {files.before})"
        if limits.max_connections >= files.now:
            line += (
                " — the cap is not below the file limit: accept() fails before it is reached; "
                "lower BYOC_MAX_CONNECTIONS or raise the hard file limit"
            )
    return (
        f"{line}\n  timeouts:    request head {limits.header_timeout:g} s "
        f"(BYOC_HEADER_TIMEOUT) · body {limits.body_timeout:g} s between chunks "
        "(BYOC_BODY_TIMEOUT)"
    )


def _banner(
    service: Service, settings: Settings, base: str, stack: tuple[str, str], connections: str
) -> str:
    bridge = service.bridge
    lines = [f"byoc serving on {base}"]
    if service.demo:
        lines[0] += "   [DEMO]"
        lines += [
            "DEMO: no help-desk credentials are set (BYOC_FRESHCHAT_API_URL and "
            "BYOC_FRESHCHAT_API_TOKEN, or BYOC_CHATWOOT_URL and BYOC_CHATWOOT_API_TOKEN), so the "
            "bridge runs on the bundled emulators; nothing leaves this machine.",
            f"  channels: {', '.join(bridge.channels)} (emulated) · "
            f"{bridge.messaging.title}: emulated",
        ]
        token = service.admin_token_generated
        admin = f"  admin page:  {base}/admin"
        admin += f"   token: {token} (made for this run)" if token else "   (BYOC_ADMIN_TOKEN)"
        lines.append(admin)
        lines.append("  play the user and the agent:")
        lines += ["    " + hint.replace("{base}", base) for hint in service.hints]
        lines.append("  connect real services: docs/quickstart.md")
    else:
        lines.append(
            f"  channels: {', '.join(bridge.channels)} · delivery: {bridge.delivery.mode} · "
            f"store: {settings.store}"
        )
        if bridge.admin_token:
            lines.append(f"  admin page:  {base}/admin")
        else:
            lines.append("  admin page:  off (set BYOC_ADMIN_TOKEN to turn it on)")
        if bridge.public_url:
            lines.append(
                f"  {bridge.messaging.title} webhook URL to paste: {bridge.messaging_webhook_url()}"
            )
        else:
            lines.append("  set BYOC_PUBLIC_URL to get the URLs to register (byoc install)")
    lines.append(f"  metrics:     {base}/metrics")
    loop, parser = stack
    shown = f"  HTTP server: uvicorn on {loop} with {parser}"
    if stack != server_stack():
        shown += " (chosen with --loop/--http)"
    elif stack != ("uvloop", "httptools"):
        shown += " (pip install 'byoc[server]' adds uvloop and httptools: less CPU per request)"
    lines.append(shown)
    lines.append(connections)
    return "\n".join(lines)


async def _install(service: Service) -> None:
    from .install import install_channels

    await install_channels(service.bridge.installs, None, out=sys.stdout)


def _lighter_log_records() -> None:
    """Stop filling the record fields byoc's log format never shows.

    Python's Logging HOWTO ("Optimization") names these switches: without them every record
    walks the stack to find its caller's file and line, and looks up thread and process names.
    """
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def _config(
    watch: _LifespanWatch, settings: Settings, args: argparse.Namespace, guard: ConnectionGuard
) -> Any:
    import uvicorn

    return uvicorn.Config(
        watch,
        host=args.host,
        port=args.port,
        loop=args.loop,
        http=guarded_protocol(args.http, guard),
        lifespan="on",
        log_config=None,
        log_level=args.log_level,
        access_log=args.access_log,
        timeout_graceful_shutdown=max(1, int(settings.shutdown_grace)),
    )


def _run_on(
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None,
    main: Coroutine[Any, Any, int],
) -> int:
    """`asyncio.run(main)`, on a loop from `loop_factory` when there is one."""
    if loop_factory is None or sys.version_info < (3, 11):
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(main)


async def _serve(
    service: Service,
    settings: Settings,
    args: argparse.Namespace,
    watch: _LifespanWatch,
    config: Any,
    guard: ConnectionGuard,
    connections: str,
) -> int:
    import uvicorn

    # Failed accepts (no descriptor left) are counted, not logged with a traceback each.
    asyncio.get_running_loop().set_exception_handler(loop_exception_handler(guard.refusals))
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    # uvicorn sets `started` once its sockets listen; nothing to await for it.
    while not server.started and not serving.done():
        await asyncio.sleep(0.02)
    if server.started:
        sock = server.servers[0].sockets[0].getsockname()
        host = f"[{sock[0]}]" if ":" in str(sock[0]) else str(sock[0])
        base = f"http://{host}:{sock[1]}"
        if service.serving_at is not None:
            await service.serving_at(base)
        stack = (args.loop, args.http)
        print(_banner(service, settings, base, stack, connections), flush=True)
        if args.install and not service.demo:
            try:
                await _install(service)
            except ByocError as exc:
                print(f"byoc: install failed: {exc}", file=sys.stderr, flush=True)
    await serving
    if not server.started or watch.failures:
        for failure in watch.failures:
            print(f"byoc: {failure}", file=sys.stderr)
        return 1
    return 0


def _later(delay: float, callback: Callable[[], None]) -> object:
    """`call_later` on the running loop: refusals are noted from the loop's callbacks."""
    return asyncio.get_running_loop().call_later(delay, callback)


def run(args: argparse.Namespace, rest: list[str]) -> int:
    settings = settings_from(args)
    try:
        import uvicorn  # noqa: F401
    except ImportError:
        print(f"byoc: {_SERVER_MISSING}", file=sys.stderr)
        return 1
    redact_logs(settings, "DEMO" if settings.demo else None)
    _lighter_log_records()
    files = raise_file_limit()
    limits = _limits(settings, files)
    guard = ConnectionGuard(limits, RefusalLog(logging.getLogger("byoc.connections"), _later))
    service = build_service(settings)
    watch = _LifespanWatch(service.app)
    config = _config(watch, settings, args, guard)
    connections = _connections_line(limits, files)
    with _quiet_signals():
        try:
            return _run_on(
                config.get_loop_factory(),
                _serve(service, settings, args, watch, config, guard, connections),
            )
        except SystemExit as exc:
            # uvicorn exits when it cannot bind; its log line says why.
            print(
                f"byoc: could not serve on {args.host}:{args.port} (port in use? try --port)",
                file=sys.stderr,
            )
            return int(exc.code) if isinstance(exc.code, int) else 1
