import byoc.freshchat


def test_public_surface_is_pinned() -> None:
    assert sorted(byoc.freshchat.__all__) == sorted(
        [
            "DEFAULT_MAX_MEDIA_BYTES",
            "SIGNATURE_HEADER",
            "FreshchatClient",
            "FreshchatMessaging",
            "FreshchatRefused",
            "from_freshchat",
            "load_public_key",
            "parse_webhook_body",
            "to_freshchat",
            "verify_signature",
        ]
    )
    for name in byoc.freshchat.__all__:
        assert hasattr(byoc.freshchat, name), name
