"""The learning record's pages: "What happened" on the booking page once the session is over,
"Session history" on /learn (capped, with the whole history a link away), the mentor's record of
a session, who may open them, and a /learn whose statements do not grow with the history."""

import re
from datetime import timedelta

import pytest

from peerlearn.extensions import db
from peerlearn.models import ChatMessage, Gift
from tests.factories import make_session
from tests.support.reviews import NOW, past_session, seat, stay
from tests.support.statements import counting_statements


@pytest.fixture(autouse=True)
def frozen_clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", name="Meera Iyer", email="meera@example.com")


@pytest.fixture
def learner(make_user):
    return make_user(name="Kabir Shah", email="kabir@example.com")


@pytest.fixture
def held(mentor, learner):
    session = past_session(mentor, title="Window functions")
    booking = seat(session, learner)
    stay(session, mentor, 0, 60)
    stay(session, learner, 5, 50)
    db.session.add(
        ChatMessage(
            session_id=session.id,
            user_id=learner.id,
            body="Can you share the query?",
            created_at=session.starts_at + timedelta(minutes=7),
        )
    )
    db.session.add(
        Gift(
            session_id=session.id,
            sender_id=learner.id,
            mentor_id=mentor.id,
            amount_paise=12500,
            status="paid",
            message="For the examples",
            paid_at=session.starts_at + timedelta(minutes=40),
        )
    )
    db.session.commit()
    return booking


def section(html):
    match = re.search(r'<section[^>]*id="what-happened".*?</section>', html, re.S)
    return match.group(0) if match else None


def minutes_shown(html, user_id):
    return re.search(rf'data-user-id="{user_id}" data-minutes="(\d+)"', html).group(1)


def test_the_booking_page_shows_what_happened(client, auth, held, mentor, learner):
    auth.login("kabir@example.com")
    html = client.get(f"/bookings/{held.id}").get_data(as_text=True)

    record = section(html)
    assert record is not None
    assert minutes_shown(record, learner.id) == "45" and minutes_shown(record, mentor.id) == "60"
    assert "Can you share the query?" in record and 'data-chat="1"' in record
    assert "₹125" in record and "For the examples" in record
    assert "Nothing was recorded in this session." in record
    assert f'href="/sessions/{held.session_id}/review"' in record  # may review: 45 of 60 minutes


def test_no_section_before_the_session_has_ended(client, auth, mentor, learner):
    upcoming = make_session(mentor, starts_at=NOW + timedelta(days=1))
    booking = seat(upcoming, learner, status="confirmed")
    auth.login("kabir@example.com")
    html = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert section(html) is None


def test_learn_lists_the_history_newest_first_with_links_to_each_record(client, auth, mentor, learner):
    bookings = [
        seat(past_session(mentor, ended_minutes_ago=60 * 24 * d, title=f"Day {d}"), learner) for d in (2, 1)
    ]
    auth.login("kabir@example.com")
    html = client.get("/learn").get_data(as_text=True)

    history = re.search(r"<ul[^>]*data-history.*?</ul>", html, re.S).group(0)
    links = re.findall(r'href="/bookings/(\d+)#what-happened"', history)
    assert links == [str(bookings[1].id), str(bookings[0].id)]
    assert "See all your past sessions" not in html  # nothing more to see


def test_learn_caps_the_history_and_links_to_all_of_it(client, auth, mentor, learner):
    for days in range(1, 8):
        seat(past_session(mentor, ended_minutes_ago=60 * 24 * days, title=f"Day {days}"), learner)
    auth.login("kabir@example.com")

    html = client.get("/learn").get_data(as_text=True)
    assert html.count("#what-happened") == 5 and "See all your past sessions" in html

    everything = client.get("/learn/history").get_data(as_text=True)
    assert re.findall(r">Day (\d)</a>", everything) == [str(d) for d in range(1, 8)]


def test_empty_history_says_what_will_appear(client, auth, learner):
    auth.login("kabir@example.com")
    for path in ("/learn", "/learn/history"):
        html = client.get(path).get_data(as_text=True)
        assert "data-history-empty" in html and "appears here" in html


def test_learn_statements_do_not_grow_with_the_history(app, auth, client, mentor, learner):
    auth.login("kabir@example.com")
    client.get("/learn")  # what the first visit reads once and keeps (recommendations, fragments)
    counts = []
    for days in (1, 2, 3, 4, 5, 6, 7, 8):
        seat(past_session(mentor, ended_minutes_ago=60 * 24 * days, title=f"Day {days}"), learner)
        if days in (1, 8):
            with counting_statements() as statements:
                assert client.get("/learn").status_code == 200
            counts.append(len(statements))
    assert counts[0] == counts[1], counts


def test_the_mentor_sees_each_learner_of_the_session(client, auth, held, mentor, learner, make_user):
    no_show = make_user(name="Anika Rao")
    seat(held.session, no_show, status="no_show")
    auth.login("meera@example.com")

    past = client.get("/teach/sessions?tab=past").get_data(as_text=True)
    assert f'href="/teach/sessions/{held.session_id}/record"' in past

    html = client.get(f"/teach/sessions/{held.session_id}/record").get_data(as_text=True)
    table = re.search(r"<table[^>]*data-learners.*?</table>", html, re.S).group(0)
    assert minutes_shown(table, learner.id) == "45" and minutes_shown(table, no_show.id) == "0"
    assert "Missed" in table and "₹125" in table
    assert "Can you share the query?" in section(html)


def test_who_may_open_the_pages(client, auth, held, make_user):
    make_user(email="other@example.com")
    make_user(role="mentor", email="else@example.com")
    make_user(role="admin", email="ops@example.com")
    path = f"/teach/sessions/{held.session_id}/record"

    for email, status in (
        ("kabir@example.com", 404),
        ("other@example.com", 404),
        ("else@example.com", 404),
        ("ops@example.com", 200),
        ("meera@example.com", 200),
    ):
        auth.login(email)
        assert client.get(path).status_code == status, email
        auth.logout()
    auth.login("other@example.com")
    assert client.get(f"/bookings/{held.id}").status_code == 404


def test_the_admins_session_page_links_to_its_record(client, auth, held, make_user):
    make_user(role="admin", email="ops@example.com")
    auth.login("ops@example.com")
    html = client.get(f"/admin/sessions/{held.session_id}").get_data(as_text=True)
    assert f'href="/teach/sessions/{held.session_id}/record"' in html
