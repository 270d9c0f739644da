"""Calendar files: what calendar apps read from a booking's .ics and from the private feed."""

import base64
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from icalendar import Calendar
from sqlalchemy import select

from peerlearn.extensions import db
from peerlearn.models import OutboundEmail
from peerlearn.services import booking as booking_service
from peerlearn.services import calendar
from peerlearn.services import sessions as session_service
from tests.factories import SessionFactory

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
START = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", name="Asha Raman", email="asha@example.com")


@pytest.fixture
def session(mentor):
    return SessionFactory(
        mentor=mentor,
        title="Pandas for messy data",
        description="Cleaning a real export, live.",
        starts_at=START,
        duration_minutes=90,
    )


def events(ics_bytes):
    return list(Calendar.from_ical(ics_bytes).walk("VEVENT"))


def test_booking_ics_has_utc_times_a_stable_uid_and_the_join_link(session, make_user):
    booking, _ = booking_service.book(session.id, make_user())
    body = calendar.booking_ics(booking)
    [event] = events(body)

    assert event.decoded("dtstart") == START and event.decoded("dtstart").utcoffset() == timedelta(0)
    assert event.decoded("dtend") == START + timedelta(minutes=90)
    assert b"DTSTART:20261201T130000Z" in body
    assert str(event["summary"]) == "Pandas for messy data"
    assert str(event["status"]) == "CONFIRMED" and event.decoded("sequence") == 1
    session_url = f"http://localhost/sessions/{session.id}"  # the testing PUBLIC_BASE_URL
    assert str(event["url"]) == session_url
    description = str(event["description"])
    assert "Asha Raman" in description and f"Join: {session_url}" in description
    assert event["organizer"].params["cn"] == "Asha Raman"
    assert "asha@example.com" not in body.decode()  # the mentor's own address stays private
    assert str(event["uid"]) == f"booking-{booking.id}@localhost"
    assert str(events(calendar.booking_ics(booking))[0]["uid"]) == str(event["uid"])


def test_a_new_time_keeps_the_uid_and_raises_the_sequence(session, mentor, make_user):
    booking, _ = booking_service.book(session.id, make_user())
    [before] = events(calendar.booking_ics(booking))
    session_service.update_session(mentor, session.id, {"starts_at": START + timedelta(days=1)})
    db.session.refresh(booking)
    [after] = events(calendar.booking_ics(booking))
    assert str(after["uid"]) == str(before["uid"])
    assert after.decoded("sequence") == before.decoded("sequence") + 1
    assert after.decoded("dtstart") == START + timedelta(days=1)


def test_cancelled_and_held_bookings_say_so(app, session, make_user):
    learner = make_user()
    booking, _ = booking_service.book(session.id, learner)
    booking_service.cancel(booking, learner)
    [event] = events(calendar.booking_ics(booking))
    assert str(event["status"]) == "CANCELLED" and event.decoded("sequence") == 2

    paid = SessionFactory(mentor=session.mentor, price_paise=49900)
    held, _ = booking_service.book(paid.id, learner)
    [event] = events(calendar.booking_ics(held))
    assert str(event["status"]) == "TENTATIVE"


def test_feed_lists_upcoming_seats_and_a_mentors_own_sessions(session, mentor, make_user):
    learner = make_user(name="Rohan Gupta")
    booked, _ = booking_service.book(session.id, learner)
    cancelled_session = SessionFactory(mentor=mentor, title="Called off")
    gone, _ = booking_service.book(cancelled_session.id, learner)
    booking_service.cancel(gone, learner)
    SessionFactory(mentor=mentor, title="Finished", status="completed", starts_at=NOW - timedelta(days=2))
    SessionFactory(mentor=mentor, title="Private draft", status="draft")

    feed = Calendar.from_ical(calendar.feed_ics(learner))
    assert str(feed["x-wr-calname"]) == "PeerLearn · Rohan Gupta"
    assert feed.decoded("refresh-interval") == timedelta(hours=1)
    assert [str(e["summary"]) for e in feed.walk("VEVENT")] == ["Pandas for messy data"]
    assert str(feed.walk("VEVENT")[0]["uid"]) == str(events(calendar.booking_ics(booked))[0]["uid"])

    mentor_feed = Calendar.from_ical(calendar.feed_ics(mentor))
    titles = sorted(str(e["summary"]) for e in mentor_feed.walk("VEVENT"))
    assert titles == ["Called off", "Pandas for messy data"]
    assert "1 of 5 seats booked" in str(mentor_feed.walk("VEVENT")[1]["description"])


def test_feed_drops_a_session_once_it_has_ended(session, make_user):
    learner = make_user()
    booking_service.book(session.id, learner)
    with time_machine.travel(START + timedelta(minutes=30), tick=False):
        assert len(events(calendar.feed_ics(learner))) == 1  # in progress
    with time_machine.travel(START + timedelta(hours=2), tick=False):
        assert events(calendar.feed_ics(learner)) == []


def test_tokens_are_created_once_replaced_on_demand_and_resolve_only_active_users(make_user):
    user = make_user()
    assert user.calendar_token is None
    token = calendar.ensure_calendar_token(user)
    assert len(token) >= 43 and calendar.ensure_calendar_token(user) == token
    assert calendar.user_for_calendar_token(token).id == user.id

    replaced = calendar.regenerate_calendar_token(user)
    assert replaced != token
    assert calendar.user_for_calendar_token(token) is None
    assert calendar.user_for_calendar_token(replaced).id == user.id

    user.suspended_at = NOW
    db.session.commit()
    assert calendar.user_for_calendar_token(replaced) is None
    for garbage in (None, "", "short", "x" * 65, 42):
        assert calendar.user_for_calendar_token(garbage) is None


def _description_and_alarm(ics_bytes, index=0):
    event = events(ics_bytes)[index]
    return str(event["description"]), str(event.walk("VALARM")[0]["description"])


def test_a_hindi_readers_download_and_feed_are_in_hindi_and_an_english_readers_are_not(
    session, mentor, make_user, client, auth
):
    hindi = make_user(name="Priya Shah", email="priya@example.com", locale="hi")
    english = make_user(name="Rohan Gupta", email="rohan@example.com")
    hindi_booking, _ = booking_service.book(session.id, hindi)
    booking_service.book(session.id, english)
    mentor.locale = "hi"
    db.session.commit()
    session_url = f"http://localhost/sessions/{session.id}"

    # The download speaks the signed-in reader's language.
    auth.login(hindi.email)
    download = client.get(f"/bookings/{hindi_booking.id}.ics", headers={"Accept-Language": "en"})
    description, alarm = _description_and_alarm(download.data)
    assert "PeerLearn पर Asha Raman के साथ लाइव सेशन।" in description
    assert f"जुड़ें: {session_url}" in description and "Join:" not in description
    assert alarm == "PeerLearn सेशन जल्द शुरू होने वाला है"
    assert b"DTSTART:20261201T130000Z" in download.data  # dates stay iCalendar's
    auth.logout()

    # The feed is fetched by a calendar app: no cookie, an English Accept-Language, and still
    # the owner's language.
    feeds = {}
    for user in (hindi, english, mentor):
        token = calendar.ensure_calendar_token(user)
        response = client.get(f"/calendar/{token}.ics", headers={"Accept-Language": "en"})
        feeds[user.email] = Calendar.from_ical(response.data)
    hindi_feed = feeds[hindi.email]
    assert str(hindi_feed["x-wr-caldesc"]) == "PeerLearn पर आपके आने वाले सेशन।"
    assert "लाइव सेशन" in str(hindi_feed.walk("VEVENT")[0]["description"])

    english_feed = feeds[english.email]
    assert str(english_feed["x-wr-caldesc"]) == "Your upcoming PeerLearn sessions."
    [event] = english_feed.walk("VEVENT")
    assert str(event["description"]).startswith(
        f"Live session with Asha Raman on PeerLearn.\n\nJoin: {session_url}"
    )
    assert str(event.walk("VALARM")[0]["description"]) == "PeerLearn session starting soon"

    [taught] = feeds[mentor.email].walk("VEVENT")
    assert str(taught["description"]).startswith("यह सेशन आप PeerLearn पर पढ़ा रहे हैं। 5 में से 2 सीटें बुक हैं।")


def test_the_confirmation_emails_calendar_file_is_in_the_learners_language(session, make_user):
    hindi = make_user(name="Priya Shah", locale="hi")
    booking_service.book(session.id, hindi)  # no request: the learner's language is the email's

    email = db.session.scalar(select(OutboundEmail).where(OutboundEmail.to_address == hindi.email))
    [attachment] = email.attachments
    assert attachment["content_type"] == "text/calendar"
    [event] = events(base64.b64decode(attachment["data_b64"]))
    assert str(event["description"]).startswith("PeerLearn पर Asha Raman के साथ लाइव सेशन।")
