"""The admin pages of the growth features: waitlists (who waits in order, the current offer, an
admin taking someone out of a line), packs on sale and their purchases (refunding unused
credits), moved bookings, and every webhook endpoint with the delivery log (redeliver, enable).
Admins only; each action is audited."""

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select

from peerlearn.extensions import db
from peerlearn.models import (
    AuditEntry,
    Booking,
    Notification,
    PackPurchase,
    Refund,
    WaitlistEntry,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from peerlearn.payments import get_gateway
from peerlearn.services import booking as booking_service
from peerlearn.services import packs, reschedule, waitlist, webhooks
from peerlearn.services import payments as payment_service
from tests.conftest import AuthActions, extract_csrf
from tests.factories import make_session, paid_booking
from tests.support.webhooks import Receiver

PACK = {"title": "Five one-to-ones", "credits": 5, "price_paise": 200_000, "valid_days": 30}


@pytest.fixture
def people(make_user):
    class People:
        admin = make_user(role="admin", name="Ada Admin", email="admin@example.com")
        mentor = make_user(role="mentor", name="Meera Mentor", email="mentor@example.com")
        seated = make_user(name="Sam Seated", email="sam@example.com")
        first = make_user(name="Fatima First", email="fatima@example.com")
        second = make_user(name="Gopal Second", email="gopal@example.com")

    return People


def browser_for(app, email):
    browser = app.test_client()
    assert AuthActions(browser).login(email).status_code == 302
    return browser


def text(response):
    return unescape(response.get_data(as_text=True))


def post(browser, path, data=None):
    token = extract_csrf(browser.get("/profile").get_data(as_text=True))
    return browser.post(path, data={"csrf_token": token, **(data or {})})


def audit(action):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


@pytest.fixture
def full_session(people):
    """A one-seat session taken by Sam, with Fatima then Gopal waiting for it."""
    session = make_session(people.mentor, title="Busy Flask hour", capacity=1, price_paise=40_000)
    booking, _ = paid_booking(session, people.seated)
    waitlist.join(session.id, people.first)
    waitlist.join(session.id, people.second)
    return session, booking


def entry_of(session, learner):
    return db.session.scalar(
        select(WaitlistEntry)
        .where(WaitlistEntry.session_id == session.id, WaitlistEntry.learner_id == learner.id)
        .order_by(WaitlistEntry.id.desc())
        .execution_options(populate_existing=True)
    )


def test_the_waitlists_show_each_line_in_order(app, people, full_session):
    session, _ = full_session
    browser = browser_for(app, people.admin.email)
    listing = text(browser.get("/admin/waitlists"))
    assert "Busy Flask hour" in listing and 'data-total="1"' in listing
    assert 'data-total="0"' in text(browser.get("/admin/waitlists?state=closed"))
    assert 'data-total="0"' in text(browser.get("/admin/waitlists?q=nothing-like-it"))
    assert browser.get("/admin/waitlists?state=bogus").status_code == 422
    line = text(browser.get(f"/admin/waitlists/{session.id}"))
    assert line.index("Fatima First") < line.index("Gopal Second")
    # The admin's page of the session leads to its line.
    assert f'href="/admin/waitlists/{session.id}"' in text(browser.get(f"/admin/sessions/{session.id}"))
    assert browser.get("/admin/waitlists/999999").status_code == 404


def test_an_admin_takes_a_learner_out_of_a_line_and_they_are_told(app, people, full_session):
    session, _ = full_session
    entry = entry_of(session, people.first)
    browser = browser_for(app, people.admin.email)
    path = f"/admin/waitlists/entries/{entry.id}/remove"
    missing = post(browser, path, {"session_id": session.id, "reason": " "})
    assert missing.status_code == 422 and "A reason is required." in text(missing)
    assert entry_of(session, people.first).status == "waiting"

    done = post(browser, path, {"session_id": session.id, "reason": "Booked under two accounts"})
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/admin/waitlists/{session.id}")
    assert entry_of(session, people.first).status == "left"
    [entry_audit] = audit("waitlist.remove")
    assert entry_audit.target_type == "session" and entry_audit.target_id == session.id
    assert entry_audit.details["learner_id"] == people.first.id
    assert entry_audit.details["reason"] == "Booked under two accounts"
    told = db.session.scalar(select(Notification).where(Notification.user_id == people.first.id))
    assert "Booked under two accounts" in told.body
    again = post(browser, path, {"session_id": session.id, "reason": "Twice"})
    assert again.status_code == 303 and len(audit("waitlist.remove")) == 1


def test_removing_the_learner_offered_a_seat_passes_the_offer_on(app, people, full_session):
    session, booking = full_session
    booking_service.cancel(db.session.get(Booking, booking.id), people.seated)
    offered = entry_of(session, people.first)
    assert offered.status == "offered"
    browser = browser_for(app, people.admin.email)
    page = text(browser.get("/admin/waitlists"))
    assert "Fatima First" in page  # the current offer
    post(browser, f"/admin/waitlists/entries/{offered.id}/remove", {"reason": "Abusive messages"})
    assert entry_of(session, people.first).status == "left"
    assert db.session.get(Booking, offered.booking_id, populate_existing=True).status == "cancelled"
    assert entry_of(session, people.second).status == "offered"  # the next in line
    assert audit("waitlist.remove")[0].details["was"] == "offered"
    log = text(browser.get(f"/admin/sessions/{session.id}"))  # its Admin actions
    assert f"Took learner #{people.first.id} off the waitlist, giving up the seat offered to them." in log


def buy(learner, pack):
    """Pay for ``pack`` through the dev gateway, as the learner's browser would."""
    payment = packs.start_pack_payment(learner, pack.id)
    remote, signature = get_gateway().pay(payment.order_id)
    db.session.commit()
    payment = payment_service.verify_checkout(
        learner, order_id=payment.order_id, payment_id=remote.id, signature=signature
    )
    return packs.purchase_for_payment(payment)


def test_packs_on_sale_and_purchases_with_a_refund_of_unused_credits(app, people):
    pack = packs.create_pack(people.mentor, PACK)
    purchase = buy(people.first, pack)
    session = make_session(people.mentor, capacity=1, price_paise=50_000)
    packs.book_with_credit(session.id, people.first)
    browser = browser_for(app, people.admin.email)
    on_sale = text(browser.get("/admin/packs"))
    assert "Five one-to-ones" in on_sale and "Meera Mentor" in on_sale
    assert 'data-total="0"' in text(browser.get("/admin/packs?q=nobody-sells-this"))
    purchases = text(browser.get("/admin/packs/purchases?status=active&q=fatima"))
    assert 'data-total="1"' in purchases and "4 / 5" in purchases and "₹1,600" in purchases
    assert browser.get("/admin/packs/purchases?status=bogus").status_code == 422

    path = f"/admin/packs/purchases/{purchase.id}/refund"
    assert post(browser, path, {"reason": ""}).status_code == 422
    done = post(browser, path, {"reason": "Mentor is leaving the platform"})
    assert done.status_code == 303
    closed = db.session.get(PackPurchase, purchase.id, populate_existing=True)
    assert closed.status == "refunded"
    refund = db.session.scalar(select(Refund).where(Refund.payment_id == purchase.payment_id))
    assert refund.amount_paise == 160_000  # four unused credits of ₹400
    [entry] = audit("pack.refund")
    assert entry.target_type == "payment" and entry.target_id == purchase.payment_id
    assert entry.details["amount_paise"] == 160_000 and entry.details["refund_id"] == refund.id
    again = post(browser, path, {"reason": "Twice"})
    assert again.status_code == 303 and len(audit("pack.refund")) == 1
    assert "Refunded" in text(browser.get("/admin/packs/purchases?status=refunded"))
    log = text(browser.get("/admin/audit?action=pack.refund"))
    assert (
        f"Closed pack purchase #{purchase.id} and refunded ₹1,600 of unused credits (refund #{refund.id})."
    ) in log


def test_moved_bookings_show_where_from_where_to_and_the_refund(app, people):
    dear = make_session(people.mentor, title="Long Flask workshop", price_paise=60_000)
    cheap = make_session(
        people.mentor, title="Short Flask clinic", price_paise=40_000, starts_at=utcnow() + timedelta(days=5)
    )
    booking, _ = paid_booking(dear, people.first)
    reschedule.reschedule(people.first, booking.id, cheap.id)
    browser = browser_for(app, people.admin.email)
    page = text(browser.get("/admin/moves"))
    assert 'data-total="1"' in page
    row = re.search(rf'<tr data-booking-id="{booking.id}">(.*?)</tr>', page, re.S).group(1)
    assert row.index("Long Flask workshop") < row.index("Short Flask clinic")
    assert "Refunded ₹200" in row
    assert 'data-total="0"' in text(browser.get("/admin/moves?q=gopal"))
    assert 'data-total="1"' in text(browser.get("/admin/moves?q=fatima"))
    assert browser.get("/admin/moves?date_from=2026-13-01").status_code == 422


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def test_webhooks_list_every_endpoint_and_an_admin_enables_and_redelivers(app, people, receiver):
    endpoint = webhooks.create_endpoint(people.mentor, url=receiver.url, event_types=["booking.created"])
    session = make_session(people.mentor, title="Hooked session")
    booking_service.book(session.id, people.first)
    assert len(receiver.requests) == 1
    webhooks.set_enabled(people.mentor, endpoint.id, False)
    browser = browser_for(app, people.admin.email)
    listing = text(browser.get("/admin/webhooks?state=disabled"))
    assert receiver.url in listing and "Meera Mentor" in listing and "Disabled by you." in listing
    assert 'data-total="0"' in text(browser.get("/admin/webhooks?state=enabled"))
    log = text(browser.get(f"/admin/webhooks/deliveries?endpoint_id={endpoint.id}&status=succeeded"))
    assert 'data-total="1"' in log and "booking.created" in log
    assert 'data-total="0"' in text(browser.get("/admin/webhooks/deliveries?event=review.created"))
    assert browser.get("/admin/webhooks/deliveries?event=bogus").status_code == 422

    assert post(browser, f"/admin/webhooks/{endpoint.id}/enable").status_code == 303
    assert db.session.get(WebhookEndpoint, endpoint.id, populate_existing=True).enabled
    assert post(browser, f"/admin/webhooks/{endpoint.id}/enable").status_code == 303  # already: told
    assert len(audit("webhook.enable")) == 1
    assert audit("webhook.enable")[0].details["previous_reason"] == "Disabled by you."
    log = text(browser.get("/admin/audit?action=webhook.enable"))
    assert "Enabled the webhook again; it had been disabled: Disabled by you." in log
    assert "Had been suspended for" not in log

    [delivery] = db.session.scalars(select(WebhookDelivery)).all()
    assert post(browser, f"/admin/webhooks/deliveries/{delivery.id}/redeliver").status_code == 303
    assert len(receiver.requests) == 2
    same_event = [request.headers["PeerLearn-Delivery"] for request in receiver.requests]
    assert same_event[0] == same_event[1]  # the same event again, so receivers can tell a repeat
    [entry] = audit("webhook.redeliver")
    assert entry.target_type == "webhook" and entry.details["delivery_id"] == delivery.id


def test_the_growth_pages_are_for_admins_only_and_stack_on_a_phone(app, people, full_session):
    paths = [
        "/admin/waitlists",
        f"/admin/waitlists/{full_session[0].id}",
        "/admin/packs",
        "/admin/packs/purchases",
        "/admin/moves",
        "/admin/webhooks",
        "/admin/webhooks/deliveries",
    ]
    learner, mentor = browser_for(app, people.first.email), browser_for(app, people.mentor.email)
    admin = browser_for(app, people.admin.email)
    for path in paths:
        assert learner.get(path).status_code == 403, path
        assert mentor.get(path).status_code == 403, path
        html = text(admin.get(path))
        cells = re.findall(r"<td\b[^>]*>", html)
        assert all("data-label=" in cell for cell in cells), path
    entry = entry_of(full_session[0], people.first)
    refused = post(learner, f"/admin/waitlists/entries/{entry.id}/remove", {"reason": "Not mine to do"})
    assert refused.status_code == 403 and entry_of(full_session[0], people.first).status == "waiting"


def test_the_growth_pages_read_in_hindi(app, people, full_session):
    people.admin.locale = "hi"
    db.session.commit()
    admin = browser_for(app, people.admin.email)
    for path, heading in (
        ("/admin/waitlists", "भरे हुए सेशन जिनके लिए लर्नर लाइन में हैं।"),
        (f"/admin/waitlists/{full_session[0].id}", "लाइन में"),
        ("/admin/packs", "बिक्री पर पैक"),
        ("/admin/packs/purchases", "पैक की ख़रीदारी"),
        ("/admin/moves", "बदली गई बुकिंग"),
        ("/admin/webhooks", "मालिक या URL"),
        ("/admin/webhooks/deliveries", "वेबहुक डिलीवरी"),
    ):
        response = admin.get(path)
        assert response.status_code == 200, path
        assert heading in text(response) and 'lang="hi"' in text(response), path
