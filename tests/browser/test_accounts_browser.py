"""Accounts in a real browser: register, confirm, edit, sign in and out, on the real server."""

import re
import uuid
from urllib.parse import urlsplit

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.support import log_in, visit, wait_for_socket

pytestmark = pytest.mark.browser

LOGIN_PAGE = re.compile(r"/auth/login(\?.*)?$")


def log_out_from_nav(page):
    page.get_by_role("button", name="Account menu").click()
    page.locator("#user-menu").get_by_role("button", name="Log out").click()
    # Not the "logged out" flash: the page's own socket is told the session ended and may reach
    # the login page before the form's redirect does (reported; see realtime.js endSession).
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Log in")).to_be_visible()
    assert page.locator("body").get_attribute("data-user-id") is None


def make_png(path, size=96):
    image = Image.new("RGB", (size, size), (91, 63, 216))
    for x in range(size // 4, 3 * size // 4):
        image.putpixel((x, size // 2), (255, 255, 255))
    image.save(path, format="PNG")
    return path


def test_register_confirm_edit_profile_and_log_out(page, tmp_path):
    email = f"asha.{uuid.uuid4().hex[:8]}@example.com"
    visit(page, "/auth/register")
    page.locator("#name").fill("Asha Browser")
    page.locator("#email").fill(email)
    page.locator("#password").fill("a-long-browser-passphrase")

    for skill in ("Public speaking", "Rust"):
        page.locator("#skills").fill(skill)
        page.locator("#skills").press("Enter")
    expect(page.locator("input[type=hidden][name=skills]")).to_have_value("Public speaking, Rust")

    with page.expect_response(lambda r: "/api/skill-suggestions/" in r.url and r.ok):
        page.locator("#interests").press_sequentially("Mach")
    suggestion = page.locator("#interests-suggestions").get_by_role("option", name="Machine Learning")
    suggestion.click()
    expect(page.locator("input[type=hidden][name=interests]")).to_have_value("Machine Learning")

    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    expect(page.get_by_text(email)).to_be_visible()

    # The emailed link finishes the sign-up: confirmed and signed in, on the learner's home.
    visit(page, "/dev/outbox")
    page.locator("tbody tr", has_text=email).first.get_by_role("link").click()
    verify_link = page.locator('[data-testid="email-text"] a[href*="/auth/verify/"]')
    expect(verify_link).to_have_count(1)
    verify_link.click()
    expect(page).to_have_url(re.compile(r"/learn$"))
    expect(page.get_by_text("Welcome to PeerLearn, Asha! Your email is confirmed.")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(r"Hi Asha"))).to_be_visible()
    expect(page.locator("[role=status]", has_text="Confirm your email")).to_have_count(0)

    visit(page, "/profile/edit")
    # The photo picked is saved with the rest by "Save profile".
    page.locator("input[type=file][name=avatar]").set_input_files(make_png(tmp_path / "avatar.png"))
    expect(page.get_by_text("New photo chosen: press Save profile to keep it.")).to_be_visible()
    page.locator("#name").fill("Asha Verified")
    page.locator("#bio").fill("Learning Rust on weekends.")
    page.get_by_role("button", name="Save profile").click()

    expect(page).to_have_url(re.compile(r"/profile$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Asha Verified")
    expect(page.get_by_text("Learning Rust on weekends.")).to_be_visible()
    avatar = page.locator("main img[src*='/media/avatars/']").first
    expect(avatar).to_be_visible()
    assert avatar.evaluate("img => img.complete && img.naturalWidth > 0"), "the avatar image did not load"

    log_out_from_nav(page)
    page.goto("/profile")
    expect(page).to_have_url(LOGIN_PAGE)


def test_skill_box_forgives_typos_and_offers_skills_people_list_together(page):
    visit(page, "/auth/register")
    page.locator("#skills").press_sequentially("pyhton")
    page.locator("#skills-suggestions").get_by_role("option", name="Python", exact=True).click()
    skills = page.locator("input[type=hidden][name=skills]")
    expect(skills).to_have_value("Python")

    # The demo's people list Python with other skills; one click adds one of them.
    chip = page.locator("#skills-suggestions + [role=group]").get_by_role("button").first
    expect(chip).to_be_visible()
    name = chip.get_attribute("aria-label").removeprefix("Add ")
    chip.click()
    expect(skills).to_have_value(f"Python, {name}")


def test_mentor_lands_on_teach_with_a_live_socket(page):
    log_in(page, "mentor1@peerlearn.local")
    expect(page).to_have_url(re.compile(r"/teach$"))
    wait_for_socket(page)
    assert page.evaluate("window.peerlearn.socket.connected") is True


def test_copied_cookie_is_refused_after_logout(new_context):
    owner = new_context().new_page()
    log_in(owner, "learner2@peerlearn.local")
    expect(owner).to_have_url(re.compile(r"/learn$"))

    thief_context = new_context()
    thief_context.add_cookies(owner.context.cookies())
    thief = thief_context.new_page()
    visit(thief, "/profile")
    expect(thief).to_have_url(re.compile(r"/profile$"))
    expect(thief.locator("main").get_by_text("learner2@peerlearn.local")).to_be_visible()
    wait_for_socket(thief)

    log_out_from_nav(owner)
    # The server tells the copied session's open socket that it ended; the page goes to login.
    expect(thief).to_have_url(LOGIN_PAGE)
    thief.goto("/profile")
    expect(thief).to_have_url(LOGIN_PAGE)
    assert thief.locator("body").get_attribute("data-user-id") is None


def test_log_out_everywhere_ends_the_other_browser_session(new_context):
    laptop = new_context().new_page()
    phone = new_context().new_page()
    for browser_page in (laptop, phone):
        log_in(browser_page, "learner3@peerlearn.local")
        expect(browser_page).to_have_url(re.compile(r"/learn$"))
    visit(phone, "/profile")
    wait_for_socket(phone)

    visit(laptop, "/profile")
    expect(laptop.locator("#devices li")).to_have_count(2)
    laptop.get_by_role("button", name="Log out everywhere").click()
    expect(laptop).to_have_url(LOGIN_PAGE)

    expect(phone).to_have_url(LOGIN_PAGE)
    phone.goto("/profile")
    expect(phone).to_have_url(LOGIN_PAGE)


def test_landing_page_fits_a_phone_and_its_menu_opens(new_context):
    page = new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    visit(page, "/")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 390, f"the landing page scrolls sideways ({scroll_width} px wide)"

    menu = page.locator("#mobile-menu")
    expect(menu).to_be_hidden()
    page.get_by_role("button", name="Open menu").click()
    expect(menu).to_be_visible()
    expect(menu.get_by_role("link", name="Log in")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_wrong_password_shows_the_form_error(page):
    log_in(page, "learner4@peerlearn.local", "not-the-password")
    expect(page).to_have_url(LOGIN_PAGE)
    expect(page.locator("#password-error")).to_have_text("Wrong email or password.")
    expect(page.locator("#password")).to_have_attribute("aria-invalid", "true")
    assert page.locator("body").get_attribute("data-user-id") is None


def test_pages_make_no_request_beyond_loopback(page, page_guard, live_server):
    public = ["/auth/register", "/auth/login", "/auth/forgot", "/"]
    for path in public:
        visit(page, path)
    mentor_link = page.locator("a[href^='/mentors/']").first
    public.append(mentor_link.get_attribute("href"))
    visit(page, public[-1])

    log_in(page, "learner5@peerlearn.local")
    signed_in = ["/learn", "/profile", "/profile/edit", "/dev/outbox"]
    for path in signed_in:
        visit(page, path)
    wait_for_socket(page)

    visited = {url.removeprefix(live_server.url) for url in page_guard.visited}
    assert set(public + signed_in) <= visited
    # The watch saw the page's own assets, so it would also have seen anything else.
    assert any(
        re.fullmatch(r"/static/dist/app-[A-Za-z0-9]+\.css", urlsplit(url).path) for url in page_guard.requests
    )
    assert page_guard.external_requests == []


def test_the_page_watch_catches_leaks_and_errors(page, page_guard):
    # The other tests rely on this watch; it must notice what it is there to notice.
    page.goto("/")
    page.evaluate(
        """() => {
            const img = document.createElement('img');
            img.src = 'http://example.com/pixel.png';
            document.body.append(img);
            console.error('deliberate console error');
            setTimeout(() => { throw new Error('deliberate page error'); });
        }"""
    )
    page.wait_for_timeout(300)
    problems = "\n".join(page_guard.problems())
    assert "http://example.com/pixel.png" in problems
    assert "deliberate console error" in problems
    assert "deliberate page error" in problems
    page_guard.reset()
