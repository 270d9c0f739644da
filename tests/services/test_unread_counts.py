"""The bell's unread count is kept per user between changes, and every change to a user's
notifications (written, read, taken back, or any other write to the table) shows in the next
count, in this process and, through Redis, in every other one."""

import pytest
from sqlalchemy import text, update

from peerlearn.extensions import db
from peerlearn.models import Notification, NotificationKind, User, utcnow
from peerlearn.services import notifications
from peerlearn.services.notifications import counts
from tests.factories import UserFactory
from tests.support.statements import counting_statements
from tests.support.two_apps import two_apps_sharing_redis


def tell(user, title="Seat booked", collapse_key=None):
    note, _email = notifications.notify(
        user, NotificationKind.BOOKING_CONFIRMED, title=title, collapse_key=collapse_key
    )
    db.session.commit()
    return note


def kept_count(user_id):
    """The count, and whether it was read from the database."""
    with counting_statements() as statements:
        value = notifications.unread_count(user_id)
    return value, bool(statements)


def test_the_count_is_kept_until_the_users_notifications_change(app, make_user):
    learner, other = make_user(), make_user()
    assert kept_count(learner.id) == (0, True)
    assert kept_count(learner.id) == (0, False)  # kept

    note = tell(learner)
    assert kept_count(learner.id) == (1, True)
    assert kept_count(learner.id) == (1, False)

    tell(other)  # someone else's: the learner's count stays kept
    assert kept_count(learner.id) == (1, False)
    assert kept_count(other.id) == (1, True)

    # (Marking read tells the open pages the new count: it may be counted there already.)
    notifications.mark_read(learner.id, [note.id])
    assert kept_count(learner.id)[0] == 0
    tell(learner, "Two")
    tell(learner, "Three")
    assert kept_count(learner.id) == (2, True)
    notifications.mark_read(learner.id)
    assert kept_count(learner.id)[0] == 0
    assert kept_count(other.id) == (1, False)


def test_a_notification_taken_back_leaves_the_count(app, make_user):
    mentor = make_user(role="mentor")
    tell(mentor, "New follower", collapse_key="follow:1")
    assert notifications.unread_count(mentor.id) == 1
    notifications.retract(mentor.id, "follow:1")
    db.session.commit()
    assert kept_count(mentor.id)[0] == 0


def test_a_write_rolled_back_keeps_the_count(app, make_user):
    learner = make_user()
    tell(learner)
    assert notifications.unread_count(learner.id) == 1
    notifications.notify(learner, NotificationKind.BOOKING_CONFIRMED, title="Never committed")
    db.session.flush()
    db.session.rollback()
    assert kept_count(learner.id) == (1, False)


def test_writes_that_name_no_user_make_every_count_stale(app, make_user):
    first, second = make_user(), make_user()
    tell(first)
    tell(second)
    assert (notifications.unread_count(first.id), notifications.unread_count(second.id)) == (1, 1)

    # A bulk statement without ``unread_of``: whose notifications it changed is not known.
    db.session.execute(update(Notification).where(Notification.user_id == first.id).values(read_at=utcnow()))
    db.session.commit()
    assert kept_count(first.id) == (0, True)
    assert kept_count(second.id) == (1, True)

    db.session.execute(text("UPDATE notifications SET read_at = NULL"))
    db.session.commit()
    assert kept_count(first.id) == (1, True)


def test_the_bell_and_the_api_show_a_new_notification_at_once(client, auth, make_user):
    learner = make_user(email="bell@example.com")
    auth.login("bell@example.com")
    assert client.get("/api/notifications/").get_json()["data"]["unread_count"] == 0
    assert 'data-unread="0"' in client.get("/notifications").text
    tell(db.session.get(User, learner.id))
    assert client.get("/api/notifications/").get_json()["data"]["unread_count"] == 1
    assert 'data-unread="1"' in client.get("/notifications").text
    unread = client.get("/api/notifications/?unread=1").get_json()["data"]
    assert unread["unread_count"] == unread["pagination"]["total"] == len(unread["items"]) == 1


def test_the_kept_counts_stay_bounded(app, monkeypatch):
    monkeypatch.setattr(counts, "MAX_USERS", 8)
    store = counts.UnreadCounts()
    for user_id in range(1, 30):
        assert store.get(user_id, lambda user_id=user_id: user_id) == user_id
    assert len(store._counts) <= 8
    assert store.get(29, lambda: -1) == 29  # the latest is still kept


# ------------------------------------------------------------------- two processes, one Redis


@pytest.fixture
def two_processes(tmp_path, redis_url):
    """Two apps on one database file, each with its own store and the versions in Redis."""
    with two_apps_sharing_redis(tmp_path, redis_url) as apps:
        yield apps


def test_a_notification_written_in_one_process_counts_in_the_other_at_once(two_processes):
    _, second = two_processes
    learner = UserFactory()
    learner_id = learner.id
    with second.app_context():
        assert kept_count(learner_id) == (0, True)
        assert kept_count(learner_id) == (0, False)  # kept in Redis for the second process

    note = tell(learner)  # in the first process

    with second.app_context():
        assert kept_count(learner_id) == (1, True)
    assert kept_count(learner_id) == (1, False)  # the count is kept in Redis for both
    with second.app_context():
        notifications.mark_read(learner_id, [note.id])
    assert kept_count(learner_id)[0] == 0  # read in the second, seen by the first


def test_while_redis_is_away_the_count_is_read_fresh(app, make_user):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    counts.init_app(app)
    learner = make_user()
    assert kept_count(learner.id) == (0, True)
    # A change the database session cannot see still shows: nothing is kept.
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO notifications (user_id, kind, title, body, url, data, created_at)"
                " VALUES (:user, 'booking_confirmed', 'Raw', '', '', '{}', :now)"
            ),
            {"user": learner.id, "now": utcnow()},
        )
    assert kept_count(learner.id) == (1, True)
