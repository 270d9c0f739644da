"""A learner's request is private: the session a mentor makes from it carries the request's topic
and message, so it is never listed publicly, before or after its learner books."""

from datetime import timedelta

import pytest

from peerlearn.models import utcnow
from peerlearn.services import search
from peerlearn.services import session_requests as service

TOPIC = "Help me prepare for my visa interview"


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", name="Asha Raman", email="asha@example.com", hourly_rate_paise=0)


def booked_request_session(mentor, learner):
    starts = (utcnow() + timedelta(days=20)).replace(second=0, microsecond=0)
    req = service.create_request(
        learner,
        mentor.id,
        {"topic": TOPIC, "message": "Private details.", "preferred_times": [starts.isoformat()]},
    )
    req, session = service.accept(mentor, req.id, {"price_paise": 0})
    _req, booking, _ = service.confirm(learner, req.id)
    assert booking.status == "confirmed"
    return req, session


def test_a_booked_request_session_is_not_on_the_mentors_public_profile(client, mentor, make_user):
    _req, session = booked_request_session(mentor, make_user())
    assert session.id not in [s.id for s in search.upcoming_sessions_of(mentor.id)]
    page = client.get(f"/mentors/{mentor.id}").get_data(as_text=True)
    assert TOPIC not in page and "Private details." not in page


def test_it_stays_out_of_the_catalog_after_the_requests_window_closes(mentor, make_user):
    req, session = booked_request_session(mentor, make_user())
    after_window = req.expires_at + timedelta(minutes=1)
    assert after_window < session.starts_at
    params = search.parse_search_params({"q": "visa interview"})
    listed = search.search_sessions(params, viewer=make_user(), now=after_window)[0]
    assert session.id not in [s.id for s in listed]
    assert session.id not in [s.id for s in search.featured_sessions(now=after_window)]
