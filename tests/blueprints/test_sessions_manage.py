"""Mentors' session pages and API: times entered in the mentor's timezone, drafts, publishing,
price lock, rescheduling and cancelling."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from peerlearn.extensions import db
from peerlearn.models import Booking, LearningSession, OutboundEmail, Payment
from peerlearn.services import booking as booking_service
from tests.conftest import extract_csrf
from tests.factories import SessionFactory, paid_booking

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", email="asha@example.com", name="Asha Raman", timezone="Asia/Kolkata")


def form_data(client, path, **overrides):
    data = {
        "csrf_token": extract_csrf(client.get(path).get_data(as_text=True)),
        "title": "Pandas for messy data",
        "description": "Cleaning a real export, live.",
        "category": "Data & AI",
        "skills": "Pandas, Python",
        "level": "intermediate",
        "language": "English",
        "start_date": "2026-12-01",
        "start_time": "18:30",
        "duration_minutes": "90",
        "capacity": "8",
        "price": "499.00",
        "action": "draft",
    }
    data.update(overrides)
    return data


def sessions_of(user):
    db.session.expire_all()
    return list(db.session.scalars(select(LearningSession).where(LearningSession.mentor_id == user.id)))


def emails_to(address):
    return list(db.session.scalars(select(OutboundEmail).where(OutboundEmail.to_address == address)))


@pytest.mark.parametrize(
    ("timezone", "expected_utc"),
    [
        ("Asia/Kolkata", datetime(2026, 12, 1, 13, 0, tzinfo=UTC)),
        ("America/New_York", datetime(2026, 12, 1, 23, 30, tzinfo=UTC)),
    ],
)
def test_create_stores_the_start_in_utc_from_the_mentors_timezone(
    client, auth, make_user, timezone, expected_utc
):
    mentor = make_user(role="mentor", timezone=timezone)
    auth.login(mentor.email)
    response = client.post("/teach/sessions/new", data=form_data(client, "/teach/sessions/new"))
    assert response.status_code == 303 and "/teach/sessions?tab=drafts" in response.headers["Location"]

    [session] = sessions_of(mentor)
    assert session.starts_at == expected_utc
    assert session.status == "draft" and session.price_paise == 49900 and session.duration_minutes == 90
    assert [s.name for s in session.skills] == ["Pandas", "Python"]

    # The edit form shows the same wall-clock time back in the mentor's timezone.
    page = client.get(f"/teach/sessions/{session.id}/edit").get_data(as_text=True)
    assert 'value="2026-12-01"' in page and 'value="18:30"' in page


@pytest.mark.parametrize(
    ("price", "stored", "message"),
    [
        ("1234.56", 123456, None),
        ("0", 0, None),
        ("0.50", None, "A paid session costs at least ₹1"),
        ("12.345", None, "Use at most two decimal places."),
        ("", None, "Enter a price, or 0 for a free session."),
    ],
)
def test_price_in_rupees_becomes_exact_paise(client, auth, mentor, price, stored, message):
    auth.login(mentor.email)
    response = client.post("/teach/sessions/new", data=form_data(client, "/teach/sessions/new", price=price))
    if stored is None:
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
        assert sessions_of(mentor) == []
    else:
        assert response.status_code == 303
        assert sessions_of(mentor)[0].price_paise == stored


def test_a_start_in_the_past_is_refused_on_the_form_and_nothing_is_saved(client, auth, mentor):
    auth.login(mentor.email)
    response = client.post(
        "/teach/sessions/new", data=form_data(client, "/teach/sessions/new", start_date="2026-11-19")
    )
    assert response.status_code == 422
    assert "Choose a time at least 5 minutes from now." in response.get_data(as_text=True)
    assert sessions_of(mentor) == []


def test_publishing_from_the_form_lists_the_session_as_upcoming(client, auth, mentor, make_user):
    auth.login(mentor.email)
    data = form_data(client, "/teach/sessions/new", action="publish")
    response = client.post("/teach/sessions/new", data=data, follow_redirects=True)
    assert response.status_code == 200
    [session] = sessions_of(mentor)
    assert session.status == "scheduled" and session.published_at == NOW
    page = response.get_data(as_text=True)
    assert "Pandas for messy data" in page and "0/8" in page and "₹499 a seat" in page
    assert "Tue 1 Dec 2026, 6:30 PM" in page


def test_drafts_are_private_to_their_mentor(client, auth, mentor, make_user):
    draft = SessionFactory(mentor=mentor, status="draft", title="Secret draft", published_at=None)
    other = make_user(role="mentor")
    learner = make_user()

    assert client.get(f"/sessions/{draft.id}").status_code == 404
    auth.login(learner.email)
    assert client.get(f"/sessions/{draft.id}").status_code == 404
    auth.logout()
    auth.login(other.email)
    assert client.get(f"/sessions/{draft.id}").status_code == 404
    assert "Secret draft" not in client.get("/teach/sessions?tab=drafts").get_data(as_text=True)
    auth.logout()
    auth.login(mentor.email)
    assert "Secret draft" in client.get("/teach/sessions?tab=drafts").get_data(as_text=True)


def test_unverified_mentor_saves_drafts_but_cannot_publish(client, auth, make_user):
    mentor = make_user(role="mentor")
    auth.login(mentor.email)
    # Signed in before confirming (only sessions from before confirmation was needed to sign in).
    mentor.email_verified_at = None
    db.session.commit()
    page = client.get("/teach/sessions/new").get_data(as_text=True)
    assert 'id="cover-unverified"' in page and 'name="cover"' not in page  # no upload that must fail
    response = client.post(
        "/teach/sessions/new", data=form_data(client, "/teach/sessions/new", action="publish")
    )
    assert response.status_code == 403
    assert "Confirm your email address before publishing." in response.get_data(as_text=True)
    assert sessions_of(mentor) == []

    response = client.post("/teach/sessions/new", data=form_data(client, "/teach/sessions/new"))
    assert response.status_code == 303
    [draft] = sessions_of(mentor)
    assert draft.status == "draft"

    token = extract_csrf(client.get("/teach/sessions?tab=drafts").get_data(as_text=True))
    response = client.post(
        f"/teach/sessions/{draft.id}/publish", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Confirm your email address before publishing." in response.get_data(as_text=True)
    assert sessions_of(mentor)[0].status == "draft"


def test_publish_button_publishes_a_draft(client, auth, mentor):
    draft = SessionFactory(mentor=mentor, status="draft", published_at=None)
    auth.login(mentor.email)
    token = extract_csrf(client.get("/teach/sessions?tab=drafts").get_data(as_text=True))
    response = client.post(f"/teach/sessions/{draft.id}/publish", data={"csrf_token": token})
    assert response.status_code == 303
    assert sessions_of(mentor)[0].status == "scheduled"


def test_tabs_sort_sessions_by_state(client, auth, mentor):
    soon = SessionFactory(mentor=mentor, title="Soon", starts_at=NOW + timedelta(days=1))
    later = SessionFactory(mentor=mentor, title="Later", starts_at=NOW + timedelta(days=9))
    SessionFactory(mentor=mentor, title="Ended unswept", starts_at=NOW - timedelta(hours=3))
    SessionFactory(mentor=mentor, title="Done", status="completed", starts_at=NOW - timedelta(days=2))
    SessionFactory(mentor=mentor, title="Called off", status="cancelled", cancel_reason="Unwell")
    auth.login(mentor.email)

    upcoming = client.get("/teach/sessions").get_data(as_text=True)
    assert upcoming.index(soon.title) < upcoming.index(later.title)
    assert "Ended unswept" not in upcoming and "Done" not in upcoming
    past = client.get("/teach/sessions?tab=past").get_data(as_text=True)
    assert "Ended unswept" in past and "Done" in past and "Soon" not in past
    cancelled = client.get("/teach/sessions?tab=cancelled").get_data(as_text=True)
    assert "Called off" in cancelled and "Reason: Unwell" in cancelled


def test_price_is_locked_once_someone_booked(client, auth, mentor, make_user, api_token):
    session = SessionFactory(mentor=mentor, price_paise=49900)
    booking_service.book(session.id, make_user())
    auth.login(mentor.email)
    path = f"/teach/sessions/{session.id}/edit"
    page = client.get(path).get_data(as_text=True)
    assert re.search(r'<input[^>]*disabled[^>]*name="price"|<input[^>]*name="price"[^>]*disabled', page)
    assert "The price is fixed once someone has booked" in page

    # A browser leaves the disabled price out; other changes still save.
    data = form_data(client, path, title="Pandas, cleaned up")
    data.pop("price")
    assert client.post(path, data=data).status_code == 303
    session = sessions_of(mentor)[0]
    assert session.title == "Pandas, cleaned up" and session.price_paise == 49900

    # The service refuses a new price however it is asked.
    headers = {"Authorization": f"Bearer {api_token(mentor.email)}"}
    response = client.patch(f"/api/sessions/{session.id}/", json={"price_paise": 100}, headers=headers)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "price_locked"


def test_rescheduling_emails_booked_learners_who_may_then_cancel_in_full(client, auth, mentor, make_user):
    session = SessionFactory(mentor=mentor, starts_at=datetime(2026, 12, 1, 13, 0, tzinfo=UTC))
    learner = make_user(email="rohan@example.com")
    booking, _ = booking_service.book(session.id, learner)
    auth.login(mentor.email)
    path = f"/teach/sessions/{session.id}/edit"
    page = client.get(path).get_data(as_text=True)
    assert "1 learner has booked this session." in page and "full refund" in page

    # Only the description: no one is told anything.
    unchanged = {"title": session.title, "duration_minutes": "60", "capacity": "5", "price": "0"}
    response = client.post(path, data=form_data(client, path, description="Updated", **unchanged))
    assert response.status_code == 303
    assert not [e for e in emails_to(learner.email) if e.subject.startswith("New time")]

    response = client.post(path, data=form_data(client, path, start_time="20:00", **unchanged))
    assert response.status_code == 303
    db.session.expire_all()
    session = db.session.get(LearningSession, session.id)
    assert session.starts_at == datetime(2026, 12, 1, 14, 30, tzinfo=UTC) and session.schedule_version == 2
    assert db.session.get(Booking, booking.id).rescheduled_at == NOW
    [notice] = [e for e in emails_to(learner.email) if e.subject.startswith("New time")]
    assert "full refund" in notice.text_body


def test_mentor_cancel_cancels_every_booking_and_refunds_paid_ones(client, auth, mentor, make_user):
    session = SessionFactory(mentor=mentor, price_paise=50000, capacity=4)
    free_session = SessionFactory(mentor=mentor, price_paise=0)
    payer = make_user(email="payer@example.com")
    booking, payment = paid_booking(session, payer)
    free_booking, _ = booking_service.book(free_session.id, make_user())
    auth.login(mentor.email)

    path = f"/teach/sessions/{session.id}/cancel"
    page = client.get(path).get_data(as_text=True)
    assert "1 learner has a seat." in page and "refunded in full" in page
    token = extract_csrf(page)
    response = client.post(path, data={"csrf_token": token, "reason": "I'm unwell"})
    assert response.status_code == 303

    db.session.expire_all()
    session = db.session.get(LearningSession, session.id)
    assert (
        session.status == "cancelled" and session.cancel_reason == "I'm unwell" and session.seats_taken == 0
    )
    assert db.session.get(Booking, booking.id).status == "cancelled"
    assert db.session.get(Payment, payment.id).refunded_paise == 50000
    assert any(e.subject.startswith("Session cancelled") for e in emails_to(payer.email))

    # The other session's booking is untouched.
    assert db.session.get(Booking, free_booking.id).status == "confirmed"


def test_other_mentors_sessions_are_404_and_learners_are_403(client, auth, mentor, make_user):
    session = SessionFactory(mentor=mentor)
    other = make_user(role="mentor")
    auth.login(other.email)
    token = auth.csrf("/teach/sessions")
    assert client.get(f"/teach/sessions/{session.id}/edit").status_code == 404
    assert client.get(f"/teach/sessions/{session.id}/cancel").status_code == 404
    assert client.post(f"/teach/sessions/{session.id}/publish", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/teach/sessions/{session.id}/cancel", data={"csrf_token": token}).status_code == 404
    assert sessions_of(mentor)[0].status == "scheduled"
    auth.logout()

    auth.login(make_user().email)
    assert client.get("/teach/sessions").status_code == 403
    assert client.get("/teach/sessions/new").status_code == 403


# ---------------------------------------------------------------------------- JSON API


def test_api_create_edit_publish_cancel(client, mentor, api_token):
    headers = {"Authorization": f"Bearer {api_token(mentor.email)}"}
    response = client.post(
        "/api/sessions/create/",
        json={
            "title": "SQL window functions",
            "category": "Data & AI",
            "skills": ["SQL"],
            "starts_at": "2026-12-01T18:30",  # naive: the mentor's timezone
            "duration_minutes": 75,
            "capacity": 10,
            "price_paise": 29900,
        },
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    data = response.get_json()["data"]
    assert data["status"] == "draft" and data["starts_at"] == "2026-12-01T13:00:00+00:00"
    session_id = data["id"]

    response = client.patch(
        f"/api/sessions/{session_id}/", json={"starts_at": "2026-12-02T09:00:00+05:30"}, headers=headers
    )
    assert response.status_code == 200
    assert response.get_json()["data"]["starts_at"] == "2026-12-02T03:30:00+00:00"

    response = client.post(f"/api/sessions/{session_id}/publish/", headers=headers)
    assert response.status_code == 200 and response.get_json()["data"]["status"] == "scheduled"

    response = client.post(f"/api/sessions/{session_id}/cancel/", json={"reason": "Clash"}, headers=headers)
    assert response.status_code == 200 and response.get_json()["data"]["status"] == "cancelled"


def test_api_publish_flag_and_validation_errors(client, mentor, api_token):
    headers = {"Authorization": f"Bearer {api_token(mentor.email)}"}
    body = {"title": "Figma basics", "category": "Design", "starts_at": "2026-12-05T10:00:00Z"}
    response = client.post("/api/sessions/create/", json={**body, "publish": "yes"}, headers=headers)
    assert response.status_code == 422 and "publish" in response.get_json()["error"]["fields"]
    response = client.post("/api/sessions/create/", json={**body, "seats_taken": 3}, headers=headers)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "read_only_field"
    response = client.post("/api/sessions/create/", json={**body, "publish": True}, headers=headers)
    assert response.status_code == 201 and response.get_json()["data"]["status"] == "scheduled"
    assert db.session.scalar(select(func.count(LearningSession.id))) == 1


def test_api_is_for_mentors_and_their_own_sessions(client, mentor, make_user, api_token):
    session = SessionFactory(mentor=mentor)
    learner = make_user()
    other = make_user(role="mentor")
    as_learner = {"Authorization": f"Bearer {api_token(learner.email)}"}
    as_other = {"Authorization": f"Bearer {api_token(other.email)}"}

    response = client.post("/api/sessions/create/", json={"title": "x"}, headers=as_learner)
    assert response.status_code == 403
    assert client.patch(f"/api/sessions/{session.id}/", json={}, headers=as_learner).status_code == 403
    assert client.post("/api/sessions/create/", json={}).status_code == 401

    assert (
        client.patch(f"/api/sessions/{session.id}/", json={"title": "Mine"}, headers=as_other).status_code
        == 404
    )
    assert client.post(f"/api/sessions/{session.id}/publish/", headers=as_other).status_code == 404
    assert client.post(f"/api/sessions/{session.id}/cancel/", headers=as_other).status_code == 404
    db.session.expire_all()
    assert db.session.get(LearningSession, session.id).status == "scheduled"
