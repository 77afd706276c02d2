"""Chatwoot user ids (`<contact id>:<source id>`) and the contact records they are read from."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from byoc.chatwoot.identity import MAX_SOURCE_ID, UserId, contact_user
from byoc.errors import PermanentError

source_ids = st.text(min_size=1, max_size=MAX_SOURCE_ID)


@given(st.integers(min_value=0, max_value=10**18), st.none() | source_ids)
def test_a_user_id_reads_back_as_it_was_written(contact: int, source: str | None) -> None:
    assert UserId.parse(str(UserId(contact_id=contact, source_id=source))) == UserId(
        contact_id=contact, source_id=source
    )


@given(st.text(max_size=80))
def test_any_text_is_a_user_id_or_a_permanent_error(text: str) -> None:
    try:
        parsed = UserId.parse(text)
    except PermanentError:
        return
    assert UserId.parse(str(parsed)) == parsed
    assert parsed.source_id == (text.partition(":")[2] or None)


@pytest.mark.parametrize("text", ["", ":viber:a", "viber:a", "-1:x", "١٢:x", "1" * 20])
def test_what_is_not_a_user_id(text: str) -> None:
    with pytest.raises(PermanentError, match="not a Chatwoot user id"):
        UserId.parse(text)


def test_the_session_in_the_inbox_wins_then_the_identifier() -> None:
    contact = {
        "id": 42,
        "identifier": "viber:a",
        "contact_inboxes": [
            {"source_id": "web-1", "inbox": {"id": 2}},
            {"source_id": "viber:a-session", "inbox": {"id": 1}},
        ],
    }
    assert contact_user(contact, "x", inbox_id=1).id == "42:viber:a-session"
    assert contact_user(contact, "x", inbox_id=3).id == "42:viber:a"
    assert contact_user(contact, "x", inbox_id=1, source_id="made").id == "42:made"
    assert contact_user({"id": 7}, "x", inbox_id=1).id == "7"
    with pytest.raises(PermanentError, match="without a contact id"):
        contact_user({"id": "7"}, "GET /contacts/7", inbox_id=1)
