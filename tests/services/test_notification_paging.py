"""The notification centre reads a page of notifications at a time in SQL: the pages together
hold every notification once, newest first, and the page shows the second page's rest."""

from datetime import timedelta

import pytest

from peerlearn.extensions import db
from peerlearn.models import Notification, NotificationKind, utcnow
from peerlearn.services import notifications


@pytest.fixture
def user_with_notifications(app, make_user):
    user, now = make_user(), utcnow()
    for minutes in (5, 1, 3, 3, 2, 4, 0):  # two at the same time: the id breaks the tie
        db.session.add(
            Notification(
                user_id=user.id,
                kind=NotificationKind.BOOKING_CONFIRMED.value,
                title=f"Booked {minutes} minutes ago",
                created_at=now - timedelta(minutes=minutes),
            )
        )
    db.session.commit()
    return user


def test_pages_hold_every_notification_newest_first(user_with_notifications):
    user = user_with_notifications
    pages = [notifications.notifications_for(user.id, page=n, per_page=3) for n in (1, 2, 3)]
    titles = [note.title for page in pages for note in page.items]
    assert titles == [f"Booked {m} minutes ago" for m in (0, 1, 2, 3, 3, 4, 5)]
    tied = [note.id for page in pages for note in page.items if note.title == "Booked 3 minutes ago"]
    assert tied == sorted(tied, reverse=True)
    assert [(p.total, p.pages, p.has_next) for p in pages] == [(7, 3, True), (7, 3, True), (7, 3, False)]


def test_the_centre_shows_the_rest_on_its_second_page(client, auth, user_with_notifications, monkeypatch):
    from peerlearn.blueprints.notifications import routes

    monkeypatch.setattr(routes, "NOTIFICATIONS_PER_PAGE", 4)
    auth.login(user_with_notifications.email)
    first = client.get("/notifications").get_data(as_text=True)
    assert first.count("data-notification-id=") == 4 and "Page 1 of 2" in first
    second = client.get("/notifications?page=2").get_data(as_text=True)
    assert second.count("data-notification-id=") == 3 and "Page 2 of 2" in second
    assert "Booked 5 minutes ago" in second and "Booked 5 minutes ago" not in first


def test_a_first_page_knows_the_total_whether_it_is_short_full_or_exact(user_with_notifications):
    user = user_with_notifications
    assert [notifications.notifications_for(user.id, per_page=n).total for n in (8, 7, 3)] == [7, 7, 7]
    newest = notifications.notifications_for(user.id, per_page=2).items
    notifications.mark_read(user.id, [note.id for note in newest])
    unread = [notifications.notifications_for(user.id, unread=True, per_page=n) for n in (6, 5, 2)]
    assert [(len(page.items), page.total) for page in unread] == [(5, 5), (5, 5), (2, 5)]
    assert all(note.read_at is None for page in unread for note in page.items)
