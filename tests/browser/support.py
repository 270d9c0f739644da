"""What browser tests share: opening a page that must answer, signing in, waiting for the page's
socket, the CSRF header for API calls, accounts that register and confirm themselves, sessions
made through the API, Alpine having started, and a phone's width."""

import re
import shutil
import subprocess
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from peerlearn.demo import DEMO_PASSWORD

PASSWORD = "a-long-browser-passphrase"  # noqa: S105 - a test's own credential, not a secret
# Alpine has initialised the page's first component (or the page has none).
ALPINE_STARTED = """() => {
  const el = document.querySelector('[x-data]');
  return !el || Boolean(el._x_dataStack);
}"""
PHONE_WIDTH = 390
SOCKET_TIMEOUT_MS = 10_000


def visit(page, path):
    """Open ``path`` and wait until its scripts have started, as a person's first click does
    (a click or an Enter before that meets the page without its components)."""
    response = page.goto(path)
    if response is None or not response.ok:
        pytest.fail(f"{path} answered {response.status if response else 'nothing'}")
    alpine_started(page)
    return response


def log_in(page, email, password=DEMO_PASSWORD):
    visit(page, "/auth/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.get_by_role("button", name="Log in", exact=True).click()


def wait_for_socket(page):
    # A function, not an expression: Playwright polls an expression with eval(), which the
    # pages' content security policy refuses.
    page.wait_for_function("() => document.body.dataset.socket === 'connected'", timeout=SOCKET_TIMEOUT_MS)


def csrf_headers(page):
    return {"X-CSRFToken": page.locator('meta[name="csrf-token"]').get_attribute("content")}


def register_confirmed(page, role, name):
    """A new account of ``role``, signed in on ``page`` with its email confirmed."""
    email = f"{role}.{uuid.uuid4().hex[:10]}@example.com"
    response = page.request.post(
        "/api/register/", data={"email": email, "password": PASSWORD, "name": name, "role": role}
    )
    assert response.status == 201, response.text()

    # The emailed link confirms the address and signs the new account in.
    visit(page, "/dev/outbox")
    page.locator("tbody tr", has_text=email).first.get_by_role("link").click()
    page.locator('[data-testid="email-text"] a[href*="/auth/verify/"]').click()
    expect(page.get_by_text("your email is confirmed")).to_be_visible()
    expect(page).not_to_have_url(re.compile(r"/auth/login"))
    return email


def alpine_started(page):
    page.wait_for_function(ALPINE_STARTED)


def register(page, role, name):
    """A new account of ``role``, confirmed through the dev outbox and signed in on ``page``."""
    email = f"{role}.{uuid.uuid4().hex[:10]}@example.com"
    response = page.request.post(
        "/api/register/", data={"email": email, "password": PASSWORD, "name": name, "role": role}
    )
    assert response.status == 201, response.text()
    page.goto("/dev/outbox")
    page.locator("tbody tr", has_text=email).first.get_by_role("link").click()
    # The link is built on PUBLIC_BASE_URL: follow its path on this server.
    link = page.locator('[data-testid="email-text"] a[href*="/auth/verify/"]').get_attribute("href")
    page.goto(urlsplit(link).path)
    page.wait_for_load_state()
    if page.locator("body").get_attribute("data-user-id") is None:
        page.goto("/auth/login")
        page.locator("#email").fill(email)
        page.locator("#password").fill(PASSWORD)
        page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.locator("body")).to_have_attribute("data-user-id", re.compile(r"^\d+$"))
    return email


def create_session(page, *, minutes_ahead, price_paise, capacity=4):
    starts_at = (datetime.now(UTC) + timedelta(minutes=minutes_ahead)).replace(microsecond=0)
    response = page.request.post(
        "/api/sessions/create/",
        data={
            "title": f"Policy check {uuid.uuid4().hex[:8]}",
            "description": "Pages under the content security policy.",
            "category": "Programming",
            "starts_at": starts_at.isoformat(),
            "duration_minutes": 60,
            "capacity": capacity,
            "price_paise": price_paise,
            "publish": True,
        },
        headers=csrf_headers(page),
    )
    assert response.status == 201, response.text()
    return response.json()["data"]["id"]


def no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@contextmanager
def nft_rule(network, table, hook, *rule):
    """Inside the private ``network``: an nftables ``table`` whose one chain, on ``hook`` (input
    or output), holds ``rule``, until the block ends (packets lost, connections cut)."""
    if shutil.which("nft") is None:
        from tests.conftest import unavailable

        unavailable("nft not found (apt-get install nftables): it changes what the network lets through")

    def nft(*command):
        subprocess.run(network.wrap(["nft", *command]), check=True, capture_output=True)  # noqa: S603 - a fixed argument list of our own, no shell

    nft("add", "table", "inet", table)
    try:
        nft("add", "chain", "inet", table, hook, f"{{ type filter hook {hook} priority 0; }}")
        nft("add", "rule", "inet", table, hook, *rule)
        yield
    finally:
        nft("delete", "table", "inet", table)
