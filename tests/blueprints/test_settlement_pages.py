"""What people see of settlement by attendance: End refused before the start on every path, the
refund promise wherever a booking is made or shown, sessions not held on the mentor's and the
learner's pages, a suspended mentor's pages, and the admin's strikes and "Lift suspension"."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import select

from peerlearn.extensions import db
from peerlearn.models import AuditEntry, LearningSession, MentorStrike, OutboundEmail, User, utcnow
from peerlearn.services import audit
from peerlearn.services import booking as booking_service
from peerlearn.services import room as room_service
from peerlearn.services import sessions as session_service
from tests.conftest import AuthActions, extract_csrf
from tests.factories import make_session, paid_booking

BROWSER = {"REMOTE_ADDR": "198.51.100.7", "HTTP_USER_AGENT": "Mozilla/5.0 Firefox/133.0"}


@pytest.fixture
def people(make_user):
    class People:
        admin = make_user(role="admin", name="Ada Admin", email="admin@example.com")
        mentor = make_user(role="mentor", name="Meera Mentor", email="mentor@example.com")
        ana = make_user(name="Ana Learner", email="ana@example.com")

    return People


def signed_in(app, email):
    browser = app.test_client()
    browser.environ_base.update(BROWSER)
    assert AuthActions(browser).login(email).status_code == 302
    return browser


def page(browser, path, status=200):
    response = browser.get(path)
    assert response.status_code == status, path
    return response.get_data(as_text=True)


def promise_on(markup):
    match = re.search(r"data-refund-promise>([^<]+)<", markup)
    assert match, "no refund promise on the page"
    return " ".join(unescape(match.group(1)).split())


# --- End for all before the start -------------------------------------------------------------


@pytest.fixture
def going_live(people, time_machine):
    """A free session starting in ten minutes, Ana booked; Meera has gone live and both are in the room."""
    now = utcnow().replace(microsecond=0)
    time_machine.move_to(now, tick=False)
    session = make_session(people.mentor, starts_at=now + timedelta(minutes=10), title="Quick Flask help")
    booking_service.book(session.id, people.ana)
    room_service.start(people.mentor, session.id)
    time_machine.move_to(now + timedelta(seconds=30), tick=False)  # 9½ minutes before the start
    return session


def test_end_for_all_before_the_start_is_refused_on_every_path(app, people, going_live, connect, api_token):
    session = going_live
    mentor_socket, ana_socket = connect("mentor@example.com"), connect("ana@example.com")
    for sio in (mentor_socket, ana_socket):
        assert sio.emit("room:join", {"session_id": session.id}, callback=True)["ok"]
        sio.get_received()

    # The room's End for all (the socket): a negative ack and an error event with the reason.
    ack = mentor_socket.emit("room:end", {"session_id": session.id}, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == "too_early"
    assert "You can end the session once it has started (at " in ack["error"]["message"]
    [error] = [e["args"][0] for e in mentor_socket.get_received() if e["name"] == "error"]
    assert error["event"] == "room:end" and error["code"] == "too_early"
    assert [
        e["name"] for e in ana_socket.get_received() if e["name"] in ("room:ended", "session:ended")
    ] == []

    # The room page's fallback form: a flash on the room page, never a 500.
    browser = signed_in(app, "mentor@example.com")
    token = extract_csrf(page(browser, f"/sessions/{session.id}/room"))
    response = browser.post(f"/sessions/{session.id}/end", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/sessions/{session.id}/room"
    )
    assert "once it has started" in page(browser, response.headers["Location"])

    # The API.
    response = browser.post(
        f"/api/sessions/{session.id}/end/",
        headers={"Authorization": f"Bearer {api_token('mentor@example.com')}"},
    )
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"]["code"] == "too_early" and "once it has started" in body["message"]

    db.session.expire_all()
    assert db.session.get(LearningSession, session.id).status == "live"
    assert booking_service.active_booking(session.id, people.ana.id).status == "confirmed"


def test_the_room_tells_the_mentor_how_long_makes_a_session_held(app, people, going_live):
    browser = signed_in(app, "mentor@example.com")
    html = page(browser, f"/sessions/{going_live.id}/room")
    config = re.search(r'id="room-config"[^>]*>(.*?)</script>', html, re.S).group(1)
    assert '"heldMinutes": 30' in config  # half of its 60 minutes


# --- the refund promise -----------------------------------------------------------------------

# Monday 7 Dec 2026, 12:00 in India.
NOW = datetime(2026, 12, 7, 6, 30, tzinfo=UTC)
OUTSIDE = (
    "Full refund if you cancel before Wed 9 Dec 2026, 6:30 PM (Asia/Kolkata); no refund after that. "
    "If the mentor moves the session, you can cancel for a full refund. "
    "If the mentor cancels or doesn't hold the session, you're refunded in full."
)


@pytest.fixture
def market(people, time_machine):
    time_machine.move_to(NOW, tick=False)
    ahead = make_session(
        people.mentor,
        title="Pandas, later",
        starts_at=datetime(2026, 12, 10, 13, 0, tzinfo=UTC),
        price_paise=49900,
    )
    soon = make_session(
        people.mentor, title="Pandas, tonight", starts_at=NOW + timedelta(hours=6), price_paise=19900
    )
    return ahead, soon


def test_the_promise_before_booking_on_the_pay_page_the_booking_page_and_the_email(
    app, client, people, market
):
    ahead, soon = market
    assert promise_on(page(client, f"/sessions/{ahead.id}")) == OUTSIDE  # a visitor, before signing in
    assert promise_on(page(client, f"/sessions/{soon.id}")).startswith(
        "This session starts within 24 hours: if you book now, you can't get a refund by cancelling."
    )

    browser = signed_in(app, "ana@example.com")
    token = extract_csrf(page(browser, f"/sessions/{ahead.id}"))
    response = browser.post(f"/sessions/{ahead.id}/book", data={"csrf_token": token})
    checkout = page(browser, response.headers["Location"])
    assert promise_on(checkout) == OUTSIDE

    booking, _payment = paid_booking(ahead, people.ana)  # pays for the seat held above
    assert promise_on(page(browser, f"/bookings/{booking.id}")) == OUTSIDE
    assert promise_on(page(browser, f"/sessions/{ahead.id}")) == OUTSIDE
    email = db.session.scalar(select(OutboundEmail).where(OutboundEmail.template == "booking_confirmed"))
    assert OUTSIDE in " ".join(email.text_body.split())
    assert OUTSIDE in " ".join(unescape(email.html_body).split())

    # Booked inside the window: the booking's own pages and email say no refund by cancelling.
    late, _ = paid_booking(soon, people.ana)
    inside = "You booked within 24 hours of the start, so you can't get a refund by cancelling."
    assert promise_on(page(browser, f"/bookings/{late.id}")).startswith(inside)
    email = db.session.scalars(
        select(OutboundEmail)
        .where(OutboundEmail.template == "booking_confirmed")
        .order_by(OutboundEmail.id.desc())
    ).first()
    assert inside in " ".join(email.text_body.split())


# --- sessions not held --------------------------------------------------------------------------


@pytest.fixture
def not_held(people, time_machine):
    """Meera's paid session she never came to, swept at the end of its grace period."""
    now = utcnow().replace(microsecond=0)
    time_machine.move_to(now, tick=False)
    session = make_session(
        people.mentor, title="Ghost session", starts_at=now + timedelta(days=1), price_paise=30000
    )
    booking, _ = paid_booking(session, people.ana)
    time_machine.move_to(room_service.closes_at(session), tick=False)
    assert session_service.complete_due_sessions() == 1
    return session, booking


def test_a_session_not_held_reads_so_for_the_mentor_and_the_learner(app, people, not_held):
    session, booking = not_held
    mentor = signed_in(app, "mentor@example.com")
    listed = page(mentor, "/teach/sessions?tab=cancelled")
    row = re.search(rf'data-session-id="{session.id}".*?</li>', listed, re.S).group(0)
    assert "Not held — learners refunded" in row and "Reason: Not held: the mentor didn&#39;t come" in row
    detail = page(mentor, f"/sessions/{session.id}")
    assert (
        "Not held — learners refunded." in detail and "You were in the room for 0 of its 60 minutes" in detail
    )

    ana = signed_in(app, "ana@example.com")
    mine = page(ana, f"/bookings/{booking.id}")
    assert "This session was not held." in mine and "refunded in full" in mine
    assert "Meera Mentor cancelled this session" not in mine
    assert "Not held — learners refunded." in page(ana, f"/sessions/{session.id}")


# --- publishing suspended, and the admin's lift ---------------------------------------------------


@pytest.fixture
def suspended(people):
    """Three strikes (sessions Meera did not hold), her publishing suspended by the third."""
    mentor = people.mentor
    now = utcnow()
    for days in (60, 30, 2):
        session = make_session(
            mentor, title=f"Missed {days} days ago", starts_at=now - timedelta(days=days), status="cancelled"
        )
        db.session.add(
            MentorStrike(
                mentor_id=mentor.id,
                session_id=session.id,
                reason="Not held: the mentor didn't come to the room (at least 30 minutes are needed).",
                created_at=now - timedelta(days=days) + timedelta(hours=2),
            )
        )
    mentor.publishing_suspended_at = now - timedelta(days=2) + timedelta(hours=2)
    audit.record(None, audit.MENTOR_PUBLISHING_SUSPEND, target_type="user", target_id=mentor.id, details={})
    db.session.commit()
    return mentor


def test_a_suspended_mentor_sees_why_and_cannot_publish(app, people, suspended, api_token):
    browser = signed_in(app, "mentor@example.com")
    banner = page(browser, "/teach/sessions")
    assert 'data-testid="publishing-suspended"' in banner and "Publishing is suspended." in banner
    assert "3 of your sessions within 90 days were not held" in banner
    assert 'data-testid="publishing-suspended"' in page(browser, "/teach")
    form = page(browser, "/teach/sessions/new")
    assert 'value="publish"' not in form and "Publishing is suspended until an admin lifts it" in form

    data = {
        "csrf_token": extract_csrf(form),
        "title": "Pandas for messy data",
        "category": "Data & AI",
        "level": "all",
        "language": "English",
        "start_date": (utcnow() + timedelta(days=5)).strftime("%Y-%m-%d"),
        "start_time": "18:30",
        "duration_minutes": "60",
        "capacity": "5",
        "price": "0",
        "action": "publish",
    }
    response = browser.post("/teach/sessions/new", data=data)
    assert response.status_code == 403 and "an admin can lift the suspension" in response.get_data(
        as_text=True
    )
    response = browser.post("/teach/sessions/new", data={**data, "action": "draft"})
    assert response.status_code == 303
    draft = db.session.scalar(select(LearningSession).where(LearningSession.status == "draft"))
    response = browser.post(f"/teach/sessions/{draft.id}/publish", data={"csrf_token": data["csrf_token"]})
    assert response.status_code == 303 and "Publishing is suspended" in page(
        browser, response.headers["Location"]
    )

    token = api_token("mentor@example.com")
    response = browser.post(
        f"/api/sessions/{draft.id}/publish/", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "publishing_suspended"
    db.session.expire_all()
    assert db.session.get(LearningSession, draft.id).status == "draft"


def test_the_admin_sees_the_strikes_and_lifts_the_suspension_with_a_reason(app, people, suspended):
    admin = signed_in(app, "admin@example.com")
    html = page(admin, f"/admin/users/{suspended.id}")
    section = re.search(r'data-testid="strikes".*?</section>', html, re.S).group(0)
    assert "Publishing suspended since" in section and "3 strikes in the last 90 days" in section
    assert len(re.findall(r"data-strike-id=", section)) == 3
    assert section.index("Missed 2 days ago") < section.index("Missed 60 days ago")  # newest first
    assert "Not held: the mentor didn&#39;t come to the room" in section
    assert "Lift suspension" in section
    assert "PeerLearn (strikes)" in html  # the suspension in the audit entries, made by no admin

    token = extract_csrf(html)
    response = admin.post(
        f"/admin/users/{suspended.id}/publishing/lift", data={"lift-csrf_token": token, "lift-reason": "  "}
    )
    assert response.status_code == 422 and 'id="lift-reason-error"' in response.get_data(as_text=True)
    assert db.session.get(User, suspended.id).publishing_suspended_at is not None

    response = admin.post(
        f"/admin/users/{suspended.id}/publishing/lift",
        data={"lift-csrf_token": token, "lift-reason": "Two were our outage"},
    )
    assert response.status_code == 303
    after = page(admin, response.headers["Location"])
    assert "Meera Mentor can publish sessions again." in after and 'data-publishing="allowed"' in after
    db.session.expire_all()
    assert db.session.get(User, suspended.id).publishing_suspended_at is None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "mentor.publishing_restore"))
    assert entry.actor_id == people.admin.id and entry.target_id == suspended.id
    assert entry.details["reason"] == "Two were our outage" and entry.ip_address == "198.51.100.7"

    mentor = signed_in(app, "mentor@example.com")
    assert 'data-testid="publishing-suspended"' not in page(mentor, "/teach/sessions")
    assert 'value="publish"' in page(mentor, "/teach/sessions/new")


def test_the_admin_api_lists_strikes_and_lifts_the_suspension(client, people, suspended, api_token):
    headers = {"Authorization": f"Bearer {api_token('admin@example.com')}"}
    data = client.get(f"/api/admin/users/{suspended.id}/strikes/", headers=headers).get_json()["data"]
    assert data["user"]["publishing_suspended"] is True and data["strikes_in_window"] == 3
    assert (data["strike_limit"], data["window_days"]) == (3, 90)
    assert [item["session"]["title"] for item in data["items"]] == [
        "Missed 2 days ago",
        "Missed 30 days ago",
        "Missed 60 days ago",
    ]
    path = f"/api/admin/users/{suspended.id}/lift-publishing-suspension/"
    response = client.post(path, json={}, headers=headers)
    assert response.status_code == 422 and response.get_json()["error"]["fields"] == {
        "reason": ["A reason is required."]
    }
    response = client.post(path, json={"reason": "Reviewed"}, headers=headers)
    assert response.status_code == 200 and response.get_json()["data"]["publishing_suspended"] is False
    response = client.post(path, json={"reason": "Again"}, headers=headers)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "not_publishing_suspended"
    learner = {"Authorization": f"Bearer {api_token('ana@example.com')}"}
    assert client.get(f"/api/admin/users/{suspended.id}/strikes/", headers=learner).status_code == 403
