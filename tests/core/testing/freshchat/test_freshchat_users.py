"""Users: lookup by filters, create, read, update, and the user's conversations."""

from __future__ import annotations

import httpx
import pytest
from freshchat_doubles import ISO_MS, UUID, Steps

from byoc.testing.clock import FakeClock
from byoc.testing.freshchat import FreshchatEmulator


async def test_create_returns_the_full_user_object(api: httpx.AsyncClient) -> None:
    body = {
        "reference_id": "viber:01234567890A=",
        "first_name": "Ann",
        "last_name": "Lee",
        "email": "a@x.com",
        "phone": "9876543212",
        "avatar": {"url": "https://cdn.example/ann.png"},
        "properties": [{"name": "source", "value": "viber"}],
        "cf_ignored": "custom fields are accepted and ignored",
    }
    response = await api.post("/users", json=body)
    assert response.status_code == 200
    user = response.json()
    assert UUID.match(user["id"])
    assert ISO_MS.match(user["created_time"]) and ISO_MS.match(user["updated_time"])
    assert user["org_contact_id"].isdigit()
    assert {k: user[k] for k in ("reference_id", "first_name", "last_name", "email", "phone")} == {
        k: body[k] for k in ("reference_id", "first_name", "last_name", "email", "phone")
    }
    assert user["avatar"] == {"url": "https://cdn.example/ann.png"}
    assert user["properties"] == [{"name": "source", "value": "viber"}]
    assert user["login_status"] is False and user["social_profiles"] == []


async def test_get_user_and_its_404(api: httpx.AsyncClient, steps: Steps) -> None:
    user_id = await steps.user("viber:1")
    assert (await api.get(f"/users/{user_id}")).json()["reference_id"] == "viber:1"
    missing = await api.get("/users/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert missing.json() == {
        "code": 404,
        "status": "USER_NOT_FOUND",
        "message": "user not found: 00000000-0000-4000-8000-000000000000",
    }


async def test_listing_users_needs_a_filter(api: httpx.AsyncClient) -> None:
    response = await api.get("/users")
    assert response.status_code == 400
    assert response.json()["code"] == 400
    assert response.json()["status"] == "INVALID_VALUE"
    assert "reference_id" in response.json()["message"]
    assert (await api.get("/users", params={"first_name": "Ann"})).status_code == 400


async def test_no_match_is_an_empty_list_not_a_404(api: httpx.AsyncClient) -> None:
    response = await api.get("/users", params={"reference_id": "nobody"})
    assert response.status_code == 200
    body = response.json()
    assert body["users"] == []
    assert body["pagination"] == {
        "total_items": 0,
        "total_pages": 0,
        "current_page": 1,
        "items_per_page": 10,
    }
    assert "next_page" not in body["links"]


@pytest.mark.parametrize(
    ("key", "value"),
    [("reference_id", "viber:ann"), ("email", "ann@example.com"), ("phone", "+821012345678")],
)
async def test_exact_filters(api: httpx.AsyncClient, steps: Steps, key: str, value: str) -> None:
    ann = await steps.user("viber:ann", email="ann@example.com", phone="+821012345678")
    await steps.user("viber:bob", email="bob@example.com", phone="+821099999999")
    found = (await api.get("/users", params={key: value})).json()["users"]
    assert [u["id"] for u in found] == [ann]


async def test_one_reference_id_may_match_several_users_oldest_first(
    api: httpx.AsyncClient, steps: Steps
) -> None:
    first = await steps.user("viber:twice")
    second = await steps.user("viber:twice")
    found = (await api.get("/users", params={"reference_id": "viber:twice"})).json()["users"]
    assert [u["id"] for u in found] == [first, second]


async def test_time_filters(api: httpx.AsyncClient, steps: Steps, clock: FakeClock) -> None:
    old = await steps.user("viber:old")
    clock.now += 3600
    new = await steps.user("viber:new")
    cut = (await api.get(f"/users/{new}")).json()["created_time"]

    async def ids(**params: str) -> list[str]:
        response = await api.get("/users", params=params)
        assert response.status_code == 200
        return [u["id"] for u in response.json()["users"]]

    assert await ids(created_from=cut) == [new]
    assert await ids(created_to=cut) == [old, new]
    assert await ids(created_to="2021-08-17T08:06:22Z") == []
    assert await ids(updated_from="2000-01-01T00:00:00+09:00") == [old, new]
    assert await ids(updated_to="2000-01-01T00:00:00") == []
    bad = await api.get("/users", params={"created_from": "yesterday"})
    assert bad.status_code == 400 and bad.json()["status"] == "INVALID_VALUE"


async def test_user_list_pagination_links(api: httpx.AsyncClient, steps: Steps) -> None:
    ids = [await steps.user("viber:many") for _ in range(5)]
    first = await api.get("/users", params={"reference_id": "viber:many", "items_per_page": 2})
    body = first.json()
    assert [u["id"] for u in body["users"]] == ids[:2]
    assert body["pagination"] == {
        "total_items": 5,
        "total_pages": 3,
        "current_page": 1,
        "items_per_page": 2,
    }
    assert "previous_page" not in body["links"]
    seen = [u["id"] for u in body["users"]]
    while "next_page" in body["links"]:
        link = body["links"]["next_page"]
        assert link["href"].startswith("/v2/users?") and link["type"] == "GET"
        assert link["rel"] == "user"
        body = (await api.get(link["href"].removeprefix("/v2"))).json()
        seen += [u["id"] for u in body["users"]]
    assert seen == ids
    assert body["links"]["previous_page"]["href"].endswith("page=2&items_per_page=2")


@pytest.mark.parametrize("params", [{"page": "0"}, {"page": "x"}, {"items_per_page": "-1"}])
async def test_bad_page_parameters_are_wrong_page(
    api: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await api.get("/users", params={"reference_id": "x", **params})
    assert response.status_code == 400
    assert response.json()["status"] == "WRONG_PAGE"


async def test_update_sets_fields_and_merges_properties(
    api: httpx.AsyncClient, steps: Steps, clock: FakeClock
) -> None:
    user_id = await steps.user("viber:ann", properties=[{"name": "a", "value": "1"}])
    clock.now += 10
    response = await api.put(
        f"/users/{user_id}",
        json={"first_name": "Ann", "properties": [{"name": "b", "value": "2"}]},
    )
    assert response.status_code == 200
    user = (await api.get(f"/users/{user_id}")).json()
    assert user["first_name"] == "Ann" and user["reference_id"] == "viber:ann"
    assert user["properties"] == [{"name": "a", "value": "1"}, {"name": "b", "value": "2"}]
    assert user["updated_time"] > user["created_time"]
    assert (await api.put("/users/missing", json={})).status_code == 404


async def test_a_changed_reference_id_is_found_by_its_new_value(
    api: httpx.AsyncClient, steps: Steps
) -> None:
    older = await steps.user("viber:new")
    user_id = await steps.user("viber:old")
    await api.put(f"/users/{user_id}", json={"reference_id": "viber:new"})
    old = (await api.get("/users", params={"reference_id": "viber:old"})).json()["users"]
    new = (await api.get("/users", params={"reference_id": "viber:new"})).json()["users"]
    assert old == [] and [u["id"] for u in new] == [older, user_id]
    await api.put(f"/users/{user_id}", json={"reference_id": None})
    new = (await api.get("/users", params={"reference_id": "viber:new"})).json()["users"]
    assert [u["id"] for u in new] == [older]


@pytest.mark.parametrize(
    "body",
    [
        {"reference_id": 5},
        {"avatar": "https://x"},
        {"properties": {"name": "a"}},
        {"properties": [{"value": "no name"}]},
        {"properties": [{"name": "a", "value": {"nested": 1}}]},
    ],
)
async def test_wrongly_typed_user_fields_are_400(
    api: httpx.AsyncClient, body: dict[str, object]
) -> None:
    response = await api.post("/users", json=body)
    assert response.status_code == 400
    assert response.json()["status"] == "INVALID_VALUE"


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"", '"\u00e9"'.encode()])
async def test_non_object_bodies_are_400(api: httpx.AsyncClient, body: bytes) -> None:
    response = await api.post("/users", content=body)
    assert response.status_code == 400
    assert response.json()["status"] == "BAD_REQUEST"


async def test_user_conversations_are_ids_most_recent_first(
    api: httpx.AsyncClient, steps: Steps
) -> None:
    user_id = await steps.user()
    first = await steps.conversation(user_id)
    second = await steps.conversation(user_id, channel_id=steps.billing_channel)
    third = await steps.conversation(user_id)
    response = await api.get(f"/users/{user_id}/conversations")
    assert response.json() == {"conversations": [{"id": third}, {"id": second}, {"id": first}]}
    assert (await api.get("/users/missing/conversations")).status_code == 404


async def test_python_reads_match_the_api(emulator: FreshchatEmulator, steps: Steps) -> None:
    user_id = await steps.user("viber:ann")
    conversation_id = await steps.conversation(user_id)
    assert [u["id"] for u in emulator.users_by_reference("viber:ann")] == [user_id]
    assert emulator.users_by_reference("viber:nobody") == []
    assert [c["conversation_id"] for c in emulator.conversations_of(user_id)] == [conversation_id]
