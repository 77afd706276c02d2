"""Running the emulators as servers: `byoc emulate kakao` and `byoc emulate kakao-chatbot`.

```
byoc emulate kakao --port 8091 --webhook-url http://127.0.0.1:8000/channels/kakao/webhook/<secret>
curl -X POST localhost:8091/_emulator/users/c0eUY5TATGz1/messages -d '{"text": "안녕하세요"}'

byoc emulate kakao-chatbot --port 8092 --skill-url http://127.0.0.1:8000/channels/kakao-chatbot/webhook/<secret>
curl -X POST localhost:8092/_emulator/users/<botUserKey>/say -d '{"text": "안녕하세요"}'
```

Point the channels at them with `BYOC_KAKAO_DEALER_API_URL=http://127.0.0.1:8091` and
`BYOC_KAKAO_EVENT_API_URL=http://127.0.0.1:8092` (plus `BYOC_KAKAO_CALLBACK_ORIGINS` and
`BYOC_KAKAO_MEDIA_ORIGINS` set to `http://127.0.0.1:8092`).

Besides the services' own API, both serve control endpoints under `/_emulator/`:

- kakao: `POST /_emulator/users/{user_key}/messages` with `{"text"}` or
  `{"photo"|"file": {"name", "data_base64"}}` (a user writes; the webhook follows in the
  background), `GET /_emulator/sent` (what the business sent), `PUT /_emulator/webhook`
  `{"url", "headers"?}` (where webhooks go);
- kakao-chatbot: `POST /_emulator/users/{botUserKey}/say` `{"text"}` (a user writes; answers
  the skill exchange), `POST /_emulator/users/{botUserKey}/tap` `{"label"}` (the user taps a
  quick reply shown; 409 when none has that label), `GET /_emulator/users/{botUserKey}/bubbles`
  (what the user saw: `{via, output, quickReplies?}`),
  `PUT /_emulator/skill` `{"url", "headers"?}` (where skill requests go);
- both: `POST /_emulator/drain` answers once background deliveries and events are done.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import uvicorn

from .happytalk import HappyTalkEmulator
from .openbuilder import OpenBuilderEmulator

__all__ = ["chatbot_config", "dealer_config", "main_chatbot", "main_dealer"]


def _header(value: str) -> tuple[str, str]:
    name, sep, content = value.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {value!r}")
    return name.strip(), content.strip()


def _common(parser: argparse.ArgumentParser, port: int) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=port, help=f"port (default {port})")
    parser.add_argument(
        "--public-url",
        help="the emulator's URL as others reach it, for media and callback links "
        "(default http://HOST:PORT)",
    )
    parser.add_argument("--log-level", default="info")


def _public_url(args: argparse.Namespace) -> str:
    return str(args.public_url or f"http://{args.host}:{args.port}").rstrip("/")


def dealer_config(argv: Sequence[str] | None = None) -> uvicorn.Config:
    """The uvicorn configuration `main_dealer` runs, from command-line arguments."""
    parser = argparse.ArgumentParser(
        prog="byoc emulate kakao", description="HappyTalk 상담톡 dealer emulator"
    )
    _common(parser, 8091)
    parser.add_argument("--client-id", default="test-client-id")
    parser.add_argument("--client-secret", default="test-client-secret")
    parser.add_argument("--sender-key", default="3fd538ef7218a14a63e51ba47e83c76e1ff5ab62")
    parser.add_argument("--webhook-url", help="where user messages go (the bridge's target URL)")
    parser.add_argument(
        "--webhook-header",
        type=_header,
        action="append",
        default=[],
        help="'Name: value' sent with every webhook (repeatable)",
    )
    parser.add_argument("--webhook-retries", type=int, default=3)
    parser.add_argument("--duplicate-deliveries", type=int, default=0)
    parser.add_argument("--webhook-shape", choices=["message_type", "type"], default="message_type")
    args = parser.parse_args(argv)
    emulator = HappyTalkEmulator(
        client_id=args.client_id,
        client_secret=args.client_secret,
        sender_key=args.sender_key,
        webhook_url=args.webhook_url,
        webhook_headers=dict(args.webhook_header),
        webhook_retries=args.webhook_retries,
        duplicate_deliveries=args.duplicate_deliveries,
        webhook_shape=args.webhook_shape,
        base_url=_public_url(args),
    )
    print(
        f"HappyTalk emulator on {_public_url(args)}; webhooks to "
        f"{args.webhook_url or '(none yet: PUT /_emulator/webhook)'}",
        file=sys.stderr,
    )
    return uvicorn.Config(emulator.app, host=args.host, port=args.port, log_level=args.log_level)


def chatbot_config(argv: Sequence[str] | None = None) -> uvicorn.Config:
    """The uvicorn configuration `main_chatbot` runs, from command-line arguments."""
    parser = argparse.ArgumentParser(
        prog="byoc emulate kakao-chatbot",
        description="Kakao Open Builder emulator (skill calls, AI callback, Event API)",
    )
    _common(parser, 8092)
    parser.add_argument("--bot-id", default="667e1d0000000000000a091c")
    parser.add_argument("--rest-api-key", default="test-rest-api-key")
    parser.add_argument(
        "--event-name", action="append", default=[], help="event block names (default agent_reply)"
    )
    parser.add_argument("--skill-url", help="the skill URL (the bridge's target URL)")
    parser.add_argument(
        "--skill-header",
        type=_header,
        action="append",
        default=[],
        help="'Name: value' sent with every skill request (repeatable)",
    )
    parser.add_argument(
        "--no-callback", action="store_true", help="the fallback block has no AI callback"
    )
    parser.add_argument("--skill-timeout", type=float, default=5.0)
    args = parser.parse_args(argv)
    emulator = OpenBuilderEmulator(
        bot_id=args.bot_id,
        rest_api_key=args.rest_api_key,
        event_names=args.event_name or ["agent_reply"],
        skill_url=args.skill_url,
        skill_headers=dict(args.skill_header),
        callback=not args.no_callback,
        skill_timeout=args.skill_timeout,
        base_url=_public_url(args),
    )
    print(
        f"Open Builder emulator on {_public_url(args)} (bot {emulator.bot_id}); skill at "
        f"{args.skill_url or '(none yet: PUT /_emulator/skill)'}",
        file=sys.stderr,
    )
    return uvicorn.Config(emulator.app, host=args.host, port=args.port, log_level=args.log_level)


def main_dealer(argv: Sequence[str] | None = None) -> None:
    """`byoc emulate kakao`: serve the HappyTalk emulator until interrupted."""
    uvicorn.Server(dealer_config(argv)).run()


def main_chatbot(argv: Sequence[str] | None = None) -> None:
    """`byoc emulate kakao-chatbot`: serve the Open Builder emulator until interrupted."""
    uvicorn.Server(chatbot_config(argv)).run()
