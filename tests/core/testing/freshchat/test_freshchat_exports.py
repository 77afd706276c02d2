"""The emulator package's public surface is pinned, so it cannot drift by accident."""

import byoc.testing.freshchat as freshchat


def test_exported_members() -> None:
    assert sorted(freshchat.__all__) == [
        "Actor",
        "ApiError",
        "DEFAULT_RETRY_DELAYS",
        "DeliveryAttempt",
        "Fault",
        "Faults",
        "FreshchatEmulator",
        "PayloadMode",
        "WebhookKey",
        "WebhookSender",
    ]
    for name in freshchat.__all__:
        assert getattr(freshchat, name) is not None
