"""A learner's request is private, and so is the session a mentor makes from it: that session is
titled with the request's topic and described with its message. Nobody but that learner, the
mentor (and admins) reads them anywhere: the session's page and API, reviews of it on the
mentor's profile and reviews page (and API), the catalog, search, the landing page, the mentor
directory's next session, the mentor's upcoming sessions, followers' lists and recommendations."""

import json
from datetime import timedelta

import pytest

from peerlearn.extensions import db
from peerlearn.models import Booking, Review, utcnow
from peerlearn.services import follows, recommendations, reviews
from peerlearn.services import session_requests as service
from tests import factories
from tests.conftest import AuthActions

TOPIC = "Help me prepare for my visa interview"
MESSAGE = "My interview is on the 14th at the consulate."
NEUTRAL = "On a 1:1 session arranged on request"


@pytest.fixture
def people(make_user):
    return {
        "mentor": make_user(
            role="mentor", name="Asha Raman", email="asha@example.com", headline="Coach", hourly_rate_paise=0
        ),
        "learner": make_user(name="Ravi Kumar", email="ravi@example.com"),
        "other": make_user(name="Other Learner", email="other@example.com"),
        "admin": make_user(role="admin", email="admin@example.com"),
    }


def request_session(people, *, days=20):
    """The session the mentor made from the learner's request, its seat taken by that learner."""
    starts = (utcnow() + timedelta(days=days)).replace(second=0, microsecond=0)
    req = service.create_request(
        people["learner"],
        people["mentor"].id,
        {"topic": TOPIC, "message": MESSAGE, "preferred_times": [starts.isoformat()]},
    )
    req, session = service.accept(
        people["mentor"], req.id, {"price_paise": 0, "category": "Career", "skills": ["Interviews"]}
    )
    _req, booking, _ = service.confirm(people["learner"], req.id)
    assert session.title == TOPIC and booking.status == "confirmed"
    return session, booking


def reviewed_request_session(people):
    """The request's session, held, attended and reviewed by its learner; and a public session
    of the same mentor, reviewed too."""
    session, booking = request_session(people)
    session.status = "completed"
    session.starts_at = utcnow() - timedelta(days=2)
    booking.status = "attended"
    public = factories.make_session(
        people["mentor"], title="Interview practice for everyone", status="completed",
        starts_at=utcnow() - timedelta(days=3),
    )  # fmt: skip
    public_booking = Booking(
        session_id=public.id, learner_id=people["other"].id, status="attended", amount_paise=0, currency="INR"
    )
    db.session.add(public_booking)
    db.session.flush()
    for held, held_booking, learner, body in (
        (session, booking, people["learner"], "Calm and thorough."),
        (public, public_booking, people["other"], "Useful drills."),
    ):
        db.session.add(
            Review(
                booking_id=held_booking.id,
                session_id=held.id,
                mentor_id=people["mentor"].id,
                learner_id=learner.id,
                rating=5,
                body=body,
            )
        )
    db.session.commit()
    return session


def page(client, auth, url, email=None):
    if email:
        auth.login(email)
    return client.get(url)


def private_words_in(text):
    return TOPIC in text or MESSAGE in text


# ------------------------------------------------------------------------------ reviews


@pytest.mark.parametrize("url", ["/mentors/{id}", "/mentors/{id}/reviews"])
@pytest.mark.parametrize("viewer", [None, "other@example.com", "admin@example.com"])
def test_reviews_name_the_session_only_as_on_request_to_others(client, auth, people, url, viewer):
    reviewed_request_session(people)
    html = page(client, auth, url.format(id=people["mentor"].id), viewer).get_data(as_text=True)
    assert "Calm and thorough." in html  # the review itself is public
    assert NEUTRAL in html and not private_words_in(html)
    assert "Interview practice for everyone" in html  # other sessions are still named


@pytest.mark.parametrize("viewer", ["ravi@example.com", "asha@example.com"])
def test_the_learner_and_the_mentor_see_the_title_in_reviews(client, auth, people, viewer):
    reviewed_request_session(people)
    html = page(client, auth, f"/mentors/{people['mentor'].id}/reviews", viewer).get_data(as_text=True)
    assert TOPIC in html and NEUTRAL not in html


def test_the_profiles_kept_reviews_still_name_the_session_to_its_learner_and_mentor(app, people):
    """The profile's latest reviews are drawn once for everyone and kept; those who took part in
    the private session still get it named for them."""
    reviewed_request_session(people)
    url = f"/mentors/{people['mentor'].id}"
    pages = {}
    for email in ("other@example.com", "ravi@example.com", "asha@example.com", "admin@example.com"):
        browser = app.test_client()
        AuthActions(browser).login(email)
        pages[email] = browser.get(url).get_data(as_text=True)
    for email in ("other@example.com", "admin@example.com"):
        assert NEUTRAL in pages[email] and not private_words_in(pages[email])
    for email in ("ravi@example.com", "asha@example.com"):
        assert TOPIC in pages[email] and NEUTRAL not in pages[email]


def test_reviews_api_names_the_session_only_to_its_learner(client, people, api_token):
    reviewed_request_session(people)
    url = f"/api/mentors/{people['mentor'].id}/reviews/"

    def titles(headers=None):
        items = client.get(url, headers=headers or {}).get_json()["data"]["items"]
        return sorted(item["session"]["title"] for item in items)

    assert titles() == [service.PRIVATE_SESSION_TITLE, "Interview practice for everyone"]
    other = {"Authorization": f"Bearer {api_token('other@example.com')}"}
    assert TOPIC not in json.dumps(client.get(url, headers=other).get_json())
    learner = {"Authorization": f"Bearer {api_token('ravi@example.com')}"}
    assert titles(learner) == [TOPIC, "Interview practice for everyone"]


def test_with_session_titles_hides_only_request_sessions(people):
    session = reviewed_request_session(people)
    items, _total = reviews.mentor_reviews(people["mentor"].id)
    shown = {r.session_id: r.session_title for r in reviews.with_session_titles(items, people["other"])}
    assert shown[session.id] is None and set(shown.values()) == {None, "Interview practice for everyone"}


# ------------------------------------------------------------------- the session itself


@pytest.mark.parametrize("viewer", [None, "other@example.com"])
def test_the_sessions_page_and_api_are_not_found_for_others(client, auth, people, viewer):
    session, _booking = request_session(people)
    for url in (
        f"/sessions/{session.id}",
        f"/api/sessions/{session.id}/",
        f"/api/sessions/{session.id}/reviews/",
    ):
        response = page(client, auth, url, viewer)
        assert response.status_code == 404, url
        assert not private_words_in(response.get_data(as_text=True))
        viewer = None  # signed in once is enough


@pytest.mark.parametrize("viewer", ["ravi@example.com", "asha@example.com", "admin@example.com"])
def test_the_sessions_page_opens_for_its_learner_mentor_and_admins(client, auth, people, viewer):
    session, _booking = request_session(people)
    response = page(client, auth, f"/sessions/{session.id}", viewer)
    assert response.status_code == 200 and TOPIC in response.get_data(as_text=True)


def test_an_ordinary_session_stays_public(client, people):
    session = factories.make_session(people["mentor"], title="Open interview clinic")
    assert client.get(f"/sessions/{session.id}").status_code == 200
    assert client.get(f"/api/sessions/{session.id}/").status_code == 200


# --------------------------------------------------------------------- every public list


def test_no_public_list_shows_the_request_session(client, auth, people):
    session, _booking = request_session(people)
    mentor_id = people["mentor"].id
    factories.make_session(people["mentor"], title="Open interview clinic", skills=["Interviews"])
    follows.follow(people["other"], mentor_id)
    recommendations.rebuild()
    public = [
        "/",
        "/sessions",
        "/sessions?q=visa+interview",
        "/mentors",
        "/mentors?q=Asha",
        f"/mentors/{mentor_id}",
        "/api/sessions/",
        "/api/sessions/?q=visa",
        "/api/mentors/",
        "/api/trending/",
    ]
    for url in public:
        body = client.get(url).get_data(as_text=True)
        assert not private_words_in(body), url
        assert f'/sessions/{session.id}"' not in body, url
    auth.login("other@example.com")
    for url in [
        "/",
        "/sessions",
        "/following",
        "/api/following/",
        "/api/recommendations/",
        f"/mentors/{mentor_id}",
    ]:
        body = client.get(url).get_data(as_text=True)
        assert not private_words_in(body), url
    # The lists do work: the mentor's public session is in them.
    assert "Open interview clinic" in client.get("/following").get_data(as_text=True)
    assert "Open interview clinic" in client.get(f"/mentors/{mentor_id}").get_data(as_text=True)
