"""The admin page over HTTP: who gets in, what it shows, and the dead-letter buttons."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from byoc.channel import InstallResult
from byoc.errors import PermanentError
from byoc.models import OutboundMessage, SendResult
from byoc.redaction import remember_secrets
from byoc.store import MemoryStore
from byoc.testing.fake_channel import FakeChannel
from byoc.testing.rig import BRIDGE_URL, BridgeRig

TOKEN = "admin-token-for-tests-0123456789"
ADMIN = f"{BRIDGE_URL}/admin"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
FORM = {"content-type": "application/x-www-form-urlencoded", "accept": "text/html"}


class ManualChannel(FakeChannel):
    """A channel authenticated by a secret path segment, registered by hand."""

    async def install(self, target_url: str) -> InstallResult:
        return InstallResult(
            target_url=f"{target_url}/path-secret-0123456789",
            registered=False,
            instructions="Paste it in the dealer's console.",
        )


class RegisteringChannel(FakeChannel):
    async def install(self, target_url: str) -> InstallResult:
        return InstallResult(target_url=target_url, registered=True)


class Admin:
    def __init__(self, rig: BridgeRig, channel: FakeChannel) -> None:
        self.rig, self.channel = rig, channel
        self.http = rig.http

    async def login(self) -> dict[str, str]:
        """Log in with the form; the Cookie header a browser would send afterwards."""
        response = await self.http.post(f"{ADMIN}/login", data={"token": TOKEN}, headers=FORM)
        assert response.status_code == 303 and response.headers["location"] == "/admin"
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/admin" in cookie
        assert TOKEN not in cookie
        return {"cookie": cookie.split(";")[0]}

    async def dead_letter(self) -> int:
        """An agent reply that the channel refuses for good becomes a dead letter."""
        await self.rig.say(self.channel, "minjun", "hello")
        await self.rig.settle()
        self.channel.refuse_users.add("minjun")
        (user,) = self.rig.freshchat.users_by_reference("fake:minjun")
        (conversation,) = self.rig.freshchat.conversations_of(str(user["id"]))
        await self.rig.freshchat.agent_reply(conversation["conversation_id"], "Sorry for the wait")
        await self.rig.settle()
        (dead,) = await self.rig.bridge.dead_letters()
        return dead.id


@pytest.fixture
async def admin() -> AsyncIterator[Admin]:
    async with BridgeRig() as rig:
        channel = FakeChannel()
        rig.attach([channel], store=MemoryStore(), admin_token=TOKEN)
        yield Admin(rig, channel)


async def test_without_a_token_the_page_is_off_and_says_how_to_turn_it_on() -> None:
    async with BridgeRig() as rig:
        rig.attach([FakeChannel()], store=MemoryStore())
        response = await rig.http.get(ADMIN)
        assert response.status_code == 404
        assert "BYOC_ADMIN_TOKEN" in response.text and "is off" in response.text
        refused = await rig.http.post(f"{ADMIN}/dead-letters/1/replay", headers=BEARER)
        assert refused.status_code == 404


async def test_strangers_get_the_login_form_and_a_wrong_token_is_refused(admin: Admin) -> None:
    response = await admin.http.get(ADMIN)
    assert response.status_code == 401 and 'name="token"' in response.text
    wrong = await admin.http.post(f"{ADMIN}/login", data={"token": "guess"}, headers=FORM)
    assert wrong.status_code == 401 and "not the admin token" in wrong.text
    assert "set-cookie" not in wrong.headers
    forged = await admin.http.get(ADMIN, headers={"cookie": "byoc_admin=0123"})
    assert forged.status_code == 401


async def test_bearer_and_login_cookie_both_open_the_page(admin: Admin) -> None:
    by_bearer = await admin.http.get(ADMIN, headers=BEARER)
    assert by_bearer.status_code == 200
    session = await admin.login()
    by_cookie = await admin.http.get(ADMIN, headers=session)
    assert by_cookie.status_code == 200
    page = by_cookie.text
    assert f"{BRIDGE_URL}/messaging/webhook" in page
    assert f"{BRIDGE_URL}/channels/fake/webhook" in page and "Not installed yet" in page
    assert TOKEN not in page and admin.rig.freshchat.token not in page


async def test_the_page_is_self_contained_and_locked_down(admin: Admin) -> None:
    response = await admin.http.get(ADMIN, headers=BEARER)
    page = response.text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<link" not in page
    policy = response.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy)
    assert nonce and f'<script nonce="{nonce.group(1)}">' in page
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["cache-control"] == "no-store"


async def test_install_state_shows_registered_and_pasted_channels() -> None:
    async with BridgeRig() as rig:
        rig.attach(
            [RegisteringChannel(name="auto"), ManualChannel(name="dealer")],
            store=MemoryStore(),
            admin_token=TOKEN,
        )
        await rig.bridge.install()
        page = (await rig.http.get(ADMIN, headers=BEARER)).text
    assert 'data-state="registered"' in page
    assert 'data-state="manual"' in page and "Paste it in the dealer&#x27;s console." in page
    # The secret path segment is masked on screen and copied whole.
    shown = f"{BRIDGE_URL}/channels/dealer/webhook/{'•' * 8}"
    assert shown in page
    assert f'data-copy="{BRIDGE_URL}/channels/dealer/webhook/path-secret-0123456789"' in page
    assert page.count("path-secret-0123456789") == 1


async def test_counts_and_last_event_times_follow_the_traffic(admin: Admin) -> None:
    await admin.rig.say(admin.channel, "minjun", "hello")
    await admin.rig.settle()
    page = (await admin.http.get(ADMIN, headers=BEARER)).text
    assert '<td class="num" data-count="in">1</td>' in page
    assert '<td class="num" data-count="out">0</td>' in page
    assert "s ago" in page


async def test_a_cookie_post_without_the_form_token_is_refused(admin: Admin) -> None:
    dead = await admin.dead_letter()
    session = await admin.login()
    forged = await admin.http.post(
        f"{ADMIN}/dead-letters/{dead}/replay", data={}, headers={**FORM, **session}
    )
    assert forged.status_code == 403 and "form token" in forged.text
    assert [d.id for d in await admin.rig.bridge.dead_letters()] == [dead]


async def test_replay_from_the_page_delivers_the_dead_letter(admin: Admin) -> None:
    dead = await admin.dead_letter()
    session = await admin.login()
    page = (await admin.http.get(ADMIN, headers=session)).text
    assert f'id="dead-{dead}"' in page and "Sorry for the wait" in page
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert csrf is not None
    admin.channel.refuse_users.clear()
    response = await admin.http.post(
        f"{ADMIN}/dead-letters/{dead}/replay",
        data={"csrf": csrf.group(1)},
        headers={**FORM, **session},
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin?done=")
    await admin.rig.settle()
    assert [m.parts[0].text for m in admin.channel.outbox["minjun"]] == ["Sorry for the wait"]  # type: ignore[union-attr]
    after = (await admin.http.get(BRIDGE_URL + response.headers["location"], headers=session)).text
    assert f"Dead letter {dead} queued again." in after and 'id="no-dead-letters"' in after


async def test_bearer_clients_drop_with_json(admin: Admin) -> None:
    dead = await admin.dead_letter()
    response = await admin.http.post(f"{ADMIN}/dead-letters/{dead}/drop", headers=BEARER)
    assert response.status_code == 200 and response.json()["ok"] is True
    again = await admin.http.post(f"{ADMIN}/dead-letters/{dead}/drop", headers=BEARER)
    assert again.status_code == 404 and "No dead letter" in again.json()["error"]
    unknown = await admin.http.post(f"{ADMIN}/nothing-here", headers=BEARER)
    assert unknown.status_code == 404


async def test_logout_ends_the_session_even_for_a_copied_cookie(admin: Admin) -> None:
    session = await admin.login()
    page = (await admin.http.get(ADMIN, headers=session)).text
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert csrf is not None
    response = await admin.http.post(
        f"{ADMIN}/logout", data={"csrf": csrf.group(1)}, headers={**FORM, **session}
    )
    assert response.status_code == 303 and "Max-Age=0" in response.headers["set-cookie"]
    # Someone who copied the cookie before the logout is out too.
    assert (await admin.http.get(ADMIN, headers=session)).status_code == 401


async def test_each_login_is_its_own_session(admin: Admin) -> None:
    first, second = await admin.login(), await admin.login()
    assert first != second
    page = (await admin.http.get(ADMIN, headers=first)).text
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert csrf is not None
    await admin.http.post(
        f"{ADMIN}/logout", data={"csrf": csrf.group(1)}, headers={**FORM, **first}
    )
    assert (await admin.http.get(ADMIN, headers=first)).status_code == 401
    assert (await admin.http.get(ADMIN, headers=second)).status_code == 200
    # A form token belongs to its session: the first session's is refused on the second.
    refused = await admin.http.post(
        f"{ADMIN}/dead-letters/1/drop", data={"csrf": csrf.group(1)}, headers={**FORM, **second}
    )
    assert refused.status_code == 403


async def test_failed_logins_are_throttled_per_address(admin: Admin) -> None:
    for _ in range(5):
        wrong = await admin.http.post(f"{ADMIN}/login", data={"token": "guess"}, headers=FORM)
        assert wrong.status_code == 401
    throttled = await admin.http.post(f"{ADMIN}/login", data={"token": TOKEN}, headers=FORM)
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0
    assert "too many failed logins" in throttled.text
    # Another address is not held back.
    transport = httpx.ASGITransport(app=admin.rig.bridge, client=("10.0.0.9", 4000))
    async with httpx.AsyncClient(transport=transport, base_url=BRIDGE_URL) as other:
        allowed = await other.post(f"{ADMIN}/login", data={"token": TOKEN}, headers=FORM)
        assert allowed.status_code == 303


async def test_a_double_slash_prefix_cannot_send_the_forms_to_another_host(admin: Admin) -> None:
    transport = httpx.ASGITransport(app=admin.rig.bridge, root_path="//evil.example")
    async with httpx.AsyncClient(transport=transport, base_url="http://host") as client:
        page = await client.get("//evil.example/admin", headers={"accept": "text/html"})
        assert page.status_code == 401
        assert 'action="/evil.example/admin/login"' in page.text
        assert "//evil.example" not in page.text


async def test_the_secure_flag_follows_the_servers_scheme_not_a_clients_header(
    admin: Admin,
) -> None:
    spoofed = await admin.http.post(
        f"{ADMIN}/login", data={"token": TOKEN}, headers={**FORM, "x-forwarded-proto": "https"}
    )
    assert "Secure" not in spoofed.headers["set-cookie"]
    transport = httpx.ASGITransport(app=admin.rig.bridge)
    async with httpx.AsyncClient(transport=transport, base_url="https://bridge.test") as client:
        over_https = await client.post("/admin/login", data={"token": TOKEN}, headers=FORM)
        assert "Secure" in over_https.headers["set-cookie"]


async def test_the_page_never_shows_text_from_its_url(admin: Admin) -> None:
    page = await admin.http.get(f"{ADMIN}?done=Call+0800-SCAM+now", headers=BEARER)
    assert page.status_code == 200 and "SCAM" not in page.text and 'id="flash"' not in page.text
    known = await admin.http.get(f"{ADMIN}?done=dropped:7", headers=BEARER)
    assert "Dead letter 7 dropped." in known.text


async def test_under_a_prefix_links_and_cookie_keep_the_prefix(admin: Admin) -> None:
    transport = httpx.ASGITransport(app=admin.rig.bridge, root_path="/support/byoc")
    async with httpx.AsyncClient(transport=transport, base_url="http://host") as client:
        page = await client.get("/support/byoc/admin", headers=BEARER)
        assert page.status_code == 200
        assert 'action="/support/byoc/admin/logout"' in page.text
        login = await client.post("/support/byoc/admin/login", data={"token": TOKEN}, headers=FORM)
        assert login.headers["location"] == "/support/byoc/admin"
        assert "Path=/support/byoc/admin" in login.headers["set-cookie"]


@given(
    method=st.sampled_from(["GET", "POST", "HEAD", "PUT", "DELETE"]),
    rest=st.text(alphabet="abcdefghijklmnopqrstuvwxyz-/0123456789%?=&", max_size=40),
    body=st.binary(max_size=200),
    auth=st.sampled_from([{}, BEARER, {"cookie": "byoc_admin=x"}, {"authorization": "Bearer"}]),
    form=st.booleans(),
)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_request_to_the_admin_pages_gets_an_answer_below_500(
    method: str, rest: str, body: bytes, auth: dict[str, str], form: bool
) -> None:
    async def go() -> int:
        async with BridgeRig() as rig:
            rig.attach([FakeChannel()], store=MemoryStore(), admin_token=TOKEN)
            headers = {**auth, **(FORM if form else {})}
            url = f"{ADMIN}/{rest}" if rest else ADMIN
            response = await rig.http.request(method, url, content=body, headers=headers)
            return response.status_code

    assert asyncio.run(go()) < 500


async def test_refused_webhooks_and_the_signature_state_are_on_the_page(admin: Admin) -> None:
    page = (await admin.http.get(ADMIN, headers=BEARER)).text
    assert 'id="no-refusals"' in page and "Signatures are verified." in page
    forged = await admin.http.post(
        f"{BRIDGE_URL}/channels/fake/webhook", content=b"{}", headers={"x-fake-signature": "00"}
    )
    assert forged.status_code == 401
    page = (await admin.http.get(ADMIN, headers=BEARER)).text
    assert 'id="refused-channel:fake"' in page and "X-Fake-Signature" in page


async def test_each_dead_letter_names_the_job_the_log_names(admin: Admin) -> None:
    dead = await admin.dead_letter()
    (letter,) = await admin.rig.bridge.dead_letters()
    page = (await admin.http.get(ADMIN, headers=BEARER)).text
    assert f'<td class="num" data-job="{letter.job.id}">{letter.job.id}</td>' in page
    assert f'id="dead-{dead}"' in page and "<th>job</th>" in page


SENDER_KEY = "3fd538ef7218a14a63e51ba47e83c76e1ff5ab62"
VIBER_TOKEN = "4453b6ac12345678-91011121314151617"


class LeakyChannel(FakeChannel):
    """Instructions and refusals written the way older versions wrote them: credentials in."""

    async def install(self, target_url: str) -> InstallResult:
        return InstallResult(
            target_url=target_url,
            registered=False,
            instructions=f"Send this URL as the webhook of sending profile {SENDER_KEY}.",
        )

    async def send(self, user_id: str, message: OutboundMessage) -> SendResult:
        raise PermanentError(
            f"Viber said: X-Viber-Auth-Token: {VIBER_TOKEN} refused; see "
            "https://bot:hunter2@api.test/x?sig=s1gn4ture"
        )


async def test_no_credential_from_upstream_or_the_settings_reaches_the_page() -> None:
    # build_bridge() remembers the settings' credentials; a bridge built by hand may too.
    remember_secrets({"BYOC_KAKAO_SENDER_KEY": SENDER_KEY, "BYOC_VIBER_AUTH_TOKEN": VIBER_TOKEN})
    async with BridgeRig() as rig:
        channel = LeakyChannel()
        rig.attach([channel], store=MemoryStore(), admin_token=TOKEN)
        await rig.bridge.install()
        admin = Admin(rig, channel)
        await admin.rig.say(admin.channel, "minjun", "hello")
        await rig.settle()
        (user,) = rig.freshchat.users_by_reference("fake:minjun")
        (conversation,) = rig.freshchat.conversations_of(str(user["id"]))
        await rig.freshchat.agent_reply(conversation["conversation_id"], "Sorry for the wait")
        await rig.settle()
        assert len(await rig.bridge.dead_letters()) == 1
        page = (await rig.http.get(ADMIN, headers=BEARER)).text
    assert "Viber said: X-Viber-Auth-Token: ********" in page
    assert "sending profile ********" in page
    for secret in (SENDER_KEY, VIBER_TOKEN, "hunter2", "s1gn4ture"):
        assert secret not in page
