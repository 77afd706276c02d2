"""Contacts, their inbox sessions, search and filter, with Chatwoot's rules and quirks."""

from __future__ import annotations

import httpx
from chatwoot_doubles import ACCOUNT, Steps


async def test_a_contact_is_made_with_its_session_in_the_inbox(
    api: httpx.AsyncClient,
) -> None:
    answer = await api.post(
        f"{ACCOUNT}/contacts",
        json={"inbox_id": 1, "identifier": "viber:a", "source_id": "viber:a", "name": "김민준"},
    )
    payload = answer.json()["payload"]
    assert payload["contact_inbox"]["source_id"] == "viber:a"
    assert payload["contact_inbox"]["inbox"]["id"] == 1
    contact = payload["contact"]
    assert isinstance(contact["id"], int) and contact["name"] == "김민준"
    assert contact["contact_inboxes"][0]["source_id"] == "viber:a"
    # Rails escapes HTML characters in JSON; the text is the same once decoded.
    assert "\\u003c" not in answer.text


async def test_an_identifier_is_unique_in_the_account(api: httpx.AsyncClient, steps: Steps) -> None:
    await steps.contact("viber:a")
    again = await api.post(f"{ACCOUNT}/contacts", json={"identifier": "viber:a"})
    assert again.status_code == 422
    assert again.json() == {
        "message": "Identifier has already been taken",
        "attributes": ["identifier"],
    }
    # Refused before anything was made.
    listed = await api.post(
        f"{ACCOUNT}/contacts/filter",
        json={
            "payload": [
                {
                    "attribute_key": "identifier",
                    "filter_operator": "equal_to",
                    "values": ["viber:a"],
                }
            ]
        },
    )
    assert listed.json()["meta"]["count"] == 1


async def test_a_source_id_is_unique_in_its_inbox(api: httpx.AsyncClient, steps: Steps) -> None:
    await steps.contact("viber:a")
    taken = await api.post(
        f"{ACCOUNT}/contacts", json={"inbox_id": 1, "identifier": "viber:b", "source_id": "viber:a"}
    )
    assert (taken.status_code, taken.json()) == (422, {"error": "source_id should be unique"})


async def test_invalid_fields_are_refused_with_their_attribute(api: httpx.AsyncClient) -> None:
    phone = await api.post(f"{ACCOUNT}/contacts", json={"phone_number": "010-1234"})
    assert phone.json()["attributes"] == ["phone_number"]
    email = await api.post(f"{ACCOUNT}/contacts", json={"email": "not-an-email"})
    assert (email.status_code, email.json()["attributes"]) == (422, ["email"])
    long_name = await api.post(f"{ACCOUNT}/contacts", json={"name": "x" * 256})
    assert long_name.json()["attributes"] == ["name"]
    missing_inbox = await api.post(f"{ACCOUNT}/contacts", json={"inbox_id": 77})
    assert missing_inbox.status_code == 404


async def test_search_needs_q_and_matches_like_sql_does(
    api: httpx.AsyncClient, steps: Steps
) -> None:
    assert (await api.get(f"{ACCOUNT}/contacts/search")).json() == {
        "error": "Specify search string with parameter q"
    }
    await steps.contact("telegram:12")
    await steps.contact("telegram:123", name="Telegram Fan")
    await steps.contact("telegram:1x3")

    async def found(q: str) -> list[str]:
        answer = await api.get(f"{ACCOUNT}/contacts/search", params={"q": q})
        return [c["identifier"] for c in answer.json()["payload"]]

    # Identifiers match as substrings, `_` as any one character, and with case.
    assert await found("telegram:12") == ["telegram:12", "telegram:123"]
    assert await found("telegram:1_3") == ["telegram:123", "telegram:1x3"]
    assert await found("TELEGRAM:12") == []
    assert await found("TELEGRAM FAN") == ["telegram:123"]  # names match ignoring case


async def test_search_pages_by_15_and_says_when_more_follow(
    api: httpx.AsyncClient, steps: Steps
) -> None:
    for index in range(17):
        await steps.contact(f"kakao:user{index:02d}")
    first = (await api.get(f"{ACCOUNT}/contacts/search", params={"q": "kakao"})).json()
    second = (await api.get(f"{ACCOUNT}/contacts/search", params={"q": "kakao", "page": 2})).json()
    assert (len(first["payload"]), first["meta"]["has_more"]) == (15, True)
    assert (len(second["payload"]), second["meta"]["has_more"]) == (2, False)


async def test_filter_compares_ignoring_case_and_refuses_unknown_keys(
    api: httpx.AsyncClient, steps: Steps
) -> None:
    await steps.contact("viber:AbC")
    await steps.contact("viber:abc")
    rule = {"attribute_key": "identifier", "filter_operator": "equal_to", "values": ["viber:abc"]}
    found = (await api.post(f"{ACCOUNT}/contacts/filter", json={"payload": [rule]})).json()
    assert sorted(c["identifier"] for c in found["payload"]) == ["viber:AbC", "viber:abc"]
    bad = await api.post(
        f"{ACCOUNT}/contacts/filter",
        json={"payload": [{**rule, "attribute_key": "favourite_colour"}]},
    )
    assert (bad.status_code, bad.json()) == (
        422,
        {"error": "Invalid attribute key - favourite_colour"},
    )


async def test_filter_and_binds_tighter_than_or(api: httpx.AsyncClient, steps: Steps) -> None:
    await steps.contact("a:1", name="Ann")
    await steps.contact("a:2", name="Bob")
    await steps.contact("b:3", name="Ann")
    rules = [
        {
            "attribute_key": "name",
            "filter_operator": "equal_to",
            "values": ["ann"],
            "query_operator": "and",
        },
        {
            "attribute_key": "identifier",
            "filter_operator": "starts_with",
            "values": ["a:"],
            "query_operator": "or",
        },
        {"attribute_key": "name", "filter_operator": "equal_to", "values": ["bob"]},
    ]
    found = (await api.post(f"{ACCOUNT}/contacts/filter", json={"payload": rules})).json()
    assert [c["identifier"] for c in found["payload"]] == ["a:1", "a:2"]


async def test_a_contact_inbox_for_the_same_source_is_the_same_session(
    api: httpx.AsyncClient, steps: Steps
) -> None:
    contact = await steps.contact("viber:a")
    url = f"{ACCOUNT}/contacts/{contact['id']}/contact_inboxes"
    again = await api.post(url, json={"inbox_id": 1, "source_id": "viber:a"})
    assert again.json()["source_id"] == "viber:a"
    shown = (await api.get(f"{ACCOUNT}/contacts/{contact['id']}")).json()["payload"]
    assert len(shown["contact_inboxes"]) == 1
    # Without a source id, Chatwoot makes a new random session each time.
    fresh = await api.post(url, json={"inbox_id": 1})
    assert fresh.json()["source_id"] != "viber:a"
    assert (await api.post(url, json={})).status_code == 422


async def test_an_unknown_contact_is_not_found(api: httpx.AsyncClient) -> None:
    for path in ("/contacts/4040", "/contacts/abc", "/contacts/4040/conversations"):
        answer = await api.get(ACCOUNT + path)
        assert (answer.status_code, answer.json()) == (
            404,
            {"error": "Resource could not be found"},
        )
