"""`parse_json_object`: any body is a JSON object or a `MalformedPayload`; broken surrogates are
repaired, not fatal."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from byoc.errors import MalformedPayload
from byoc.webhook import parse_json_object

# A JVM service cutting a string between the halves of 😀 escapes the half left over.
CUT_EMOJI = b'{"message": "\\uc548\\ub155 \\ud83d", "pair": "\\ud83d\\ude00"}'


def test_a_lone_surrogate_becomes_a_replacement_character() -> None:
    assert parse_json_object(CUT_EMOJI, what="x") == {"message": "안녕 \ufffd", "pair": "😀"}


def test_raw_surrogates_are_repaired_too() -> None:
    # Bytes are decoded with "surrogatepass", so raw halves get through as well.
    body = '{"a": "x\ud800", "\udc00": 1}'.encode("utf-8", "surrogatepass")
    assert parse_json_object(body, what="x") == {"a": "x\ufffd", "\ufffd": 1}


@given(st.text(alphabet=st.characters(exclude_categories=())))
def test_every_decoded_string_can_be_encoded_as_utf8(text: str) -> None:
    body = json.dumps({"text": text, text: [text]}).encode()
    decoded = parse_json_object(body, what="x")
    json.dumps(decoded, ensure_ascii=False).encode("utf-8")  # no UnicodeEncodeError
    if not any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        assert decoded == {"text": text, text: [text]}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[" * 100_000,
        b"[1]",
        b'{"a": NaN}',
        b'{"a": -Infinity}',
        b"\xff\xfe{}",
        '{"a": 1}'.encode("utf-16"),
    ],
)
def test_what_is_not_a_utf8_json_object_is_malformed_not_a_crash(body: bytes) -> None:
    with pytest.raises(MalformedPayload, match="^what: "):
        parse_json_object(body, what="what")


@pytest.mark.parametrize("parse_float", [None, Decimal, float])
def test_constants_are_refused_whichever_float_parser_decodes(
    parse_float: Callable[[str], Any] | None,
) -> None:
    # Decoders are kept per float parser: each must still refuse NaN, every time.
    for _ in range(2):
        assert parse_json_object(b'{"a": 1.5}', what="x", parse_float=parse_float)["a"] == 1.5
        with pytest.raises(MalformedPayload, match="NaN is not a JSON number"):
            parse_json_object(b'{"a": NaN}', what="x", parse_float=parse_float)


def test_numbers_stay_exact() -> None:
    body = b'{"token": 4912661846655238145, "price": 0.1, "bom": 1}'
    assert parse_json_object(b"\xef\xbb\xbf" + body, what="x", parse_float=Decimal) == {
        "token": 4912661846655238145,
        "price": Decimal("0.1"),
        "bom": 1,
    }


@given(st.binary(max_size=200))
def test_any_bytes_give_an_object_or_malformed(body: bytes) -> None:
    try:
        value = parse_json_object(body, what="x")
    except MalformedPayload:
        return
    assert isinstance(value, dict)
    json.dumps(value, ensure_ascii=False).encode("utf-8")
