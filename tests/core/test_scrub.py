"""Credentials in what peers answer never reach an error text, a dead letter or a page.

`scrub` knows credentials by their place (a URL's password, `?sig=`, `Bearer ...`, auth
headers); `answer_text` quotes a peer's answer without them and without the caller's own
secrets; `displayable` is the pass pages and commands run over what came from upstream.
"""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from byoc.errors import ConfigurationError, PermanentError, RetryableError
from byoc.redaction import MASK, Redactor, displayable, remember_secrets, scrub
from byoc.upstream import answer_text, error_for_status, transport_errors


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        ("https://user:pw@cdn.test/a.jpg", f"https://{MASK}@cdn.test/a.jpg"),
        (
            "https://cdn.test/a.jpg?sig=abc&w=1&token=xyz",
            f"https://cdn.test/a.jpg?sig={MASK}&w=1&token={MASK}",
        ),
        ("Authorization: Bearer abcdefghijk", f"Authorization: Bearer {MASK}"),
        ("authorization=KakaoAK 0123456789", f"authorization=KakaoAK {MASK}"),
        ('{"X-Viber-Auth-Token": "445da6az1234"}', f'{{"X-Viber-Auth-Token": "{MASK}"}}'),
        ("HT-Client-Secret: zzzzzzzz", f"HT-Client-Secret: {MASK}"),
        ("InvalidSender(senderKey=3fd538ef7218a14a)", f"InvalidSender(senderKey={MASK})"),
        (
            "https://api.telegram.org/bot123456:AAH-x_y/sendMessage",
            f"https://api.telegram.org/bot{MASK}/sendMessage",
        ),
    ],
)
def test_scrub_blanks_credentials_by_their_place(text: str, scrubbed: str) -> None:
    assert scrub(text) == scrubbed
    assert scrub(scrubbed) == scrubbed


@pytest.mark.parametrize(
    "text",
    [
        "Viber refused send_message: receiverNotSubscribed (status 6)",
        "the secret path segment of the dealer webhook is wrong",
        "a token of 5 s; see https://example.com/docs?page=2#token",
        "job 17 (in:viber:jc9HsWTZ2Yf2NkRZ8KcNug==) failed",
    ],
)
def test_scrub_leaves_plain_texts_alone(text: str) -> None:
    assert scrub(text) == text


@given(secret=st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=8, max_size=40))
def test_an_answer_quoted_never_holds_the_callers_secret(secret: str) -> None:
    said = f"error: token {secret} refused\n\n{secret}"
    quoted = answer_text(said, secrets=[secret])
    assert secret not in quoted and "\n" not in quoted


def test_an_answer_is_cut_after_it_is_cleaned() -> None:
    secret = "s" * 30
    quoted = answer_text("x" * 190 + secret, secrets=[secret], limit=200)
    assert "s" * 10 not in quoted
    assert len(answer_text("y" * 5000)) == 200


def test_error_texts_made_from_statuses_carry_no_credential() -> None:
    error = error_for_status(404, "GET https://user:pw@x.test/a?access_token=abcdef answered 404")
    assert isinstance(error, PermanentError)
    assert "pw" not in str(error) and "abcdef" not in str(error)


def test_transport_errors_carry_no_credential() -> None:
    with pytest.raises(RetryableError) as caught, transport_errors("MyChat send"):
        raise httpx.ConnectError("cannot reach https://bot:hunter22@chat.test/?token=s3cr3t")
    assert "hunter22" not in str(caught.value) and "s3cr3t" not in str(caught.value)
    with pytest.raises(ConfigurationError) as bad, transport_errors("x", url_setting="BYOC_X"):
        raise httpx.InvalidURL("bad URL https://u:p4ssw0rd@x.test")
    assert "p4ssw0rd" not in str(bad.value)


def test_displayable_blanks_remembered_settings_and_a_given_redactor() -> None:
    remember_secrets({"BYOC_TEST_SCRUB_API_TOKEN": "remembered-0123456789", "BYOC_X_URL": "url1"})
    shown = displayable(
        "remembered-0123456789 given-0123456789 url1", Redactor(["given-0123456789"])
    )
    assert shown == f"{MASK} {MASK} url1"
