"""Hop lines: formatted only when written, quoted so they read back, searched only when needed."""

from __future__ import annotations

import json
import logging
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from byoc.hops import Hops, kv
from byoc.messaging import AgentMessage, Posted
from byoc.models import InboundMessage, SendResult, Text
from byoc.store import UserLink

_FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')

MESSAGE = InboundMessage(
    channel="viber", user_id="jc9H+/==", message_id="5412", parts=[Text(text="hi")]
)
LINK = UserLink(channel="viber", channel_user_id="jc9H+/==", helpdesk_user_id="u1")
REPLY = AgentMessage(message_id="m4", conversation_id="c9", user_id="u1", actor_type="agent")


class Counted:
    """A value that counts how often it is turned into text."""

    def __init__(self) -> None:
        self.formatted = 0

    def __str__(self) -> str:
        self.formatted += 1
        return "counted"


def test_a_line_is_formatted_only_when_a_handler_writes_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    value = Counted()
    log = logging.getLogger("byoc.test.hops")
    with caplog.at_level(logging.WARNING, logger="byoc.test.hops"):
        log.info(kv(hop="x", value=value))
        assert value.formatted == 0
        log.warning(kv(hop="x", value=value))
    assert caplog.messages == ["hop=x value=counted"]
    assert value.formatted == 1


@given(
    st.dictionaries(
        st.from_regex(r"[a-z_]{1,12}", fullmatch=True),
        st.text() | st.integers() | st.none(),
    )
)
def test_every_value_reads_back_from_the_line(fields: dict[str, str | int | None]) -> None:
    line = str(kv(**fields))
    read = {
        key: json.loads(raw) if raw.startswith('"') else raw for key, raw in _FIELD.findall(line)
    }
    assert read == {k: str(v) for k, v in fields.items() if v is not None}


def test_lines_of_ids_skip_the_secret_search_and_lines_with_free_text_do_not(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hops = Hops()
    with caplog.at_level(logging.INFO, logger="byoc.hops"):
        hops.channel_webhook(MESSAGE, outcome="queued", job=7)
        hops.inbound_delivered(MESSAGE, LINK, Posted(conversation_id="c9", message_id="m3"))
        hops.helpdesk_webhook(REPLY, outcome="queued", job=8)
        hops.reply_delivered(REPLY, LINK, SendResult(message_ids=("5413",)))
        hops.reply_delivered(REPLY, LINK, SendResult(notes=("image sent as a link",)))
        hops.retry(job=7, lane="in:viber:x", direction="in", attempt=1, delay=2, error="boom")
    assert [r.getMessage().split()[0] for r in caplog.records] == [
        "hop=channel.webhook",
        "hop=helpdesk.posted",
        "hop=helpdesk.webhook",
        "hop=channel.sent",
        "hop=channel.sent",
        "hop=retry",
    ]
    assert [not getattr(r, "byoc_secret_free", False) for r in caplog.records] == [
        False,
        False,
        False,
        False,
        True,  # a channel's notes are free text
        True,  # an error message may quote anything
    ]
