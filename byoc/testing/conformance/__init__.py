"""The channel conformance kit: the whole `byoc.Channel` contract, checked against a plugin.

A plugin author subclasses `ChannelConformance` in a test module and gives it a `harness`
fixture: a `ConformanceHarness` that builds the channel against the messenger's emulator in a
`ConformanceWorld` and plays the messenger (a signed message, what a user received).

```python
from byoc.testing.conformance import ChannelConformance, ConformanceHarness, ConformanceWorld


class MyChatHarness(ConformanceHarness):
    def __init__(self, world: ConformanceWorld) -> None:
        super().__init__(world)
        self.emulator = MyChatEmulator(webhook_url=world.webhook_url, http=world.client())
        world.network.add("mychat.test", self.emulator)
        self.channel = MyChatChannel(
            token=self.emulator.token, api_url="http://mychat.test", http=world.http
        ).named(world.name)
    ...  # message, sign, received


class TestMyChat(ChannelConformance):
    @pytest.fixture
    def harness(self, world: ConformanceWorld) -> MyChatHarness:
        return MyChatHarness(world)
```

It checks: signatures (missing, forged → `SignatureError`); that any bytes, any JSON and any
change to a valid message parse into events or a `MalformedPayload`/`SignatureError` and
nothing else (hypothesis); half an emoji repaired, not refused; message ids stable across
redeliveries; `event.channel` the instance's name; the webhook answered 2xx; replies
delivered, long texts split at `max_text_length`, every part shown or degraded as
`capabilities` says; 429 → `RateLimited` with `retry_after` from seconds and from an HTTP date,
5xx, timeouts and connection errors → `RetryableError`, other 4xx → `PermanentError`, a user
who blocked the account → `UserUnreachable`; install and uninstall idempotent; media fetched
with the channel's credentials and bounded in size; no credential in events, media URLs or
errors. Needs the `conformance` extra (pytest, pytest-asyncio, hypothesis).
"""

from .harness import ConformanceHarness, Signing
from .suite import ChannelConformance, deliver
from .world import ConformanceWorld, Faults

__all__ = [
    "ChannelConformance",
    "ConformanceHarness",
    "ConformanceWorld",
    "Faults",
    "Signing",
    "deliver",
]
