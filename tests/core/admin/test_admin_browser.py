"""The admin page in a real headless Chromium: log in, copy a URL, replay a dead letter.

Runs against `byoc serve` in demo mode on a real port. It needs Debian's `chromium` and
`chromium-driver` and the `selenium` package (the test extra); when they are missing the test
fails with the command that installs them: a skipped browser test would hide a broken page.
A screenshot is saved under `artifacts/`.
"""

from __future__ import annotations

import re
import shutil
import signal
import tempfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ..cli.support import ROOT, Running, clean_env, get_json, poll

TOKEN = "browser-admin-token-0123456789"
ARTIFACTS = ROOT / "artifacts"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1600",
)


def _browser_parts() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or shutil.which("chromium-driver")
    if chromium is None or driver is None:
        pytest.fail(
            "the admin browser test needs Debian's chromium and chromium-driver: "
            "apt-get install -y chromium chromium-driver"
        )
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.fail("the admin browser test needs selenium: pip install -e '.[test]'")
    return chromium, driver


@pytest.fixture
def browser() -> Iterator[Any]:
    chromium, driver_path = _browser_parts()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.TemporaryDirectory(prefix="byoc-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*FLAGS, f"--user-data-dir={profile.name}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        profile.cleanup()


@pytest.fixture
def demo() -> Iterator[tuple[Running, str]]:
    process = Running("serve", "--port", "0", env=clean_env(BYOC_ADMIN_TOKEN=TOKEN))
    base = process.wait_for(r"serving on (http://\S+)").group(1)
    try:
        yield process, base
    finally:
        assert process.stop(signal.SIGTERM) == 0, process.output


def make_dead_letter(base: str) -> None:
    """A Viber user writes; Viber refuses the agent's reply once (user unsubscribed)."""
    viber = f"{base}/emulators/viber/_emulator"
    agent = f"{base}/emulators/freshchat/_emulator"
    user = httpx.post(f"{viber}/users", json={"name": "Alice"}).json()
    httpx.post(
        f"{viber}/send",
        json={"user_id": user["id"], "message": {"type": "text", "text": "Where is my order?"}},
    ).raise_for_status()

    def conversations() -> list[dict[str, str]]:
        answer = get_json(f"{agent}/conversations")
        assert isinstance(answer, dict)
        return list(answer["conversations"])

    poll(conversations)
    fault = {"method": "send_message", "status": 6, "times": 1}
    httpx.post(f"{viber}/faults", json=fault).raise_for_status()
    conversation = conversations()[0]["conversation_id"]
    httpx.post(
        f"{agent}/conversations/{conversation}/reply", json={"text": "It ships today."}
    ).raise_for_status()
    scrape = {"Authorization": f"Bearer {TOKEN}"}
    poll(lambda: "byoc_dead_letters 1" in httpx.get(f"{base}/metrics", headers=scrape).text)


def test_admin_page_in_chromium(browser: Any, demo: tuple[Running, str]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    process, base = demo
    make_dead_letter(base)
    wait = WebDriverWait(browser, 15)

    browser.get(f"{base}/admin")
    browser.find_element(By.ID, "token").send_keys(TOKEN)
    browser.find_element(By.ID, "login").click()
    wait.until(ready.presence_of_element_located((By.ID, "dead-letters")))
    assert browser.find_element(By.ID, "mode").text == "DEMO"
    # Served over http://127.0.0.1, a secure context: the clipboard API is there to use.
    browser.execute_cdp_cmd(
        "Browser.grantPermissions",
        {"origin": base, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
    )

    copy = browser.find_element(By.ID, "copy-messaging-webhook")
    url = copy.get_attribute("data-copy")
    # The demo shows the URLs it is served at, not its in-process network's.
    assert url == f"{base}/messaging/webhook"
    copy.click()
    wait.until(lambda d: copy.get_attribute("data-state") == "copied")
    assert copy.text == "Copied ✓"
    pasted = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "navigator.clipboard.readText().then(done, (e) => done('unreadable: ' + e));"
    )
    assert pasted == url

    rows = browser.find_elements(By.CSS_SELECTOR, "#dead-letters tr[id^=dead-]")
    assert len(rows) == 1 and "It ships today." in rows[0].text
    dead_id = re.sub(r"\D", "", rows[0].get_attribute("id"))
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "admin-page-dead-letter.png"))

    browser.find_element(By.ID, f"replay-{dead_id}").click()
    wait.until(ready.presence_of_element_located((By.ID, "flash")))
    assert browser.find_element(By.ID, "flash").text == f"Dead letter {dead_id} queued again."

    def delivered() -> bool:
        sent = get_json(f"{base}/emulators/viber/_emulator/sent")
        assert isinstance(sent, list)
        return [m["body"].get("text") for m in sent] == ["It ships today."]

    poll(delivered)
    browser.get(f"{base}/admin")
    wait.until(ready.presence_of_element_located((By.ID, "no-dead-letters")))
    viber = browser.find_element(By.ID, "channel-row-viber")
    assert viber.find_element(By.CSS_SELECTOR, "[data-count=out]").text == "1"
    assert viber.find_element(By.CSS_SELECTOR, "[data-count=failed]").text == "1"
    browser.save_screenshot(str(ARTIFACTS / "admin-page.png"))
    assert (ARTIFACTS / "admin-page.png").stat().st_size > 10_000
