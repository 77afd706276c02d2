"""A bridge server for the crash tests: FakeChannel → SQLite-backed durable bridge → Freshchat.

python -m tests.core.durability.crash_server --port P --store FILE --freshchat URL --key FILE
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import uvicorn

from byoc.bridge import Bridge
from byoc.freshchat import FreshchatMessaging
from byoc.store import SQLiteStore
from byoc.testing.fake_channel import FakeChannel

SECRET = "crash-test-secret"
TOKEN = "crash-token"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--store", required=True)
    parser.add_argument("--freshchat", required=True)
    parser.add_argument("--key", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    bridge = Bridge(
        messaging=FreshchatMessaging(
            api_url=args.freshchat, token=TOKEN, webhook_public_key=Path(args.key).read_text()
        ),
        channels=[FakeChannel(secret=SECRET)],
        store=SQLiteStore(args.store),
        concurrency=8,
    )
    uvicorn.run(bridge, host="127.0.0.1", port=args.port, log_level="warning", lifespan="on")


if __name__ == "__main__":
    main()
