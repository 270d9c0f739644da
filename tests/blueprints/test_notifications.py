"""Notifications: the center, marking read, preferences, the JSON API and the one-click unsubscribe."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from peerlearn.extensions import db
from peerlearn.models import Notification, NotificationKind, NotificationPreference, OutboundEmail
from peerlearn.services import notifications
from peerlearn.services import sessions as session_service
from peerlearn.services.booking import book
from tests.conftest import extract_csrf
from tests.factories import SessionFactory

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
ITEM = re.compile(r'data-notification-id="(\d+)"')


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def learner(make_user):
    return make_user(email="rohan@example.com", name="Rohan Gupta", timezone="Asia/Kolkata")


@pytest.fixture
def other(make_user):
    return make_user(email="priya@example.com", name="Priya Sharma")


def tell(user, kind, title, *, url="/bookings", body="", email=None):
    note, message = notifications.notify(user, kind, title=title, body=body, url=url, email=email)
    db.session.commit()
    return note, message


def shown_ids(html):
    return [int(i) for i in ITEM.findall(html)]


def page(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def is_read(note):
    db.session.expire_all()
    return db.session.get(Notification, note.id).read_at is not None


def emails_to(user, subject_start):
    return db.session.scalar(
        select(func.count(OutboundEmail.id)).where(
            OutboundEmail.user_id == user.id, OutboundEmail.subject.startswith(subject_start)
        )
    )


# ------------------------------------------------------------------------------ the center


def test_center_lists_newest_first_with_links_local_times_and_the_bell_count(client, auth, learner, clock):
    older, _ = tell(learner, NotificationKind.BOOKING_CONFIRMED, "Booked: Pandas", url="/bookings/7")
    clock.move_to(NOW + timedelta(hours=2), tick=False)
    newer, _ = tell(learner, NotificationKind.SESSION_CANCELLED, "Session cancelled: SQL", url="/sessions")
    auth.login(learner.email)

    html = page(client, "/notifications")
    assert shown_ids(html) == [newer.id, older.id]
    assert 'href="/bookings/7"' in html and 'href="/sessions"' in html
    # 06:00 UTC is 11:30 in Kolkata, with the machine-readable time alongside.
    assert (
        f'datetime="{older.created_at.isoformat(timespec="seconds")}"' in html and "20 Nov, 11:30 AM" in html
    )
    assert "Bookings &amp; payments" in html and "Sessions" in html  # each item's group
    assert '<span x-text="unread">2</span> unread' in html
    # The bell: rendered with the count on every signed-in page, no extra request needed.
    profile = page(client, "/profile")
    assert 'data-testid="notification-bell"' in profile and 'data-unread="2"' in profile
    assert re.search(r'data-testid="notification-count"[^<]*?>2</span>', profile)


def test_bell_is_hidden_when_nothing_is_unread_and_absent_when_signed_out(client, auth, learner):
    assert "notification-bell" not in page(client, "/")
    auth.login(learner.email)
    html = page(client, "/profile")
    assert 'data-unread="0"' in html
    assert re.search(r'data-testid="notification-count"[^<]*? x-cloak>0</span>', html)


def test_center_needs_a_sign_in(client):
    response = client.get("/notifications")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_empty_center_says_so(client, auth, learner):
    auth.login(learner.email)
    html = page(client, "/notifications")
    assert 'data-testid="notifications-empty"' in html and "Nothing yet." in html
    assert 'name="all"' not in html
    assert "You're all caught up." in page(client, "/notifications?show=unread")


def test_views_filter_by_group_and_by_unread(client, auth, learner):
    booked, _ = tell(learner, NotificationKind.BOOKING_CONFIRMED, "Booked")
    refund, _ = tell(learner, NotificationKind.REFUND_PROCESSED, "Refund processed")
    moved, _ = tell(learner, NotificationKind.SESSION_RESCHEDULED, "New time")
    follower, _ = tell(learner, NotificationKind.NEW_FOLLOWER, "New follower")
    security, _ = tell(learner, NotificationKind.SECURITY, "Password changed")
    notifications.mark_read(learner.id, [refund.id, security.id])
    auth.login(learner.email)

    assert shown_ids(page(client, "/notifications?show=bookings")) == [refund.id, booked.id]
    assert shown_ids(page(client, "/notifications?show=sessions")) == [moved.id]
    assert shown_ids(page(client, "/notifications?show=community")) == [follower.id]
    assert shown_ids(page(client, "/notifications?show=account")) == [security.id]
    assert shown_ids(page(client, "/notifications?show=unread")) == [follower.id, moved.id, booked.id]
    assert len(shown_ids(page(client, "/notifications?show=nonsense"))) == 5  # an unknown view shows all
    html = page(client, "/notifications?show=community")
    assert re.search(r'href="/notifications\?show=community"\s+class="[^"]*"\s*aria-current="page"', html)
    notifications.mark_read(learner.id)
    assert "No notifications of this kind yet." not in page(client, "/notifications?show=account")
    db.session.delete(db.session.get(Notification, security.id))
    db.session.commit()
    assert "No notifications of this kind yet." in page(client, "/notifications?show=account")


def test_every_kind_belongs_to_exactly_one_view():
    grouped = [kind for _label, kinds in notifications.KIND_GROUPS.values() for kind in kinds]
    assert sorted(grouped) == sorted(NotificationKind) and len(grouped) == len(set(grouped))


def test_pages_hold_25_newest_first(client, auth, learner, clock):
    notes = []
    for n in range(30):
        clock.move_to(NOW + timedelta(minutes=n), tick=False)
        notes.append(tell(learner, NotificationKind.NEW_FOLLOWER, f"Follower {n}")[0])
    auth.login(learner.email)

    first = page(client, "/notifications")
    assert shown_ids(first) == [note.id for note in reversed(notes[5:])]
    assert "Page 1 of 2" in first and 'href="/notifications?page=2"' in first
    second = page(client, "/notifications?page=2")
    assert shown_ids(second) == [note.id for note in reversed(notes[:5])]
    assert 'rel="prev"' in second and 'rel="next"' not in second
    assert "There is no page 3." in page(client, "/notifications?page=3")
    assert shown_ids(page(client, "/notifications?page=abc")) == shown_ids(first)


# ------------------------------------------------------------------------------ marking read


def test_mark_one_read_then_all_read_keeps_the_view(client, auth, learner):
    first, _ = tell(learner, NotificationKind.BOOKING_CONFIRMED, "Booked")
    second, _ = tell(learner, NotificationKind.PAYMENT_FAILED, "Payment failed")
    third, _ = tell(learner, NotificationKind.NEW_FOLLOWER, "New follower")
    auth.login(learner.email)
    token = extract_csrf(page(client, "/notifications?show=bookings"))

    response = client.post(
        "/notifications/read",
        data={"csrf_token": token, "ids": str(first.id), "show": "bookings", "page": "1"},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/notifications?show=bookings"
    assert is_read(first) and not is_read(second) and not is_read(third)
    html = page(client, "/notifications?show=unread")
    assert shown_ids(html) == [third.id, second.id]

    response = client.post(
        "/notifications/read", data={"csrf_token": token, "all": "1"}, follow_redirects=True
    )
    html = response.get_data(as_text=True)
    assert "All notifications marked as read." in html and 'name="all"' not in html
    assert is_read(second) and is_read(third)
    assert 'data-unread="0"' in html


def test_marking_read_needs_the_csrf_token(client, auth, learner):
    note, _ = tell(learner, NotificationKind.BOOKING_CONFIRMED, "Booked")
    auth.login(learner.email)
    assert client.post("/notifications/read", data={"all": "1"}).status_code == 400
    assert not is_read(note)


def test_another_users_notifications_are_never_shown_or_marked(client, auth, learner, other, api_token):
    mine, _ = tell(learner, NotificationKind.BOOKING_CONFIRMED, "Booked: mine")
    theirs, _ = tell(other, NotificationKind.BOOKING_CONFIRMED, "Booked: theirs")
    auth.login(learner.email)

    html = page(client, "/notifications")
    assert shown_ids(html) == [mine.id] and "Booked: theirs" not in html
    token = extract_csrf(html)
    client.post("/notifications/read", data={"csrf_token": token, "ids": [str(theirs.id), str(mine.id)]})
    assert is_read(mine) and not is_read(theirs)

    bearer = {"Authorization": f"Bearer {api_token(learner.email)}"}
    body = client.get("/api/notifications/", headers=bearer).get_json()["data"]
    assert [item["id"] for item in body["items"]] == [mine.id]
    response = client.post("/api/notifications/read/", json={"ids": [theirs.id]}, headers=bearer)
    assert response.get_json()["data"] == {"marked": 0, "unread_count": 0}
    client.post("/api/notifications/read/", json={"all": True}, headers=bearer)
    assert not is_read(theirs)


# ------------------------------------------------------------------------------ the API


def test_api_lists_one_page_with_unread_count_and_filters(client, learner, api_token):
    booked, _ = tell(learner, NotificationKind.BOOKING_CONFIRMED, "Booked", body="You have a seat.")
    follower, _ = tell(learner, NotificationKind.NEW_FOLLOWER, "New follower", url="")
    moved, _ = tell(learner, NotificationKind.SESSION_RESCHEDULED, "New time")
    notifications.mark_read(learner.id, [follower.id])
    headers = {"Authorization": f"Bearer {api_token(learner.email)}"}

    body = client.get("/api/notifications/?per_page=2", headers=headers).get_json()
    assert body["success"] is True
    data = body["data"]
    assert [item["id"] for item in data["items"]] == [moved.id, follower.id]
    assert data["pagination"] == {
        "page": 1,
        "per_page": 2,
        "total": 3,
        "pages": 2,
        "has_next": True,
        "has_prev": False,
    }
    assert data["unread_count"] == 2
    assert data["items"][1] == {
        "id": follower.id,
        "kind": "new_follower",
        "title": "New follower",
        "body": "",
        "url": "",
        "data": {},
        "created_at": follower.created_at.isoformat(),
        "read": True,
        "ended": False,
    }

    unread = client.get("/api/notifications/?unread=1", headers=headers).get_json()["data"]
    assert [item["id"] for item in unread["items"]] == [moved.id, booked.id]
    kinds = client.get("/api/notifications/?kind=booking_confirmed,new_follower", headers=headers).get_json()
    assert [item["id"] for item in kinds["data"]["items"]] == [follower.id, booked.id]

    for query, field in (("kind=nope", "kind"), ("unread=maybe", "unread"), ("per_page=0", "per_page")):
        response = client.get(f"/api/notifications/?{query}", headers=headers)
        assert response.status_code == 422 and field in response.get_json()["error"]["fields"]
    assert client.get("/api/notifications/").status_code == 401


def test_api_marks_read_by_ids_or_all_and_refuses_bad_bodies(client, learner, api_token):
    first, _ = tell(learner, NotificationKind.BOOKING_CONFIRMED, "Booked")
    second, _ = tell(learner, NotificationKind.NEW_FOLLOWER, "New follower")
    third, _ = tell(learner, NotificationKind.NEW_REVIEW, "New review")
    headers = {"Authorization": f"Bearer {api_token(learner.email)}"}

    response = client.post("/api/notifications/read/", json={"ids": [first.id, first.id]}, headers=headers)
    assert response.status_code == 200
    assert response.get_json()["data"] == {"marked": 1, "unread_count": 2}
    again = client.post("/api/notifications/read/", json={"ids": [first.id]}, headers=headers)
    assert again.get_json()["data"] == {"marked": 0, "unread_count": 2}

    for body in (
        {},
        {"ids": []},
        {"ids": "1"},
        {"ids": [True]},
        {"ids": [-1]},
        {"all": False},
        {"ids": [1], "all": True},
    ):
        response = client.post("/api/notifications/read/", json=body, headers=headers)
        assert response.status_code == 422, body
    assert not is_read(second)

    response = client.post("/api/notifications/read/", json={"all": True}, headers=headers)
    assert response.get_json()["data"] == {"marked": 2, "unread_count": 0}
    assert is_read(second) and is_read(third)


def test_api_cookie_writes_need_the_csrf_header(client, auth, learner):
    note, _ = tell(learner, NotificationKind.BOOKING_CONFIRMED, "Booked")
    auth.login(learner.email)
    assert client.post("/api/notifications/read/", json={"all": True}).status_code == 400
    assert not is_read(note)
    token = extract_csrf(page(client, "/notifications"))
    response = client.post(
        "/api/notifications/read/", json={"ids": [note.id]}, headers={"X-CSRFToken": token}
    )
    assert response.get_json()["data"]["marked"] == 1


def test_api_preferences_read_and_change_all_or_nothing(client, learner, api_token):
    headers = {"Authorization": f"Bearer {api_token(learner.email)}"}
    rows = client.get("/api/notifications/preferences/", headers=headers).get_json()["data"]["preferences"]
    assert [row["kind"] for row in rows] == [kind.value for kind in NotificationKind]
    receipts = next(row for row in rows if row["kind"] == "booking_confirmed")
    assert receipts == {
        "kind": "booking_confirmed",
        "label": "Booking confirmations and receipts",
        "in_app": True,
        "email": True,
        "email_locked": True,
    }

    response = client.patch(
        "/api/notifications/preferences/",
        json={"new_follower": {"email": False}, "session_reminder": {"in_app": False, "email": False}},
        headers=headers,
    )
    assert response.status_code == 200
    changed = {row["kind"]: row for row in response.get_json()["data"]["preferences"]}
    assert changed["new_follower"]["email"] is False and changed["new_follower"]["in_app"] is True
    assert changed["session_reminder"]["in_app"] is False

    for body in (
        {"booking_confirmed": {"email": False}},  # receipts can't be switched off
        {"new_review": {"email": False}, "security": {"email": False}},
        {"not_a_kind": {"email": False}},
        {"new_review": {"email": "no"}},
        {"new_review": {"sms": True}},
        {"new_review": {}},
        {},
    ):
        response = client.patch("/api/notifications/preferences/", json=body, headers=headers)
        assert response.status_code == 422, body
    # Nothing of the refused bodies was written, not even the valid part.
    assert notifications.preference(learner.id, NotificationKind.NEW_REVIEW) == (True, True)
    assert notifications.preference(learner.id, NotificationKind.BOOKING_CONFIRMED) == (True, True)


# ------------------------------------------------------------------------------ preferences page


def test_preferences_page_saves_every_kind_and_keeps_transactional_email_on(client, auth, learner):
    auth.login(learner.email)
    html = page(client, "/notifications/preferences")
    for kind in NotificationKind:
        assert f'data-kind="{kind.value}"' in html
    locked = re.search(r'<input type="checkbox" name="email" value="booking_confirmed"[^>]*>', html).group(0)
    assert "disabled" in locked and "checked" in locked
    assert "Receipts and security emails are always sent." in html
    token = extract_csrf(html)

    # Everything on except: new followers not in the app, reviews not by email. The form leaves
    # the locked boxes out (disabled), and a forged form that also leaves security in-app on
    # changes nothing for security email.
    in_app = [kind.value for kind in NotificationKind if kind != NotificationKind.NEW_FOLLOWER]
    email = [
        kind.value
        for kind in NotificationKind
        if kind
        not in (NotificationKind.NEW_REVIEW, NotificationKind.SECURITY, NotificationKind.BOOKING_CONFIRMED)
    ]
    response = client.post(
        "/notifications/preferences", data={"csrf_token": token, "in_app": in_app, "email": email}
    )
    assert response.status_code == 302
    assert notifications.preference(learner.id, NotificationKind.NEW_FOLLOWER) == (False, True)
    assert notifications.preference(learner.id, NotificationKind.NEW_REVIEW) == (True, False)
    assert notifications.preference(learner.id, NotificationKind.SECURITY) == (True, True)
    assert notifications.preference(learner.id, NotificationKind.BOOKING_CONFIRMED) == (True, True)
    html = page(client, "/notifications/preferences")
    assert "Notification settings saved." in html
    follower_app = re.search(r'<input type="checkbox" name="in_app" value="new_follower"[^>]*>', html).group(
        0
    )
    assert "checked" not in follower_app

    # In-app off: notify() records nothing for that kind.
    note, _ = tell(learner, NotificationKind.NEW_FOLLOWER, "Someone followed you")
    assert note is None


def test_preferences_are_linked_from_profile_center_and_unsubscribe(client, auth, learner):
    link = 'href="/notifications/preferences"'
    token = notifications.unsubscribe_token(learner, NotificationKind.NEW_FOLLOWER)
    assert link in page(client, f"/notifications/unsubscribe/{token}")
    auth.login(learner.email)
    assert link in page(client, "/profile")
    assert link in page(client, "/notifications")


# ------------------------------------------------------------------------------ unsubscribe


def test_unsubscribe_link_works_without_signing_in_and_notify_respects_it(app, client, make_user, learner):
    mentor = make_user(role="mentor", name="Asha Raman")
    session = SessionFactory(mentor=mentor, title="SQL joins")
    book(session.id, learner)
    kind = NotificationKind.SESSION_CANCELLED
    token = notifications.unsubscribe_token(learner, kind)

    # GET only asks: mail scanners follow links.
    html = page(client, f"/notifications/unsubscribe/{token}")
    assert "Stop these emails?" in html and "A booked session was cancelled" in html
    assert db.session.get(NotificationPreference, (learner.id, kind.value)) is None

    response = client.post(f"/notifications/unsubscribe/{token}")  # no cookie, no CSRF token
    assert response.status_code == 200 and "re unsubscribed" in response.get_data(as_text=True)
    assert notifications.preference(learner.id, kind) == (True, False)
    assert notifications.preference(learner.id, NotificationKind.SESSION_RESCHEDULED) == (True, True)

    session_service.cancel_session(mentor, session.id, reason="Unwell")
    assert emails_to(learner, "Session cancelled") == 0
    cancelled = db.session.scalars(
        select(Notification).where(Notification.user_id == learner.id, Notification.kind == kind.value)
    ).all()
    assert [note.title for note in cancelled] == ["Session cancelled: SQL joins"]
    # notify() itself: the in-app notification, no email.
    note, message = tell(
        learner,
        kind,
        "Session cancelled: again",
        email=notifications.Email("notice", "Session cancelled: again"),
    )
    assert note is not None and message is None
    # Another kind still emails.
    _, message = tell(
        learner,
        NotificationKind.SESSION_RESCHEDULED,
        "New time",
        email=notifications.Email("notice", "New time", {"heading": "New time", "lines": []}),
    )
    assert message is not None


@pytest.mark.parametrize(
    "mangle",
    [lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), lambda t: "x" + t, lambda t: "nonsense"],
)
def test_tampered_unsubscribe_token_is_refused(client, learner, mangle):
    token = notifications.unsubscribe_token(learner, NotificationKind.NEW_FOLLOWER)
    for method in (client.get, client.post):
        response = method(f"/notifications/unsubscribe/{mangle(token)}")
        assert response.status_code == 400
        assert "This link doesn" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(NotificationPreference)) == 0


def test_transactional_kinds_cannot_be_unsubscribed_even_with_a_signed_token(client, learner):
    token = notifications.unsubscribe_token(learner, NotificationKind.BOOKING_CONFIRMED)
    response = client.post(f"/notifications/unsubscribe/{token}")
    assert response.status_code in (400, 422)
    assert notifications.preference(learner.id, NotificationKind.BOOKING_CONFIRMED) == (True, True)
