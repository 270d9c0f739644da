"""Razorpay Checkout on the booking pay page and in the room's gift form, in real Chromium, with
Razorpay configured.

The app runs with the Razorpay gateway against the local stand-in of Razorpay's REST API
(tests/fakes/razorpay_api.py), and RAZORPAY_CHECKOUT_URL points at a stand-in checkout.js served on
loopback (tests/support/razorpay_checkout.py). The page's content security policy must let that
script in, as it lets Razorpay's own in. The stand-in Checkout records the options the page opened
it with; the test then plays the customer: pays (a result signed with the key secret, as
Razorpay signs it), fails, or closes the window.
"""

import hashlib
import hmac
import re
import sqlite3
from contextlib import closing

import pytest
from playwright.sync_api import expect

from peerlearn.jinja import format_inr
from tests.browser.conftest import _serve, launch_media_browser, open_media_context, watched_contexts
from tests.browser.room_support import book, create_session_starting_soon, enter_room, open_panel, start
from tests.browser.support import create_session, register, visit
from tests.fakes.razorpay_api import RazorpayStandIn
from tests.support.razorpay_checkout import CheckoutScriptServer

pytestmark = pytest.mark.browser

PRICE_PAISE = 49_900
GIFT_PAISE = 20_000
PAY_PAGE = re.compile(r"/bookings/(\d+)/pay$")
CHECKOUT_OPEN = "() => window.razorpayStandIn && window.razorpayStandIn.isOpen()"


def in_network(network, function):
    """Run ``function`` where the live server runs, so its sockets listen in the same network."""
    return function() if network is None else network.call(function)


@pytest.fixture(scope="module")
def razorpay_api(browser, private_network):
    # `browser` first: without Chromium the module skips before any server starts.
    stand_in = RazorpayStandIn()
    in_network(private_network, stand_in.start)
    yield stand_in
    stand_in.stop()


@pytest.fixture(scope="module")
def checkout_script(private_network):
    server = CheckoutScriptServer()
    in_network(private_network, server.start)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def razorpay_server(private_network, razorpay_api, checkout_script):
    """The embedded server with the Razorpay gateway instead of the dev gateway."""
    server = _serve(
        private_network,
        {
            "RAZORPAY_KEY_ID": razorpay_api.key_id,
            "RAZORPAY_KEY_SECRET": razorpay_api.key_secret,
            "RAZORPAY_WEBHOOK_SECRET": razorpay_api.webhook_secret,
            "RAZORPAY_BASE_URL": razorpay_api.base_url,
            "RAZORPAY_CHECKOUT_URL": checkout_script.url,
        },
    )
    yield server
    server.stop()


@pytest.fixture
def new_razorpay_context(browser, razorpay_server, page_guard):
    yield from watched_contexts(browser, razorpay_server.url, page_guard)


@pytest.fixture
def paid_session(new_razorpay_context):
    """A published paid session by a new mentor."""
    page = new_razorpay_context().new_page()
    register(page, "mentor", "Razorpay Mentor")
    session_id = create_session(page, minutes_ahead=48 * 60, price_paise=PRICE_PAISE)
    page.close()
    return session_id


@pytest.fixture
def pay_page(new_razorpay_context, paid_session):
    """A new learner on the pay page of their booking of ``paid_session``: (page, booking id)."""
    page = new_razorpay_context().new_page()
    register(page, "learner", "Razorpay Learner")
    visit(page, f"/sessions/{paid_session}")
    page.get_by_role("button", name=f"Book for {format_inr(PRICE_PAISE)}").click()
    expect(page).to_have_url(PAY_PAGE)
    expect(page.get_by_role("heading", name="Pay for your seat")).to_be_visible()
    # The pay button is enabled once the page's script can take the payment.
    expect(pay_button(page)).to_be_enabled()
    return page, int(PAY_PAGE.search(page.url).group(1))


def pay_button(page):
    return page.locator("[data-pay-button]")


def stored_payment(server, booking_id):
    """The booking's payment as the server stored it: (order id, amount in paise, currency)."""
    database = server.instance_dir / "peerlearn.sqlite3"
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
        rows = connection.execute(
            "SELECT order_id, amount_paise, currency FROM payments WHERE booking_id = ?", (booking_id,)
        ).fetchall()
    assert len(rows) == 1, rows
    return rows[0]


def booking_status(server, booking_id):
    database = server.instance_dir / "peerlearn.sqlite3"
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
        return connection.execute("SELECT status FROM bookings WHERE id = ?", (booking_id,)).fetchone()[0]


def open_checkout(page):
    """Click Pay and wait for Checkout to open; the options it was opened with."""
    pay_button(page).click()
    page.wait_for_function(CHECKOUT_OPEN)
    opened = page.evaluate("() => window.razorpayStandIn.openedWith()")
    assert len(opened) == 1, opened
    return opened[0]


def razorpay_signature(key_secret, order_id, payment_id):
    """What Razorpay's Checkout hands the page: HMAC-SHA256 of "order_id|payment_id"."""
    return hmac.new(key_secret.encode(), f"{order_id}|{payment_id}".encode(), hashlib.sha256).hexdigest()


def test_the_page_loads_the_configured_checkout_script_under_its_policy(
    pay_page, razorpay_server, checkout_script
):
    page, _booking_id = pay_page
    response = page.request.get(page.url)
    policy = response.headers["content-security-policy"]
    script_src = next(part for part in policy.split(";") if part.strip().startswith("script-src"))
    origin = checkout_script.url.removesuffix("/v1/checkout.js")
    assert origin in script_src.split()
    assert page.evaluate("() => typeof window.Razorpay") == "function"
    assert checkout_script.served >= 1


def test_checkout_opens_with_the_stored_order_and_a_signed_payment_confirms_the_booking(
    pay_page, razorpay_server, razorpay_api
):
    page, booking_id = pay_page
    order_id, amount_paise, currency = stored_payment(razorpay_server, booking_id)
    assert amount_paise == PRICE_PAISE
    assert razorpay_api.orders[order_id].amount == PRICE_PAISE

    options = open_checkout(page)
    assert options["key"] == razorpay_api.key_id
    assert options["order_id"] == order_id
    assert options["amount"] == amount_paise
    assert options["currency"] == currency == "INR"
    assert options["prefill"]["name"] == "Razorpay Learner"
    assert options["prefill"]["email"].startswith("learner.")
    expect(pay_button(page)).to_be_disabled()

    # The customer pays at Razorpay; Checkout hands the page the signed result.
    payment = razorpay_api.authorize_payment(order_id)
    result = {
        "razorpay_order_id": order_id,
        "razorpay_payment_id": payment["id"],
        "razorpay_signature": razorpay_signature(razorpay_api.key_secret, order_id, payment["id"]),
    }
    page.evaluate("(result) => window.razorpayStandIn.pay(result)", result)

    expect(page).to_have_url(re.compile(rf"/bookings/{booking_id}$"))
    expect(page.locator("main h1 + .badge")).to_have_text("Confirmed")
    receipt = page.get_by_role("region", name="Receipt").locator("tbody tr")
    expect(receipt).to_have_count(1)
    expect(receipt.locator("td").nth(1)).to_have_text(order_id)
    expect(receipt.locator("td").nth(2)).to_have_text(payment["id"])
    expect(receipt.locator("td").nth(4)).to_contain_text("Captured")
    assert booking_status(razorpay_server, booking_id) == "confirmed"


def test_a_result_signed_with_another_secret_is_refused(pay_page, razorpay_server, razorpay_api, page_guard):
    page, booking_id = pay_page
    options = open_checkout(page)
    payment = razorpay_api.authorize_payment(options["order_id"])
    forged = {
        "razorpay_order_id": options["order_id"],
        "razorpay_payment_id": payment["id"],
        "razorpay_signature": razorpay_signature("not-the-key-secret", options["order_id"], payment["id"]),
    }
    with page.expect_response(re.compile(r"/api/verify-payment/$")) as answer:
        page.evaluate("(result) => window.razorpayStandIn.pay(result)", forged)
    assert answer.value.status == 400

    expect(page.get_by_role("alert")).to_have_text("The payment signature does not match this order.")
    expect(page).to_have_url(PAY_PAGE)
    expect(pay_button(page)).to_be_enabled()
    assert booking_status(razorpay_server, booking_id) == "pending_payment"

    # Chromium logs the refused request on the console; refusing it is what this test checks.
    logged = [(text, where) for text, where in page_guard.console_errors if where == answer.value.url]
    assert logged, page_guard.console_errors
    assert all(
        text.startswith("Failed to load resource: the server responded with a status of 400")
        for text, _ in logged
    )
    page_guard.console_errors[:] = [entry for entry in page_guard.console_errors if entry not in logged]


def test_a_failed_attempt_shows_its_reason_and_keeps_checkout_open(pay_page, razorpay_server, razorpay_api):
    page, booking_id = pay_page
    options = open_checkout(page)
    reason = "Your bank declined this payment."
    failed = razorpay_api.fail_payment(options["order_id"], reason)
    page.evaluate(
        "(error) => window.razorpayStandIn.fail(error)",
        {
            "code": "BAD_REQUEST_ERROR",
            "description": reason,
            "source": "bank",
            "step": "payment_authorization",
            "reason": "payment_failed",
            "metadata": {"order_id": options["order_id"], "payment_id": failed["id"]},
        },
    )

    expect(page.get_by_role("alert")).to_have_text(f"Payment failed: {reason}")
    # Checkout stays open for another try, so the page still waits for it.
    assert page.evaluate("() => window.razorpayStandIn.isOpen()")
    expect(pay_button(page)).to_be_disabled()
    assert booking_status(razorpay_server, booking_id) == "pending_payment"


def test_closing_checkout_gives_the_pay_button_back(pay_page, razorpay_server):
    page, booking_id = pay_page
    label = pay_button(page).inner_text().strip()
    assert label == f"Pay {format_inr(PRICE_PAISE)}"
    open_checkout(page)
    expect(pay_button(page)).to_be_disabled()
    expect(pay_button(page)).to_have_accessible_name("Waiting for payment…")

    page.evaluate("() => window.razorpayStandIn.dismiss()")

    expect(pay_button(page)).to_be_enabled()
    expect(pay_button(page)).to_have_text(label)
    expect(page.get_by_role("alert")).to_be_hidden()
    assert booking_status(razorpay_server, booking_id) == "pending_payment"

    # And it opens Checkout again, for the same order.
    pay_button(page).click()
    page.wait_for_function(CHECKOUT_OPEN)
    opened = page.evaluate("() => window.razorpayStandIn.openedWith()")
    assert [options["order_id"] for options in opened] == [stored_payment(razorpay_server, booking_id)[0]] * 2


# The gift form, in the room. One learner alone in the room: no WebRTC connection is made, but the
# room asks for a camera and microphone, so the learner's browser has Chromium's fake ones.


@pytest.fixture(scope="module")
def room_browser(browser):
    media = launch_media_browser(browser)
    yield media
    media.close()


@pytest.fixture
def learner_in_room(new_razorpay_context, room_browser, razorpay_server, page_guard):
    """A new learner alone in the room of a new mentor's live session: (learner page, mentor page)."""
    mentor = new_razorpay_context().new_page()
    register(mentor, "mentor", "Gift Mentor")
    session_id = create_session_starting_soon(mentor)
    context = open_media_context(room_browser, razorpay_server, page_guard)
    try:
        learner = context.new_page()
        register(learner, "learner", "Gift Learner")
        book(learner, session_id)
        start(mentor, session_id)
        enter_room(learner, session_id)
        open_panel(learner, "Gifts")
        yield learner, mentor, session_id
    finally:
        context.close()


def gift_form(page):
    return page.get_by_test_id("gift-form")


def open_gift_checkout(page, razorpay_api):
    form = gift_form(page)
    form.get_by_role("button", name="₹200", exact=True).click()
    form.get_by_role("button", name="Send ₹200").click()
    page.wait_for_function(CHECKOUT_OPEN)
    (options,) = page.evaluate("() => window.razorpayStandIn.openedWith()")
    order = razorpay_api.orders[options["order_id"]]
    assert (order.amount, order.currency) == (GIFT_PAISE, "INR")
    assert options["key"] == razorpay_api.key_id
    assert options["amount"] == GIFT_PAISE
    assert options["currency"] == "INR"
    assert options["description"] == "A gift for Gift Mentor"
    expect(form.get_by_role("button", name="Waiting for payment…")).to_be_disabled()
    return options


def test_a_gift_paid_in_razorpay_checkout_reaches_the_room_and_the_mentors_earnings(
    learner_in_room, razorpay_api
):
    learner, mentor, session_id = learner_in_room
    options = open_gift_checkout(learner, razorpay_api)

    payment = razorpay_api.authorize_payment(options["order_id"])
    learner.evaluate(
        "(result) => window.razorpayStandIn.pay(result)",
        {
            "razorpay_order_id": options["order_id"],
            "razorpay_payment_id": payment["id"],
            "razorpay_signature": razorpay_signature(
                razorpay_api.key_secret, options["order_id"], payment["id"]
            ),
        },
    )

    form = gift_form(learner)
    expect(form.get_by_role("status")).to_have_text("Thank you! Your ₹200 gift was sent.")
    gift = learner.get_by_test_id("gift-log").locator("[data-gift]")
    expect(gift).to_have_count(1)
    expect(gift).to_have_attribute("data-amount-paise", str(GIFT_PAISE))
    expect(form.get_by_role("button", name="Send ₹200")).to_be_enabled()
    # In the mentor's earnings, less the platform's 12 %.
    earnings = mentor.request.get("/api/earnings/").json()["data"]
    (row,) = [row for row in earnings["by_session"] if row["session_id"] == session_id]
    assert row["earned_paise"] == 17_600


def test_a_failed_then_closed_gift_checkout_frees_the_form(learner_in_room, razorpay_api):
    learner, mentor, session_id = learner_in_room
    options = open_gift_checkout(learner, razorpay_api)
    form = gift_form(learner)

    reason = "The card was declined by the bank."
    failed = razorpay_api.fail_payment(options["order_id"], reason)
    learner.evaluate(
        "(error) => window.razorpayStandIn.fail(error)",
        {"code": "BAD_REQUEST_ERROR", "description": reason, "metadata": {"payment_id": failed["id"]}},
    )
    expect(form.get_by_role("alert")).to_have_text(f"Payment failed: {reason}")
    expect(form.get_by_role("button", name="Waiting for payment…")).to_be_disabled()

    learner.evaluate("() => window.razorpayStandIn.dismiss()")
    expect(form.get_by_role("button", name="Send ₹200")).to_be_enabled()
    expect(learner.get_by_test_id("gift-log").locator("[data-gift]")).to_have_count(0)
    earnings = mentor.request.get("/api/earnings/").json()["data"]
    assert [row for row in earnings["by_session"] if row["session_id"] == session_id] == []
