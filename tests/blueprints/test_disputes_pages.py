"""Reporting a problem from the booking page and the API, the admins' dispute queue (pages and
API), and admins refunding any captured payment from its page or the API."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import func, select

from peerlearn.extensions import db
from peerlearn.models import Attendance, AuditEntry, Booking, Dispute, Payment, Refund
from peerlearn.services import disputes, ledger
from tests.conftest import AuthActions, extract_csrf
from tests.factories import hold, make_session, paid_booking, paid_gift

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
START = NOW + timedelta(hours=2)  # 08:00 UTC
END = START + timedelta(minutes=60)
SETTLES = END + timedelta(hours=48)  # Sun 22 Nov, 09:00 UTC: 4:00 AM in New York
PRICE = 49900


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def people(make_user):
    class People:
        admin = make_user(role="admin", name="Ada Admin", email="admin@example.com")
        mentor = make_user(role="mentor", name="Meera Mentor", email="mentor@example.com")
        learner = make_user(name="Lena Learner", email="learner@example.com", timezone="America/New_York")
        other = make_user(name="Omar Other", email="other@example.com")

    return People


@pytest.fixture
def held(clock, people):
    """Lena paid ₹499 for a session its mentor held for 55 of 60 minutes; she was there for 20."""
    session = make_session(people.mentor, title="Practical Flask", price_paise=PRICE, starts_at=START)
    booking, payment = paid_booking(session, people.learner)
    clock.move_to(END + timedelta(hours=1), tick=False)
    hold(session, present=55)
    db.session.add(
        Attendance(
            session_id=session.id,
            user_id=people.learner.id,
            joined_at=START + timedelta(minutes=5),
            left_at=START + timedelta(minutes=25),
        )
    )
    db.session.commit()
    return booking, payment


def signed_in(app, email):
    browser = app.test_client()
    assert AuthActions(browser).login(email).status_code == 302
    return browser


def text_of(response):
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


# ---------------------------------------------------------------------------- the booking page


def test_a_learner_reports_a_problem_from_the_booking_page(app, people, held):
    booking, _ = held
    browser = signed_in(app, "learner@example.com")
    page = browser.get(f"/bookings/{booking.id}")
    html = page.get_data(as_text=True)
    assert "Report a problem" in html and f'action="/bookings/{booking.id}/dispute"' in html
    # The deadline is the session's settling time, in the learner's own timezone.
    assert "tell us by Sun 22 Nov 2026, 4:00 AM (America/New_York)" in text_of(page)
    token = extract_csrf(html)

    refused = browser.post(
        f"/bookings/{booking.id}/dispute",
        data={"csrf_token": token, "reason": "ended_early", "details": "Too short"},
    )
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert 'id="dispute-details-error"' in body and "at least 10 characters" in body
    assert ">Too short</textarea>" in body and 'value="ended_early" selected' in body  # nothing lost
    assert db.session.scalar(select(func.count(Dispute.id))) == 0

    sent = browser.post(
        f"/bookings/{booking.id}/dispute",
        data={
            "csrf_token": token,
            "reason": "ended_early",
            "details": "The mentor left after twenty minutes.",
        },
    )
    assert sent.status_code == 303
    page = browser.get(sent.headers["Location"])
    words = text_of(page)
    assert "Thanks for telling us" in words and "Under review" in words
    assert "The mentor left after twenty minutes." in words and "Send report" not in words

    # A second click (the form was still open in another tab) changes nothing.
    again = browser.post(
        f"/bookings/{booking.id}/dispute",
        data={"csrf_token": token, "reason": "technical", "details": "Trying a second report here."},
    )
    assert again.status_code == 303
    assert "already reported" in text_of(browser.get(again.headers["Location"]))
    assert db.session.scalar(select(func.count(Dispute.id))) == 1


def test_the_form_is_gone_once_the_window_closes_and_the_decision_shows(app, people, held, clock):
    booking, _ = held
    clock.move_to(SETTLES, tick=False)
    browser = signed_in(app, "learner@example.com")
    page = browser.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert "Report a problem" not in page
    token = extract_csrf(page)
    late = browser.post(
        f"/bookings/{booking.id}/dispute",
        data={
            "csrf_token": token,
            "reason": "ended_early",
            "details": "The mentor left after twenty minutes.",
        },
    )
    assert "The time to report a problem with this session has ended." in text_of(
        browser.get(late.headers["Location"])
    )

    clock.move_to(SETTLES - timedelta(hours=1), tick=False)
    dispute = disputes.report(
        people.learner, booking.id, "ended_early", "The mentor left after twenty minutes."
    )
    disputes.decide(people.admin, dispute.id, "refund_partial", 20000, reason="The room shows an early end.")
    words = text_of(signed_in(app, "learner@example.com").get(f"/bookings/{booking.id}"))
    assert "Partly refunded" in words and "Refunded ₹200 of the ₹499 you paid." in words
    assert "Reason: The room shows an early end." in words
    assert "The refund was sent to your original payment method" in words


def test_only_the_bookings_learner_can_report(app, people, held):
    booking, _ = held
    browser = signed_in(app, "other@example.com")
    token = extract_csrf(browser.get("/profile").get_data(as_text=True))
    response = browser.post(
        f"/bookings/{booking.id}/dispute",
        data={"csrf_token": token, "reason": "ended_early", "details": "Not my booking at all, really."},
    )
    assert response.status_code == 404
    assert db.session.scalar(select(func.count(Dispute.id))) == 0


# ---------------------------------------------------------------------------- the admins' queue


def test_the_queue_is_for_admins_only(app, people, held):
    booking, _ = held
    dispute = disputes.report(
        people.learner, booking.id, "ended_early", "The mentor left after twenty minutes."
    )
    for email in ("learner@example.com", "mentor@example.com"):
        browser = signed_in(app, email)
        token = extract_csrf(browser.get("/profile").get_data(as_text=True))
        assert browser.get("/admin/disputes").status_code == 403
        assert browser.get(f"/admin/payments/{dispute.payment_id}").status_code == 403
        decided = browser.post(
            f"/admin/disputes/{dispute.id}/decide",
            data={"csrf_token": token, "outcome": "refund_full", "reason": "Mine"},
        )
        assert decided.status_code == 403
        refunded = browser.post(
            f"/admin/payments/{dispute.payment_id}/refund",
            data={"csrf_token": token, "amount": "499", "reason": "Mine", "nonce": "nonce-forbidden"},
        )
        assert refunded.status_code == 403
    assert app.test_client().get("/admin/disputes").status_code == 302  # to the login page
    db.session.expire_all()
    assert db.session.get(Dispute, dispute.id).status == "open"
    assert db.session.scalar(select(func.count(Refund.id))) == 0


def test_an_admin_decides_from_the_queue(app, people, held, make_user):
    booking, payment = held
    dispute = disputes.report(
        people.learner, booking.id, "ended_early", "The mentor left after twenty minutes."
    )
    browser = signed_in(app, "admin@example.com")
    page = browser.get("/admin/disputes")
    html = page.get_data(as_text=True)
    item = html[html.index(f'data-dispute-id="{dispute.id}"') :]
    assert 'data-mentor-minutes="55"' in item and 'data-learner-minutes="20"' in item
    assert 'data-refundable="49900"' in item and "Lena Learner" in item and "Meera Mentor" in item
    assert "The mentor left after twenty minutes." in item
    assert 'href="/admin/disputes"' in html and "Disputes" in html  # in the admin sections
    overview = browser.get("/admin").get_data(as_text=True)
    assert re.search(r'href="/admin/disputes"[^>]*>\s*Disputes<span class="badge">1</span>', overview)
    token = extract_csrf(html)

    refused = browser.post(
        f"/admin/disputes/{dispute.id}/decide",
        data={"csrf_token": token, "outcome": "refund_partial", "amount": "600", "reason": "Ended early"},
    )
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert f'id="amount-{dispute.id}-error"' in body and "₹499" in body
    assert 'value="600"' in body and ">Ended early</textarea>" in body
    refused = browser.post(
        f"/admin/disputes/{dispute.id}/decide",
        data={"csrf_token": token, "outcome": "refund_partial", "amount": "200", "reason": " "},
    )
    assert refused.status_code == 422 and f'id="reason-{dispute.id}-error"' in refused.get_data(as_text=True)

    done = browser.post(
        f"/admin/disputes/{dispute.id}/decide",
        data={
            "csrf_token": token,
            "outcome": "refund_partial",
            "amount": "200.00",
            "reason": "Ended 20 minutes early",
        },
    )
    assert done.status_code == 303
    assert "₹200 is being refunded" in text_of(browser.get(done.headers["Location"]))
    db.session.expire_all()
    decided = db.session.get(Dispute, dispute.id)
    assert decided.status == "partially_refunded" and decided.refund_paise == 20000
    assert ledger.check_payment_invariant(payment) == []
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "dispute.decide")).all()
    assert entry.ip_address  # where the decision came from

    decided_page = browser.get("/admin/disputes?state=decided").get_data(as_text=True)
    assert f'data-dispute-id="{dispute.id}"' in decided_page and "Ended 20 minutes early" in decided_page
    assert 'data-refund-status="processed"' in decided_page and "by Ada Admin" in decided_page
    assert f'data-dispute-id="{dispute.id}"' not in browser.get("/admin/disputes").get_data(as_text=True)

    again = browser.post(
        f"/admin/disputes/{dispute.id}/decide",
        data={"csrf_token": token, "outcome": "refund_full", "reason": "Twice"},
    )
    assert "already been decided" in text_of(browser.get(again.headers["Location"]))
    assert db.session.scalar(select(func.count(Refund.id))) == 1
    assert browser.get("/admin/disputes?state=closed").status_code == 422


# ---------------------------------------------------------------------------- refunding any payment


def test_an_admin_refunds_a_completed_sessions_booking_once_per_form(app, people, held):
    booking, payment = held
    browser = signed_in(app, "admin@example.com")
    listing = browser.get("/admin/payments").get_data(as_text=True)
    assert f'href="/admin/payments/{payment.id}"' in listing
    page = browser.get(f"/admin/payments/{payment.id}").get_data(as_text=True)
    assert "Refund this payment" in page and 'value="499.00"' in page  # the refundable remainder
    token = extract_csrf(page)
    nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "nonce": nonce, "amount": "150", "reason": "Audio failed for a while"}

    first = browser.post(f"/admin/payments/{payment.id}/refund", data=form)
    second = browser.post(f"/admin/payments/{payment.id}/refund", data=form)  # the double click
    assert first.status_code == second.status_code == 303
    assert "already made" in text_of(browser.get(second.headers["Location"]))
    [refund] = db.session.scalars(select(Refund)).all()
    assert (refund.amount_paise, refund.status) == (15000, "processed")
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).refunded_paise == 15000
    assert db.session.get(Booking, booking.id).status == "attended"
    assert ledger.check_payment_invariant(db.session.get(Payment, payment.id)) == []

    page = browser.get(f"/admin/payments/{payment.id}").get_data(as_text=True)
    assert 'value="349.00"' in page and "payment.refund" in page and "Audio failed for a while" in page
    refused = browser.post(
        f"/admin/payments/{payment.id}/refund",
        data={"csrf_token": token, "nonce": extract_nonce(page), "amount": "400", "reason": "Too much"},
    )
    assert refused.status_code == 422 and 'id="amount-error"' in refused.get_data(as_text=True)
    refused = browser.post(
        f"/admin/payments/{payment.id}/refund",
        data={"csrf_token": token, "nonce": extract_nonce(page), "amount": "1e3", "reason": "Odd"},
    )
    assert refused.status_code == 422
    assert browser.get("/admin/payments/999999").status_code == 404
    assert db.session.scalar(select(func.count(Refund.id))) == 1


def extract_nonce(page):
    return re.search(r'name="nonce" value="([^"]+)"', page).group(1)


# ---------------------------------------------------------------------------- the API


@pytest.fixture
def bearer(api_token):
    def headers(email):
        return {"Authorization": f"Bearer {api_token(email)}"}

    return headers


def test_reporting_and_reading_a_dispute_over_the_api(client, people, held, bearer):
    booking, _ = held
    learner = bearer("learner@example.com")
    data = client.get(f"/api/bookings/{booking.id}/", headers=learner).get_json()["data"]
    assert data["dispute"] is None and data["report_problem_until"] == SETTLES.isoformat()

    body = {"reason": "mentor_absent", "details": "The mentor's camera was off and nobody spoke."}
    assert (
        client.post(
            f"/api/bookings/{booking.id}/dispute/", json=body, headers=bearer("other@example.com")
        ).status_code
        == 404
    )
    response = client.post(f"/api/bookings/{booking.id}/dispute/", json=body, headers=learner)
    assert response.status_code == 201
    data = response.get_json()["data"]
    assert data["dispute"]["status"] == "open" and data["dispute"]["reason"] == "mentor_absent"
    assert data["report_problem_until"] is None
    again = client.post(f"/api/bookings/{booking.id}/dispute/", json=body, headers=learner)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_reported"
    bad = client.post(
        f"/api/bookings/{booking.id}/dispute/", json={"reason": "meh", "details": 3}, headers=learner
    )
    assert bad.status_code == 422 and bad.get_json()["error"]["fields"].keys() >= {"reason"}


def test_admins_decide_and_refund_over_the_api(client, people, held, bearer):
    booking, payment = held
    dispute = disputes.report(
        people.learner, booking.id, "ended_early", "The mentor left after twenty minutes."
    )
    admin = {**bearer("admin@example.com"), "User-Agent": "peerlearn-cli/1.0"}
    for email in ("learner@example.com", "mentor@example.com"):
        other = bearer(email)
        assert client.get("/api/admin/disputes/", headers=other).status_code == 403
        response = client.post(
            f"/api/admin/disputes/{dispute.id}/decide/",
            json={"outcome": "release", "reason": "x"},
            headers=other,
        )
        assert response.status_code == 403 and response.get_json()["error"]["code"] == "not_an_admin"
        response = client.post(
            f"/api/admin/payments/{payment.id}/refund/",
            json={"reason": "x", "idempotency_key": "key-forbidden"},
            headers=other,
        )
        assert response.status_code == 403

    [item] = client.get("/api/admin/disputes/", headers=admin).get_json()["data"]["items"]
    assert item["id"] == dispute.id and item["mentor_present_minutes"] == 55
    assert item["learner_attended_minutes"] == 20 and item["payment"]["refundable_paise"] == PRICE
    assert item["learner"]["email"] == "learner@example.com" and item["session"]["title"] == "Practical Flask"

    response = client.post(
        f"/api/admin/disputes/{dispute.id}/decide/",
        json={"outcome": "refund_partial", "amount_paise": 20000, "reason": "Ended early"},
        headers=admin,
    )
    assert response.status_code == 200
    decided = response.get_json()["data"]
    assert decided["status"] == "partially_refunded" and decided["refund"]["amount_paise"] == 20000
    assert decided["decided_by"]["name"] == "Ada Admin"
    response = client.post(
        f"/api/admin/disputes/{dispute.id}/decide/",
        json={"outcome": "release", "reason": "Again"},
        headers=admin,
    )
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "dispute_decided"
    assert (
        client.get("/api/admin/disputes/?state=decided", headers=admin).get_json()["data"]["pagination"][
            "total"
        ]
        == 1
    )

    body = {"amount_paise": 10000, "reason": "Goodwill", "idempotency_key": "ticket-4711"}
    first = client.post(f"/api/admin/payments/{payment.id}/refund/", json=body, headers=admin)
    second = client.post(f"/api/admin/payments/{payment.id}/refund/", json=body, headers=admin)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.get_json()["data"]["refund"]["id"] == second.get_json()["data"]["refund"]["id"]
    assert first.get_json()["data"]["payment"]["refunded_paise"] == 30000
    too_much = client.post(
        f"/api/admin/payments/{payment.id}/refund/",
        json={"amount_paise": 20000, "reason": "More", "idempotency_key": "ticket-4712"},
        headers=admin,
    )
    assert too_much.status_code == 422 and "amount_paise" in too_much.get_json()["error"]["fields"]
    rest = client.post(
        f"/api/admin/payments/{payment.id}/refund/",
        json={"reason": "The rest", "idempotency_key": "ticket-4713"},
        headers=admin,
    )
    assert rest.status_code == 201 and rest.get_json()["data"]["refund"]["amount_paise"] == 19900
    assert ledger.all_payments_balance() == []
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["dispute.open", "dispute.decide", "payment.refund", "payment.refund"]
    audit = client.get("/api/admin/audit/?action=dispute.open", headers=admin).get_json()["data"]["items"]
    assert audit[0]["actor"]["email"] == "learner@example.com"


def test_an_admin_refunds_a_gift_from_its_page(app, people, held):
    booking, _ = held
    gift = paid_gift(booking.session, people.learner, 25000)
    browser = signed_in(app, "admin@example.com")
    page = browser.get(f"/admin/payments/{gift.id}").get_data(as_text=True)
    assert "A gift paid by" in page and "Practical Flask" in page and 'value="250.00"' in page
    response = browser.post(
        f"/admin/payments/{gift.id}/refund",
        data={
            "csrf_token": extract_csrf(page),
            "nonce": extract_nonce(page),
            "amount": "250",
            "reason": "Sent twice",
        },
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Payment, gift.id).status == "refunded"
    assert ledger.payment_balance(gift.id)["earning_reversal"] == -22000
    assert ledger.all_payments_balance() == []
    page = browser.get(f"/admin/payments/{gift.id}").get_data(as_text=True)
    assert "Refund this payment" not in page and "Everything paid has been refunded" in page
