import byoc.testing.chatwoot


def test_public_surface_is_pinned() -> None:
    assert sorted(byoc.testing.chatwoot.__all__) == sorted(
        [
            "DEFAULT_RETRY_DELAYS",
            "SIGNING_MODES",
            "ApiError",
            "ChatwootEmulator",
            "DeliveryAttempt",
            "Fault",
            "Faults",
            "FormFile",
            "Limits",
            "SigningMode",
            "Throttle",
        ]
    )
    for name in byoc.testing.chatwoot.__all__:
        assert hasattr(byoc.testing.chatwoot, name), name


def test_byoc_emulate_chatwoot_runs_the_server() -> None:
    from importlib.metadata import entry_points

    from byoc.plugins import EMULATORS_GROUP
    from byoc.testing.chatwoot.server import main

    [point] = [ep for ep in entry_points(group=EMULATORS_GROUP) if ep.name == "chatwoot"]
    assert point.load() is main
