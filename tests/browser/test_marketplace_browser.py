"""The marketplace in a real browser: find, book, pay, cancel; publish a session; phone layout."""

import re
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from peerlearn.demo import DEMO_PASSWORD
from peerlearn.jinja import format_inr

pytestmark = pytest.mark.browser

# learner1 books in these tests and no other browser test signs in as learner1.
LEARNER = "learner1@peerlearn.local"
MENTOR = "mentor2@peerlearn.local"
PHONE_LEARNER = "learner5@peerlearn.local"
MENTOR_TIMEZONE = "Asia/Kolkata"  # mentor2's timezone in the demo data, and the site default
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
NEW_SESSION_DESCRIPTION = "Write pytest tests that click through real pages."
# A full refund needs 24 hours' notice; leave room for the test's own run time.
FULL_REFUND_NOTICE = timedelta(hours=25)

SEATS_LEFT = re.compile(r"(\d+) of (\d+) seats? left")
CHECKOUT_PAGE = re.compile(r"/bookings/(\d+)/pay$")
DEV_CHECKOUT_PAGE = re.compile(r"/payments/dev-checkout/order_\w+$")


def visit(page, path):
    response = page.goto(path)
    if response is None or not response.ok:
        pytest.fail(f"{path} answered {response.status if response else 'nothing'}")
    return response


def log_in(page, email, landing):
    visit(page, "/auth/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page).to_have_url(landing)


def api_data(page, path):
    """The `data` of a JSON API answer, fetched with the page's own cookies."""
    response = page.request.get(path)
    assert response.ok, f"{path} answered {response.status}"
    return response.json()["data"]


def open_paid_sessions(page):
    """Paid sessions, soonest first, that the signed-in learner could book now and still cancel
    with a full refund: seats left, far enough ahead, and no booking of theirs yet."""
    latest_start_for_refund = datetime.now(UTC) + FULL_REFUND_NOTICE
    found = []
    for item in api_data(page, "/api/sessions/?sort=soonest&has_seats=1&per_page=50")["items"]:
        if item["is_free"] or datetime.fromisoformat(item["starts_at"]) < latest_start_for_refund:
            continue
        if api_data(page, f"/api/sessions/{item['id']}/")["viewer_booking"] is None:
            found.append(item)
    return found


def seats_left(page):
    """The seats-left count in the session page's booking box."""
    text = page.get_by_role("region", name="Booking", exact=True).inner_text()
    match = SEATS_LEFT.search(text)
    assert match, f"no seat count in the booking box: {text!r}"
    return int(match.group(1))


def described(scope, term):
    """The <dd> that describes the <dt> reading `term`."""
    return scope.locator("dt", has_text=term).locator("xpath=following-sibling::dd")


def status_badge(page):
    """The booking page's status badge, beside the session title."""
    return page.locator("main h1 + .badge")


def receipt_cells(page):
    rows = page.get_by_role("region", name="Receipt").locator("tbody tr")
    expect(rows).to_have_count(1)
    return rows.first.locator("td")


def book_and_reach_dev_checkout(page, session):
    """From the session page: Book, check the checkout page, then Pay into the test checkout."""
    price = format_inr(session["price_paise"])
    page.get_by_role("button", name=f"Book for {price}").click()
    expect(page).to_have_url(CHECKOUT_PAGE)
    booking_id = CHECKOUT_PAGE.search(page.url).group(1)
    expect(page.get_by_role("heading", name="Pay for your seat")).to_be_visible()
    expect(page.get_by_text(session["title"], exact=True)).to_be_visible()
    expect(described(page, "Total")).to_have_text(f"{price} INR")

    page.get_by_role("button", name=f"Pay {price}").click()
    expect(page).to_have_url(DEV_CHECKOUT_PAGE)
    expect(page.locator("[data-amount-paise]")).to_have_text(price)
    expect(page.get_by_text(session["title"])).to_be_visible()
    return booking_id, price


def test_learner_finds_pays_for_and_cancels_a_paid_session(page):
    log_in(page, LEARNER, re.compile(r"/learn$"))
    candidates = open_paid_sessions(page)
    assert candidates, "the demo data has no paid session learner1 can book"
    # The latest one: the furthest from the full-refund cutoff, and never the one the
    # failed-payment test holds a seat in.
    session = candidates[-1]
    skill = session["skills"][0]

    visit(page, "/sessions")
    page.get_by_role("searchbox", name="Search sessions").fill(skill)
    page.get_by_label("Only sessions I can still book").check()
    page.get_by_role("search").get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/sessions\?.*has_seats=1"))
    expect(page.get_by_role("searchbox", name="Search sessions")).to_have_value(skill)
    expect(page.locator("#results-heading")).to_have_text(re.compile(r"^\d+ sessions? found$"))
    card = page.locator("a.card", has=page.get_by_role("heading", name=session["title"], exact=True))
    expect(card).to_contain_text(format_inr(session["price_paise"]))
    card.click()

    expect(page).to_have_url(re.compile(rf"/sessions/{session['id']}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(session["title"])
    seats_before = seats_left(page)
    assert seats_before == session["seats_left"]

    booking_id, price = book_and_reach_dev_checkout(page, session)
    page.get_by_label("UPI").check()
    page.get_by_role("button", name=f"Pay {price}", exact=True).click()

    expect(page).to_have_url(re.compile(rf"/bookings/{booking_id}$"))
    expect(page.get_by_text("Payment received. Your seat is confirmed.")).to_be_visible()
    expect(status_badge(page)).to_have_text("Confirmed")
    cells = receipt_cells(page)
    expect(cells.nth(2)).to_have_text(re.compile(r"^pay_\w+$"))
    expect(cells.nth(3)).to_have_text("UPI")
    expect(cells.nth(4)).to_contain_text("Captured")
    expect(cells.nth(5)).to_have_text(price)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My bookings").click()
    expect(page).to_have_url(re.compile(r"/bookings$"))
    expect(
        page.get_by_role("navigation", name="Booking lists").get_by_role("link", name="Upcoming")
    ).to_have_attribute("aria-current", "page")
    listed = page.locator(f"li[data-booking-id='{booking_id}']")
    expect(listed.get_by_role("heading")).to_have_text(session["title"])
    expect(listed.locator(".badge").first).to_have_text("Confirmed")
    listed.get_by_role("link", name="Receipt").click()
    expect(page).to_have_url(re.compile(rf"/bookings/{booking_id}$"))

    calendar_link = page.get_by_role("link", name="Add to calendar (.ics)")
    with page.expect_download() as download_info:
        calendar_link.click()
    download = download_info.value
    # Playwright shows no response (nor route) for a download, so its headers are fetched again.
    calendar_response = page.request.get(calendar_link.get_attribute("href"))
    assert calendar_response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert download.suggested_filename == f"peerlearn-booking-{booking_id}.ics"
    calendar = download.path().read_text(encoding="utf-8")
    assert calendar.startswith("BEGIN:VCALENDAR")
    assert "BEGIN:VEVENT" in calendar

    page.get_by_role("link", name="View session").click()
    expect(page.get_by_text("You're booked.")).to_be_visible()
    assert seats_left(page) == seats_before - 1
    page.get_by_role("link", name="View your booking").click()
    expect(page).to_have_url(re.compile(rf"/bookings/{booking_id}$"))

    page.get_by_text("Cancel booking…").click()
    refund_note = page.locator("[data-refund]")
    expect(refund_note).to_have_attribute("data-refund", str(session["price_paise"]))
    expect(refund_note).to_have_text(
        f"If you cancel now you get {price} back, to your original payment method."
    )
    page.get_by_role("button", name="Yes, cancel my booking").click()

    expect(page).to_have_url(re.compile(rf"/bookings/{booking_id}$"))
    expect(page.get_by_text("Booking cancelled. Your refund is on its way.")).to_be_visible()
    expect(status_badge(page)).to_have_text("Cancelled")
    cells = receipt_cells(page)
    expect(cells.nth(4)).to_contain_text("Refunded")
    expect(cells.nth(5)).to_contain_text(f"{price} refunded")
    expect(page.get_by_role("link", name="Add to calendar (.ics)")).to_have_count(0)

    page.get_by_role("link", name="View session").click()
    expect(page.get_by_role("button", name=f"Book for {price}")).to_be_visible()
    assert seats_left(page) == seats_before


def test_failed_payment_returns_to_checkout_with_the_seat_still_held(page):
    log_in(page, LEARNER, re.compile(r"/learn$"))
    candidates = open_paid_sessions(page)
    assert candidates, "the demo data has no paid session learner1 can book"
    session = candidates[0]

    visit(page, f"/sessions/{session['id']}")
    seats_before = seats_left(page)
    booking_id, price = book_and_reach_dev_checkout(page, session)
    page.get_by_role("button", name="Simulate a failed payment").click()

    expect(page).to_have_url(re.compile(rf"/bookings/{booking_id}/pay$"))
    expect(page.get_by_role("alert").filter(has_text="The payment did not go through.")).to_have_text(
        re.compile(r"Your seat is still held; try again\.")
    )
    expect(page.get_by_role("status").filter(has_text="We're holding your seat until")).to_be_visible()
    expect(page.get_by_role("button", name=f"Pay {price}")).to_be_enabled()

    page.get_by_role("link", name="← Booking details").click()
    expect(page).to_have_url(re.compile(rf"/bookings/{booking_id}$"))
    expect(status_badge(page)).to_have_text("Awaiting payment")
    expect(page.get_by_role("status").filter(has_text="Your seat is held until")).to_contain_text(
        f"Pay {price} before then to confirm it."
    )

    page.get_by_role("link", name="View session").click()
    booking_box = page.get_by_role("region", name="Booking", exact=True)
    expect(booking_box.get_by_text(re.compile(r"^Seat held until"))).to_be_visible()
    expect(booking_box.get_by_role("link", name="Pay now")).to_be_visible()
    assert seats_left(page) == seats_before - 1


def test_mentor_publishes_a_free_session_that_visitors_see_at_the_same_time(new_context):
    mentor = new_context().new_page()
    log_in(mentor, MENTOR, re.compile(r"/teach$"))
    title = f"Testing Flask views end to end {uuid.uuid4().hex[:6]}"  # only this test's session matches
    starts = datetime.combine(
        datetime.now(ZoneInfo(MENTOR_TIMEZONE)).date() + timedelta(days=3),
        datetime.strptime("18:45", "%H:%M").time(),
        tzinfo=ZoneInfo(MENTOR_TIMEZONE),
    )
    # How the pages write a time: no leading zeros, e.g. "6:45 PM".
    clock = f"{starts.hour % 12 or 12}:{starts:%M %p}"

    visit(mentor, "/teach/sessions/new")
    expect(mentor.get_by_role("region", name="When")).to_contain_text(f"In your timezone, {MENTOR_TIMEZONE}.")
    mentor.get_by_label("Title", exact=True).fill(title)
    mentor.get_by_label("What learners will get out of it").fill(NEW_SESSION_DESCRIPTION)
    mentor.get_by_label("Category", exact=True).select_option("Programming")
    skills = mentor.get_by_role("combobox", name="Skills covered")
    for skill in ("Django", "Testing"):
        skills.fill(skill)
        skills.press("Enter")
    expect(mentor.locator("input[type=hidden][name=skills]")).to_have_value("Django, Testing")
    mentor.get_by_label("Level", exact=True).select_option(label="Intermediate")
    mentor.get_by_label("Language", exact=True).select_option("Hindi")
    mentor.get_by_label("Date", exact=True).fill(starts.strftime("%Y-%m-%d"))
    mentor.get_by_label("Start time").fill(starts.strftime("%H:%M"))
    mentor.get_by_label("Duration (minutes)").fill("75")
    mentor.get_by_label("Seats", exact=True).fill("5")
    mentor.get_by_label("Price per seat").fill("0")
    mentor.get_by_role("button", name="Publish").click()

    expect(mentor).to_have_url(re.compile(r"/teach/sessions\?tab=upcoming$"))
    expect(mentor.get_by_text("Your session is published. Learners can book it now.")).to_be_visible()
    mine = mentor.locator("li[data-session-id]", has=mentor.get_by_role("heading", name=title))
    expect(mine.locator(".badge").first).to_have_text("scheduled")
    expect(mine).to_contain_text(f"{starts:%a} {starts.day} {starts:%b %Y}, {clock}")
    expect(mine).to_contain_text("0/5 booked")

    visitor = new_context().new_page()
    visit(visitor, "/sessions")
    visitor.get_by_role("searchbox", name="Search sessions").fill(title)
    visitor.get_by_role("search").get_by_role("button", name="Search").click()
    expect(visitor.locator("#results-heading")).to_have_text("1 session found")
    visitor.get_by_role("link", name=re.compile(re.escape(title))).click()

    expect(visitor.get_by_role("heading", level=1)).to_have_text(title)
    start_time = described(visitor, "Starts").locator("time")
    expect(start_time).to_have_text(f"{starts:%A} {starts.day} {starts:%B %Y}, {clock}")
    expect(start_time).to_have_attribute("datetime", starts.strftime("%Y-%m-%dT%H:%M%z"))
    expect(visitor.get_by_text(f"Times in IST ({MENTOR_TIMEZONE}).")).to_be_visible()
    booking_box = visitor.get_by_role("region", name="Booking", exact=True)
    expect(booking_box).to_contain_text("Free")
    expect(booking_box).to_contain_text("5 of 5 seats left · 75 min · Intermediate · Hindi")
    expect(visitor.get_by_text(NEW_SESSION_DESCRIPTION)).to_be_visible()
    expect(booking_box.get_by_role("link", name="Log in to book")).to_be_visible()


def assert_no_sideways_scroll(page, what):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["viewport"]["width"], f"{what} scrolls sideways ({width} px wide)"


def test_browse_and_session_pages_fit_a_phone(new_context):
    page = new_context(**PHONE).new_page()
    log_in(page, PHONE_LEARNER, re.compile(r"/learn$"))
    bookable = [
        item
        for item in api_data(page, "/api/sessions/?sort=soonest&has_seats=1&per_page=50")["items"]
        if api_data(page, f"/api/sessions/{item['id']}/")["viewer_booking"] is None
    ]
    assert bookable, "the demo data has no session learner5 can book"
    session = bookable[0]

    visit(page, "/sessions")
    expect(page.locator("#results-heading")).to_have_text(re.compile(r"sessions? found$"))
    expect(page.locator("a.card").first).to_be_visible()
    assert_no_sideways_scroll(page, "the browse page")

    visit(page, f"/sessions/{session['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(session["title"])
    book = page.get_by_role("button", name=re.compile(r"^Book (a free seat|for ₹)"))
    expect(book).to_be_visible()
    book.scroll_into_view_if_needed()
    box = book.bounding_box()
    fits = box["x"] >= 0 and box["x"] + box["width"] <= PHONE["viewport"]["width"]
    assert fits, f"the Book button sticks out of the screen: {box}"
    assert_no_sideways_scroll(page, "the session page")
