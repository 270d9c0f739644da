"""Once a session is over, every page says so: the session page, "Live now" badges, the
dashboards' countdowns and the "live now, join" notifications, for the mentor and the learners."""

import json
import re
from datetime import timedelta

import pytest

from peerlearn.extensions import db
from peerlearn.models import LearningSession, utcnow
from peerlearn.services import booking as booking_service
from peerlearn.services import room as room_service
from peerlearn.services import sessions as session_service
from tests.factories import make_session


@pytest.fixture
def live(make_user, time_machine):
    """A free session that started ten minutes ago, with one booked learner, and its mentor live
    (in the room since the start)."""
    now = utcnow().replace(microsecond=0)
    time_machine.move_to(now, tick=False)
    mentor = make_user(email="mentor@example.com", role="mentor", name="Meera Mentor")
    learner = make_user(email="ana@example.com", name="Ana Learner")
    session = make_session(mentor, starts_at=now + timedelta(minutes=30), title="Practical Flask")
    booking_service.book(session.id, learner)
    time_machine.move_to(now + timedelta(minutes=40), tick=False)
    room_service.start(mentor, session.id)
    room_service.record_join(session.id, mentor.id, "sid-mentor", now=session.starts_at)
    return session


def page(client, path):
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def row(html, attribute, value):
    """One <li> of a dashboard list."""
    match = re.search(rf'<li[^>]*{attribute}="{value}".*?</li>', html, re.S)
    assert match, f"no row with {attribute}={value}"
    return match.group(0)


def timer(html):
    match = re.search(r"x-data=\"countdown\" data-config='([^']+)'", html)
    assert match, "no countdown"
    return json.loads(match.group(1))


def end(session):
    """End for all once the mentor has been there long enough for it to count as held."""
    ended = room_service.end(session.mentor, session.id, now=session.starts_at + timedelta(minutes=45))
    assert ended.status == "completed"
    session_service.announce_completed(ended)


def api_items(client, token):
    """The learner's "live now" notifications, as the API lists them."""
    response = client.get(
        "/api/notifications/?kind=session_started", headers={"Authorization": f"Bearer {token}"}
    )
    return response.get_json()["data"]["items"]


def test_while_live_the_pages_say_live_and_offer_the_room(client, auth, live):
    assert "Live now" in page(client, "/sessions")  # its card in the catalog
    auth.login("ana@example.com")
    detail = page(client, f"/sessions/{live.id}")
    assert "Live now." in detail and "Join the room" in detail
    home = row(page(client, "/learn"), "data-booking-id", r"\d+")
    assert "Join the room" in home
    assert timer(home)["status"] == "live" and timer(home)["sessionId"] == live.id
    auth.logout()

    auth.login("mentor@example.com")
    assert "Enter the room" in page(client, f"/sessions/{live.id}")
    today = row(page(client, "/teach"), "data-session-id", live.id)
    assert "Enter the room" in today and timer(today)["status"] == "live"


def test_after_end_for_all_the_session_page_says_it_ended(client, auth, live):
    end(live)
    for email in ("ana@example.com", "mentor@example.com"):
        auth.login(email)
        detail = page(client, f"/sessions/{live.id}")
        assert "This session has ended." in detail
        stale = ("Live now", "Join the room", "Enter the room", ">Go live<", '"countdown"', "hasn't started")
        assert [text for text in stale if text in detail] == [], email
        auth.logout()


def test_after_end_for_all_the_dashboards_drop_the_room(client, auth, live):
    end(live)
    auth.login("ana@example.com")
    home = page(client, "/learn")
    upcoming = home[home.index('id="upcoming-heading"') : home.index('id="history-heading"')]
    assert "Practical Flask" not in upcoming
    # It moved to the history, as a seat she did not use.
    history = home[home.index('id="history-heading"') : home.index('id="skills-heading"')]
    assert "Practical Flask" in history and "Missed" in history
    assert f"/sessions/{live.id}/room" not in home
    auth.logout()
    auth.login("mentor@example.com")
    home = page(client, "/teach")
    assert f'data-session-id="{live.id}"' not in home and f"/sessions/{live.id}/room" not in home


def test_a_live_session_whose_room_closed_is_not_live_anywhere(client, auth, live, time_machine):
    # Nobody ended it and the sweep has not run yet: its status still says live.
    time_machine.move_to(live.ends_at + timedelta(minutes=31), tick=False)
    assert db.session.get(LearningSession, live.id).status == "live"

    catalog = page(client, "/sessions")
    assert "Practical Flask" in catalog and "Live now" not in catalog  # its card, without the badge
    auth.login("ana@example.com")
    detail = page(client, f"/sessions/{live.id}")
    assert "This session has ended." in detail and "Live now" not in detail and "Join the room" not in detail
    auth.logout()

    auth.login("mentor@example.com")
    detail = page(client, f"/sessions/{live.id}")
    assert "This session has ended." in detail and "Enter the room" not in detail
    today = row(page(client, "/teach"), "data-session-id", live.id)
    assert "Enter the room" not in today and ">Go live<" not in today
    # Its countdown is handed times that are all past: the component shows "Ended".
    assert timer(today)["closesAt"] == room_service.closes_at(live).isoformat()
    listed = row(page(client, "/teach/sessions"), "data-session-id", live.id)
    assert ">completed<" in listed and ">live<" not in listed


def test_the_live_now_notification_reads_as_ended_once_the_session_is_over(client, auth, api_token, live):
    token = api_token("ana@example.com")
    [item] = api_items(client, token)
    assert item["kind"] == "session_started" and item["ended"] is False
    assert item["title"] == "Live now: Practical Flask" and item["url"] == f"/sessions/{live.id}/room"
    auth.login("ana@example.com")
    center = page(client, "/notifications?show=sessions")
    assert f'href="/sessions/{live.id}/room"' in center and "Live now: Practical Flask" in center

    end(live)

    [item] = api_items(client, token)
    assert item["ended"] is True
    assert item["title"] == "Ended: Practical Flask"
    assert item["body"] == "“Practical Flask” with Meera Mentor has ended."
    assert item["url"] == f"/sessions/{live.id}" and item["data"] == {"session_id": live.id}
    center = page(client, "/notifications?show=sessions")
    assert "Ended: Practical Flask" in center and "has ended." in center
    assert "/room" not in center and "Join the room" not in center
    assert "Live now: Practical Flask" not in center


def test_a_cancelled_sessions_notification_says_so(client, api_token, live):
    session_service.cancel_session(live.mentor, live.id, reason="Unwell")
    [item] = api_items(client, api_token("ana@example.com"))
    assert item["ended"] is True and item["title"] == "Cancelled: Practical Flask"
    assert item["url"] == f"/sessions/{live.id}"


def test_an_unswept_session_past_its_room_also_ends_its_notification(client, api_token, live, time_machine):
    token = api_token("ana@example.com")
    time_machine.move_to(live.ends_at + timedelta(minutes=29), tick=False)
    assert api_items(client, token)[0]["ended"] is False
    time_machine.move_to(live.ends_at + timedelta(minutes=30), tick=False)
    [item] = api_items(client, token)
    assert item["ended"] is True and "/room" not in item["url"]


def test_a_live_notice_carries_its_ended_version_for_the_page_to_switch_to(client, auth, live):
    """The center words the ended version too, hidden, so the page can switch when the session
    ends while it is open (the socket's session:ended)."""
    auth.login("ana@example.com")
    center = page(client, "/notifications")
    assert f"sessionEnded({live.id})" in center
    hidden = re.search(r'x-show="sessionEnded\(\d+\)" style="display: none">(.*?)</div>', center, re.S)
    assert hidden and "Ended: Practical Flask" in hidden.group(1) and "/room" not in hidden.group(1)
