"""Live notifications: a user's sockets hear their own notifications and read marks, never anyone
else's."""

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from peerlearn.extensions import db
from peerlearn.models import Notification, NotificationKind
from peerlearn.services import booking as booking_service
from peerlearn.services import notifications, outbox
from tests.conftest import AuthActions, IsolatedSocketClient, extract_csrf
from tests.factories import make_session
from tests.support.sockets import received


@pytest.fixture
def people(make_user):
    return SimpleNamespace(
        mentor=make_user(email="mentor@example.com", role="mentor", name="Meera Mentor"),
        ana=make_user(email="ana@example.com", name="Ana Learner"),
        ben=make_user(email="ben@example.com", name="Ben Learner"),
    )


@pytest.fixture
def open_tab(app):
    """A signed-in browser tab: its own cookies and one socket."""
    sockets = []

    def open_one(email, browser=None):
        if browser is None:
            browser = app.test_client()
            assert AuthActions(browser).login(email).status_code == 302
        sio = IsolatedSocketClient(app, browser)
        assert sio.is_connected()
        sockets.append(sio)
        received(sio)  # start from an empty inbox
        return SimpleNamespace(browser=browser, sio=sio)

    yield open_one
    for sio in sockets:
        if sio.is_connected():
            sio.disconnect()


def stored(user):
    return db.session.scalars(
        select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    ).all()


def test_a_booking_confirmation_reaches_every_tab_of_the_learner_and_no_one_else(people, open_tab):
    ana, ana_again, ben = open_tab("ana@example.com"), None, open_tab("ben@example.com")
    ana_again = open_tab("ana@example.com", browser=ana.browser)  # a second tab of the same sign-in
    mentor = open_tab("mentor@example.com")
    session = make_session(people.mentor, title="Practical Flask")

    booking, _ = booking_service.book(session.id, people.ana)

    [note] = stored(people.ana)
    expected = notifications.notification_json(note)
    assert expected["kind"] == "booking_confirmed" and expected["title"] == "Booked: Practical Flask"
    assert expected["url"] == f"/bookings/{booking.id}" and expected["read"] is False
    assert expected["data"] == {"booking_id": booking.id, "session_id": session.id}
    assert received(ana.sio, "notification") == [expected]
    assert received(ana_again.sio, "notification") == [expected]
    assert received(ben.sio) == []
    assert received(mentor.sio) == []  # a free booking: nothing for the mentor


def test_notify_is_announced_to_its_owner_only_after_the_commit(people, open_tab):
    ana, ben = open_tab("ana@example.com"), open_tab("ben@example.com")

    note, _ = notifications.notify(
        people.ana, NotificationKind.NEW_FOLLOWER, title="Ben Learner follows you", url="/profile"
    )
    outbox.dispatch()
    assert received(ana.sio) == []  # not committed yet: nothing is said
    db.session.commit()
    outbox.dispatch()
    assert received(ana.sio, "notification") == [notifications.notification_json(note)]
    assert received(ben.sio) == []

    # A change that rolls back says nothing at all.
    notifications.notify(people.ana, NotificationKind.NEW_FOLLOWER, title="Never happened")
    db.session.rollback()
    outbox.dispatch()
    assert received(ana.sio) == [] and received(ben.sio) == []
    assert [n.title for n in stored(people.ana)] == ["Ben Learner follows you"]


def test_ben_never_hears_anas_notifications_even_for_the_same_session(people, open_tab):
    ana, ben = open_tab("ana@example.com"), open_tab("ben@example.com")
    session = make_session(people.mentor, title="Shared session")
    booking_service.book(session.id, people.ana)
    booking_service.book(session.id, people.ben)

    ana_notes = received(ana.sio, "notification")
    ben_notes = received(ben.sio, "notification")
    assert [n["id"] for n in ana_notes] == [n.id for n in stored(people.ana)]
    assert [n["id"] for n in ben_notes] == [n.id for n in stored(people.ben)]
    assert not {n["id"] for n in ana_notes} & {n["id"] for n in ben_notes}


def test_marking_read_updates_every_tab_of_that_user_only(people, open_tab):
    ana, ben = open_tab("ana@example.com"), open_tab("ben@example.com")
    ana_other_browser = open_tab("ana@example.com")  # signed in elsewhere too
    first, _ = notifications.notify(people.ana, NotificationKind.NEW_REVIEW, title="A new review")
    second, _ = notifications.notify(people.ana, NotificationKind.NEW_FOLLOWER, title="A new follower")
    bens, _ = notifications.notify(people.ben, NotificationKind.NEW_FOLLOWER, title="Ben's follower")
    db.session.commit()
    outbox.dispatch()
    for tab in (ana, ben, ana_other_browser):
        received(tab.sio)

    token = extract_csrf(ana.browser.get("/notifications").get_data(as_text=True))
    headers = {"X-CSRFToken": token}
    response = ana.browser.post(
        "/api/notifications/read/", json={"ids": [first.id, bens.id]}, headers=headers
    )
    assert response.get_json()["data"] == {"marked": 1, "unread_count": 1}
    assert received(ana.sio, "notifications:read") == [{"unread": 1, "ids": [first.id]}]
    assert received(ana_other_browser.sio, "notifications:read") == [{"unread": 1, "ids": [first.id]}]
    assert received(ben.sio) == []

    # Nothing changed: nothing to tell.
    ana.browser.post("/api/notifications/read/", json={"ids": [first.id]}, headers=headers)
    assert received(ana.sio) == []

    # Mark all from the center's form: ids null means "everything".
    ana.browser.post("/notifications/read", data={"csrf_token": token, "all": "1"})
    assert received(ana.sio, "notifications:read") == [{"unread": 0, "ids": None}]
    assert received(ana_other_browser.sio, "notifications:read") == [{"unread": 0, "ids": None}]
    assert received(ben.sio) == []
    assert notifications.unread_count(people.ben.id) == 1
    db.session.expire_all()
    assert second.id in {n.id for n in stored(people.ana) if n.read_at is not None}
