import byoc.chatwoot


def test_public_surface_is_pinned() -> None:
    assert sorted(byoc.chatwoot.__all__) == sorted(
        [
            "DEFAULT_MAX_MEDIA_BYTES",
            "DEFAULT_TOLERANCE",
            "DELIVERY_HEADER",
            "SIGNATURE_HEADER",
            "TIMESTAMP_HEADER",
            "ChatwootClient",
            "ChatwootDraft",
            "ChatwootMessaging",
            "ChatwootRefused",
            "Upload",
            "from_chatwoot",
            "parse_webhook_body",
            "sign",
            "to_chatwoot",
            "verify_signature",
        ]
    )
    for name in byoc.chatwoot.__all__:
        assert hasattr(byoc.chatwoot, name), name
