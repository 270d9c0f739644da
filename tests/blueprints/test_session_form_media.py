"""The session form warns a mentor who offers more seats than a browser-to-browser room carries
cameras for (without stopping them), and says nothing where Janus carries the room."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from peerlearn.extensions import db
from peerlearn.models import LearningSession, utcnow
from tests.conftest import extract_csrf
from tests.factories import make_session

WARNING = re.compile(r'<div[^>]*data-testid="seat-warning"[^>]*>(.*?)</div>', re.S)
JANUS = {"name": "main", "api": "http://127.0.0.1:8088/janus", "admin": "", "public": "ws://127.0.0.1:8188"}


@pytest.fixture
def mentor(make_user, auth):
    user = make_user(role="mentor", email="asha@example.com", name="Asha Raman")
    auth.login(user.email)
    return user


def warning(html):
    """(shown when the page loads, its words), or None when the page has no warning at all."""
    match = WARNING.search(html)
    if match is None:
        return None
    return 'style="display: none"' not in match.group(0)[: match.group(0).index(">")], match.group(1)


def form_data(client, path, **overrides):
    data = {
        "csrf_token": extract_csrf(client.get(path).get_data(as_text=True)),
        "title": "Pandas for messy data",
        "category": "Data & AI",
        "level": "all",
        "language": "English",
        "start_date": (utcnow() + timedelta(days=3)).strftime("%Y-%m-%d"),
        "start_time": "18:30",
        "duration_minutes": "60",
        "capacity": "8",
        "price": "0",
        "action": "draft",
    }
    data.update(overrides)
    return data


def test_with_browser_to_browser_rooms_many_seats_bring_the_warning(client, mentor):
    shown, words = warning(client.get("/teach/sessions/new").get_data(as_text=True))
    assert shown is False  # one seat by default: nothing to warn about yet, but ready for typing
    words = " ".join(words.split())
    assert "Rooms on this site carry at most 4 cameras." in words
    assert "with more than 3 learners the room runs as a stage" in words
    assert "learners join with camera and microphone off and speak when you bring them on stage" in words
    assert "at most 4 on stage at once, you included" in words
    assert "Installing the Janus media server on this site lifts this limit" in words

    # A form sent back for another reason shows it at once for 8 seats.
    response = client.post("/teach/sessions/new", data=form_data(client, "/teach/sessions/new", title=""))
    assert response.status_code == 422
    assert warning(response.get_data(as_text=True))[0] is True
    response = client.post("/teach/sessions/new", data=form_data(client, "/teach/sessions/new", capacity="3"))
    assert response.status_code == 303


def test_the_warning_never_stops_the_mentor(client, mentor):
    response = client.post("/teach/sessions/new", data=form_data(client, "/teach/sessions/new"))
    assert response.status_code == 303
    [saved] = db.session.scalars(select(LearningSession).where(LearningSession.mentor_id == mentor.id))
    assert saved.capacity == 8


@pytest.mark.parametrize(("capacity", "shown"), [(3, False), (4, True), (12, True)])
def test_editing_shows_it_from_the_stored_seat_count(client, mentor, capacity, shown):
    session = make_session(mentor, capacity=capacity)
    html = client.get(f"/teach/sessions/{session.id}/edit").get_data(as_text=True)
    assert warning(html)[0] is shown


def test_the_limit_follows_the_setting(app, client, mentor):
    app.config["MESH_MAX_CAMERAS"] = 6
    session = make_session(mentor, capacity=5)
    shown, words = warning(client.get(f"/teach/sessions/{session.id}/edit").get_data(as_text=True))
    assert shown is False and "at most 6 cameras" in words and "more than 5 learners" in words
    session = make_session(mentor, capacity=6)
    assert warning(client.get(f"/teach/sessions/{session.id}/edit").get_data(as_text=True))[0] is True


def test_where_janus_carries_the_rooms_there_is_no_warning(app, client, mentor):
    app.config["JANUS_INSTANCES"] = [JANUS]
    session = make_session(mentor, capacity=30)
    for path in ("/teach/sessions/new", f"/teach/sessions/{session.id}/edit"):
        html = client.get(path).get_data(as_text=True)
        assert warning(html) is None and "seatWarning" not in html and "cameras" not in html
    response = client.post("/teach/sessions/new", data=form_data(client, "/teach/sessions/new", title=""))
    assert response.status_code == 422 and warning(response.get_data(as_text=True)) is None
