"""Coupons on the pages and over the API: the pay page's "Have a coupon?" field, the receipt's
coupon lines, the mentors' and admins' coupon pages, the price preview and the owners' API."""

from html import unescape

import pytest
from sqlalchemy import select

from peerlearn.extensions import db
from peerlearn.models import Coupon, OutboundEmail
from peerlearn.payments import get_gateway
from peerlearn.services import booking as booking_service
from peerlearn.services import coupons
from peerlearn.services import payments as payment_service
from tests.conftest import extract_csrf
from tests.factories import SessionFactory

PRICE = 80_000  # ₹800


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", email="mentor@example.com")


@pytest.fixture
def learner(make_user):
    return make_user(email="learner@example.com")


@pytest.fixture
def held(mentor, learner):
    session = SessionFactory(mentor=mentor, title="Regex without tears", price_paise=PRICE)
    return booking_service.book(session.id, learner)[0]


def page(response):
    return unescape(response.get_data(as_text=True))


def test_a_bad_code_is_a_form_error_beside_the_field(client, auth, learner, held):
    auth.login(learner.email)
    checkout = client.get(f"/bookings/{held.id}/pay")
    assert "Have a coupon?" in page(checkout)
    for code, message in (
        ("NOSUCHCODE", "That is not a coupon code we know."),
        ("", "Enter a coupon code."),
        ("x" * 500, "That is not a coupon code we know."),
    ):
        response = client.post(
            f"/bookings/{held.id}/coupon", data={"code": code, "csrf_token": extract_csrf(page(checkout))}
        )
        assert response.status_code == 422
        assert f'id="coupon-code-error" class="field-error">{message}<' in page(response)
    db.session.refresh(held)
    assert held.amount_paise == PRICE


def test_a_coupon_shows_on_the_pay_page_and_the_receipt(client, auth, mentor, learner, held):
    coupons.create(mentor, {"code": "REGEX25", "kind": "percent", "value": 25})
    auth.login(learner.email)
    checkout = client.get(f"/bookings/{held.id}/pay")
    response = client.post(
        f"/bookings/{held.id}/coupon", data={"code": "regex25", "csrf_token": extract_csrf(page(checkout))}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/bookings/{held.id}/pay")
    text = page(client.get(f"/bookings/{held.id}/pay"))
    assert "REGEX25" in text and "−₹200" in text and "Pay ₹600" in text and "Have a coupon?" not in text

    db.session.expire_all()  # the page's request changed the booking's amount
    payment = payment_service.start_booking_payment(learner, held.id)
    assert payment.amount_paise == 60_000
    remote, signature = get_gateway().pay(payment.order_id)
    db.session.commit()
    payment_service.verify_checkout(
        learner, order_id=payment.order_id, payment_id=remote.id, signature=signature
    )
    receipt = page(client.get(f"/bookings/{held.id}"))
    assert "data-coupon-receipt" in receipt
    assert (
        "List price" in receipt
        and "₹800" in receipt
        and "REGEX25" in receipt
        and "(from the mentor)" in receipt
    )
    assert "−₹200" in receipt and "Paid" in receipt
    email = db.session.scalar(select(OutboundEmail).where(OutboundEmail.template == "booking_confirmed"))
    assert "List price:     ₹800" in email.text_body and "Coupon REGEX25: −₹200" in email.text_body
    assert "Amount paid:    ₹600" in email.text_body and "Coupon REGEX25" in email.html_body


def test_mentors_make_list_and_deactivate_their_coupons(client, auth, mentor):
    auth.login(mentor.email)
    form = page(client.get("/teach/coupons"))
    response = client.post(
        "/teach/coupons",
        data={
            "code": "early-bird",
            "kind": "fixed",
            "value": "150",
            "min_price": "500",
            "max_redemptions": "5",
            "max_per_learner": "1",
            "first_session_only": "y",
            "csrf_token": extract_csrf(form),
        },
    )
    assert response.status_code == 302
    coupon = db.session.scalar(select(Coupon))
    assert (coupon.code, coupon.kind, coupon.value, coupon.min_price_paise) == (
        "EARLY-BIRD",
        "fixed",
        15_000,
        50_000,
    )
    assert coupon.mentor_id == mentor.id and coupon.first_session_only and coupon.max_redemptions == 5
    listing = page(client.get("/teach/coupons"))
    assert 'data-coupon="EARLY-BIRD"' in listing and "₹150 off" in listing

    for code, value, error in (
        ("Early-Bird", "10", "That code is taken."),
        ("NEWONE", "101", "A percent from 1 to 100."),
    ):
        refused = client.post(
            "/teach/coupons",
            data={
                "code": code,
                "kind": "percent",
                "value": value,
                "max_per_learner": "1",
                "csrf_token": extract_csrf(listing),
            },
        )
        assert refused.status_code == 422 and error in page(refused)

    client.post(f"/teach/coupons/{coupon.id}/deactivate", data={"csrf_token": extract_csrf(listing)})
    db.session.refresh(coupon)
    assert not coupon.active


def test_admins_make_platform_coupons_and_mentors_cannot(client, auth, make_user, mentor):
    admin = make_user(role="admin", email="admin@example.com")
    auth.login(mentor.email)
    assert client.get("/admin/coupons").status_code == 403
    auth.logout()
    auth.login(admin.email)
    form = page(client.get("/admin/coupons"))
    assert "Platform coupons" in form
    response = client.post(
        "/admin/coupons",
        data={
            "code": "WELCOME",
            "kind": "percent",
            "value": "10",
            "max_per_learner": "1",
            "csrf_token": extract_csrf(form),
        },
    )
    assert response.status_code == 302
    coupon = db.session.scalar(select(Coupon))
    assert coupon.mentor_id is None and coupon.funded_by == "platform"


def test_the_api_previews_applies_and_manages(client, api_token, mentor, learner, held):
    headers = {"Authorization": f"Bearer {api_token(mentor.email)}"}
    created = client.post(
        "/api/coupons/",
        json={"code": "api10", "kind": "percent", "value": 10, "max_redemptions": 3},
        headers=headers,
    )
    assert created.status_code == 201 and created.get_json()["data"]["code"] == "API10"
    bad = client.post(
        "/api/coupons/", json={"code": "api10", "kind": "percent", "value": 10}, headers=headers
    )
    assert bad.status_code == 422 and bad.get_json()["success"] is False

    headers = {"Authorization": f"Bearer {api_token(learner.email)}"}
    preview = client.get(f"/api/sessions/{held.session_id}/coupon-preview/?code=Api10", headers=headers)
    assert preview.status_code == 200
    assert preview.get_json()["data"]["price_paise"] == 72_000
    unknown = client.get(f"/api/sessions/{held.session_id}/coupon-preview/?code=nope", headers=headers)
    assert (
        unknown.status_code == 422 and unknown.get_json()["message"] == "That is not a coupon code we know."
    )

    applied = client.post(f"/api/bookings/{held.id}/coupon/", json={"code": "API10"}, headers=headers)
    assert applied.status_code == 200
    assert applied.get_json()["data"]["coupon"]["discount_paise"] == 8_000
    order = client.post("/api/create-payment/", json={"booking_id": held.id, "amount": 1}, headers=headers)
    assert order.get_json()["data"]["payment"]["amount_paise"] == 72_000

    listed = client.get("/api/coupons/", headers={"Authorization": f"Bearer {api_token(mentor.email)}"})
    assert listed.get_json()["data"]["items"][0]["awaiting_payment"] == 1


def test_the_admin_payment_page_says_who_funded_the_discount(client, auth, make_user, mentor, learner, held):
    admin = make_user(role="admin", email="admin@example.com")
    coupons.create(admin, {"code": "PEER", "kind": "fixed", "value": 5_000}, platform=True)
    coupons.apply_to_booking(learner, held.id, "peer")
    db.session.expire_all()
    payment = payment_service.start_booking_payment(learner, held.id)
    remote, signature = get_gateway().pay(payment.order_id)
    db.session.commit()
    payment_service.verify_checkout(
        learner, order_id=payment.order_id, payment_id=remote.id, signature=signature
    )
    auth.login(admin.email)
    text = page(client.get(f"/admin/payments/{payment.id}"))
    assert (
        "Coupon PEER: ₹50 off the ₹800 list price, funded by PeerLearn (from the platform fee)."
        in " ".join(text.replace("</span>", "").replace('<span class="font-mono">', "").split())
    )
