"""Reminders before a session: a day before and 15 minutes before, each once, at the current time."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from peerlearn.extensions import db
from peerlearn.models import Booking, Notification, OutboundEmail, SessionReminder, utcnow
from peerlearn.services import booking as booking_service
from peerlearn.services import reminders
from peerlearn.services import sessions as session_service
from peerlearn.tasks.periodic import run_all_once
from tests import factories

T0 = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


@pytest.fixture
def clock(time_machine):
    """Frozen time, moved by hand: ``clock(at)``."""
    time_machine.move_to(T0, tick=False)
    return lambda at: time_machine.move_to(at, tick=False)


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", name="Asha Raman")


def make_session(mentor, starts_at, **overrides):
    return factories.make_session(mentor, starts_at=starts_at, **overrides)


def sweep(clock, at):
    clock(at)
    return reminders.send_due_reminders()


def sent(learner=None):
    """(kind, start announced) of every reminder recorded, oldest first."""
    query = select(SessionReminder.kind, SessionReminder.starts_at).order_by(SessionReminder.id)
    if learner is not None:
        query = query.join(Booking, Booking.id == SessionReminder.booking_id).where(
            Booking.learner_id == learner.id
        )
    return [tuple(row) for row in db.session.execute(query)]


def reminder_emails(address):
    return list(
        db.session.scalars(
            select(OutboundEmail)
            .where(OutboundEmail.template == "session_reminder", OutboundEmail.to_address == address)
            .order_by(OutboundEmail.id)
        )
    )


def test_each_reminder_goes_once_at_its_time(clock, mentor, make_user):
    start = T0 + timedelta(days=3)
    session_id = make_session(mentor, start, title="Practical Flask").id
    learner = make_user(email="ravi@example.com", timezone="Asia/Kolkata")
    booking_service.book(session_id, learner)

    assert sweep(clock, start - timedelta(hours=24, seconds=1)) == 0
    assert sweep(clock, start - timedelta(hours=24)) == 1
    assert sweep(clock, start - timedelta(hours=23, minutes=59)) == 0
    assert sweep(clock, start - timedelta(hours=2)) == 0
    assert sweep(clock, start - timedelta(minutes=15, seconds=1)) == 0
    clock(start - timedelta(minutes=15))
    assert run_all_once()["send_reminders"] == 1  # the periodic sweep runs it (and ends the db session)
    assert sweep(clock, start - timedelta(minutes=1)) == 0
    assert sweep(clock, start + timedelta(minutes=1)) == 0

    assert sent() == [("24h", start), ("15m", start)]
    day_before, soon = reminder_emails("ravi@example.com")
    assert day_before.subject == "Starts in 24 hours: Practical Flask"
    assert soon.subject == "Starts in 15 minutes: Practical Flask"
    # The time in the learner's timezone (04:00 UTC is 9:30 AM in India), and the right link.
    assert "9:30 AM (Asia/Kolkata)" in day_before.text_body and "9:30 AM" in day_before.html_body
    assert f"/sessions/{session_id}\n" in day_before.text_body
    assert (
        f"/sessions/{session_id}/room" in soon.text_body and f"/sessions/{session_id}/room" in soon.html_body
    )
    assert day_before.unsubscribe_url and "Unsubscribe" in soon.text_body
    titles = list(
        db.session.scalars(select(Notification.title).where(Notification.kind == "session_reminder"))
    )
    assert titles == ["Starts in 24 hours: Practical Flask", "Starts in 15 minutes: Practical Flask"]


def test_two_sweeps_at_once_send_each_reminder_once(threaded_app, monkeypatch, mentor, make_user):
    start = utcnow() + timedelta(days=3)
    session = make_session(mentor, start, capacity=5)
    learners = [make_user() for _ in range(3)]
    for learner in learners:
        booking_service.book(session.id, learner)
    now = start - timedelta(minutes=15)

    # Both sweeps find the same reminders due before either records one.
    both_listed = threading.Barrier(2, timeout=10)
    find = reminders._candidates

    def listed_together(at):
        found = find(at)
        both_listed.wait()
        return found

    monkeypatch.setattr(reminders, "_candidates", listed_together)
    results, errors = [], []

    def run():
        try:
            with threaded_app.app_context():
                results.append(reminders.send_due_reminders(now))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert sorted(results) != [0, 0] and sum(results) == 3
    db.session.expire_all()
    assert db.session.scalar(select(func.count(SessionReminder.id))) == 3
    assert (
        db.session.scalar(
            select(func.count(OutboundEmail.id)).where(OutboundEmail.template == "session_reminder")
        )
        == 3
    )
    for learner in learners:
        assert len(reminder_emails(learner.email)) == 1


def test_a_rescheduled_session_is_reminded_of_the_new_time_only(clock, mentor, make_user):
    old_start = T0 + timedelta(hours=30)
    new_start = T0 + timedelta(hours=54)
    session = make_session(mentor, old_start)
    learner = make_user(email="ravi@example.com")
    booking_service.book(session.id, learner)

    assert sweep(clock, old_start - timedelta(hours=24)) == 1  # the day-before reminder, old time
    clock(T0 + timedelta(hours=7))
    session_service.update_session(mentor, session.id, {"starts_at": new_start})

    # Nothing fires at the old time's moments...
    assert sweep(clock, old_start - timedelta(minutes=15)) == 0
    assert sweep(clock, old_start - timedelta(minutes=1)) == 0
    # ...and the new time gets both reminders, once.
    assert sweep(clock, new_start - timedelta(hours=24)) == 1
    assert sweep(clock, new_start - timedelta(hours=23)) == 0
    assert sweep(clock, new_start - timedelta(minutes=15)) == 1
    assert sweep(clock, new_start - timedelta(minutes=5)) == 0
    assert sent() == [("24h", old_start), ("24h", new_start), ("15m", new_start)]


def test_a_reschedule_before_any_reminder_moves_them_all(clock, mentor, make_user):
    old_start = T0 + timedelta(hours=30)
    new_start = T0 + timedelta(hours=40)
    session = make_session(mentor, old_start)
    booking_service.book(session.id, make_user())
    clock(T0 + timedelta(hours=1))
    session_service.update_session(mentor, session.id, {"starts_at": new_start})

    assert sweep(clock, old_start - timedelta(hours=24)) == 0
    assert sweep(clock, new_start - timedelta(hours=24)) == 1
    assert sweep(clock, old_start - timedelta(minutes=15)) == 0
    assert sweep(clock, new_start - timedelta(minutes=15)) == 1
    assert sent() == [("24h", new_start), ("15m", new_start)]


def test_cancelled_sessions_and_bookings_get_none(clock, mentor, make_user):
    start = T0 + timedelta(days=2)
    called_off = make_session(mentor, start, title="Called off")
    dropped = make_session(mentor, start, title="Dropped")
    booking_service.book(called_off.id, make_user())
    learner = make_user()
    booking, _ = booking_service.book(dropped.id, learner)
    session_service.cancel_session(mentor, called_off.id)
    booking_service.cancel(booking, learner)

    for before in (timedelta(hours=24), timedelta(hours=3), timedelta(minutes=15), timedelta(minutes=1)):
        assert sweep(clock, start - before) == 0
    assert sent() == []
    assert not db.session.scalar(
        select(func.count(OutboundEmail.id)).where(OutboundEmail.template == "session_reminder")
    )


def test_a_late_booking_gets_only_the_reminders_still_ahead(clock, mentor, make_user):
    start = T0 + timedelta(days=2)
    session = make_session(mentor, start)
    three_hours_ahead, ten_minutes_ahead = make_user(), make_user()

    clock(start - timedelta(hours=3))
    booking_service.book(session.id, three_hours_ahead)
    assert sweep(clock, start - timedelta(hours=3)) == 0  # the confirmation just told them
    assert sweep(clock, start - timedelta(minutes=15)) == 1
    clock(start - timedelta(minutes=10))
    booking_service.book(session.id, ten_minutes_ahead)
    assert sweep(clock, start - timedelta(minutes=9)) == 0
    assert sent(three_hours_ahead) == [("15m", start)]
    assert sent(ten_minutes_ahead) == []


def test_a_day_before_reminder_that_is_too_late_is_skipped(clock, mentor, make_user):
    start = T0 + timedelta(days=2)
    session = make_session(mentor, start)
    booking_service.book(session.id, make_user())
    # No sweep ran between a day and an hour before (the server was down): only the 15-minute one.
    assert sweep(clock, start - timedelta(minutes=50)) == 0
    assert sweep(clock, start - timedelta(minutes=15)) == 1
    assert sent() == [("15m", start)]


def test_a_failing_reminder_does_not_stop_the_others(clock, monkeypatch, mentor, make_user):
    start = T0 + timedelta(days=2)
    session = make_session(mentor, start)
    first, second = make_user(), make_user()
    booking_service.book(session.id, first)
    booking_service.book(session.id, second)
    from peerlearn.services.notifications import events as notify

    real = notify.session_reminder

    def fails_for_first(booking, kind, now):
        if booking.learner_id == first.id:
            raise RuntimeError("template broke")
        return real(booking, kind, now)

    monkeypatch.setattr(notify, "session_reminder", fails_for_first)
    assert sweep(clock, start - timedelta(hours=24)) == 1
    assert sent(second) == [("24h", start)] and sent(first) == []
    monkeypatch.setattr(notify, "session_reminder", real)
    assert sweep(clock, start - timedelta(hours=23)) == 1  # retried on the next sweep
    assert sent(first) == [("24h", start)]
