"""One account, both sides: every account learns, any account turns teaching on from its profile
("Become a mentor", or POST /api/profile/teaching/), a mentor books other mentors' sessions but
never their own, and the navigation shows both sides when both are on."""

import re
from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import func, select

from peerlearn.extensions import db
from peerlearn.models import Booking, LearningSession, OutboundEmail, User
from peerlearn.services import stats
from peerlearn.services.admin import find_users
from tests.conftest import extract_csrf
from tests.factories import make_session

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def page(response):
    return response.get_data(as_text=True)


def main_nav(html):
    return re.search(r'<nav [^>]*aria-label="Main".*?</nav>', html, re.S).group(0)


def teach_form(client, **overrides):
    data = {
        "csrf_token": extract_csrf(page(client.get("/profile/teaching"))),
        "headline": "Data engineer · SQL and Airflow",
        "bio": "Pipelines that survive Mondays.",
        "hourly_rate": "750.50",
    }
    data.update(overrides)
    return data


def fresh(user):
    db.session.expire_all()
    return db.session.get(User, user.id)


# --- the journey the issue asks for ----------------------------------------------------------


def test_a_learner_turns_on_teaching_publishes_books_another_mentor_and_not_their_own(
    client, auth, make_user, api_token
):
    other_mentor = make_user(role="mentor", name="Asha Raman", email="asha@example.com")
    theirs = make_session(other_mentor, title="Pandas for messy data", price_paise=0)
    learner = make_user(name="Ravi Kumar", email="ravi@example.com")
    auth.login("ravi@example.com")
    refused = client.get("/teach")
    assert refused.status_code == 403 and "data-teach-invite" in page(refused)  # invited to teach
    nav = main_nav(page(client.get("/learn")))
    assert 'href="/profile/teaching"' in nav and "Teach on PeerLearn" in nav

    # Become a mentor, from the profile: headline, bio, rate in rupees.
    assert "Become a mentor" in page(client.get("/profile"))
    response = client.post("/profile/teaching", data=teach_form(client))
    assert response.status_code == 303 and response.headers["Location"].endswith("/teach")
    learner = fresh(learner)
    assert learner.teaching_enabled_at == NOW and learner.is_mentor and learner.is_learner
    assert learner.capabilities == ["learner", "mentor"] and learner.role == "mentor"
    assert learner.headline == "Data engineer · SQL and Airflow" and learner.hourly_rate_paise == 75050
    assert client.get("/teach").status_code == 200 and client.get("/learn").status_code == 200

    # Publish a session of their own.
    token = api_token("ravi@example.com")
    response = client.post(
        "/api/sessions/create/",
        json={
            "title": "Airflow from zero",
            "category": "Data & AI",
            "starts_at": "2026-12-01T18:30",
            "duration_minutes": 60,
            "capacity": 4,
            "price_paise": 29900,
            "publish": True,
        },
        headers=bearer(token),
    )
    assert response.status_code == 201 and response.get_json()["data"]["status"] == "scheduled"
    own_id = response.get_json()["data"]["id"]

    # Book another mentor's session, from the session page.
    box = page(client.get(f"/sessions/{theirs.id}"))
    assert f'action="/sessions/{theirs.id}/book"' in box
    token_ = extract_csrf(box)
    response = client.post(f"/sessions/{theirs.id}/book", data={"csrf_token": token_})
    assert response.status_code == 302 and "/bookings/" in response.headers["Location"]
    booking = db.session.scalar(select(Booking).where(Booking.learner_id == learner.id))
    assert booking.session_id == theirs.id and booking.status == "confirmed"

    # Their own session: no Book button, and booking it is refused (page and API).
    own_page = page(client.get(f"/sessions/{own_id}"))
    assert f'action="/sessions/{own_id}/book"' not in own_page and "This is your session" in own_page
    response = client.post(f"/api/sessions/{own_id}/book/", headers=bearer(token))
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "own_session"
    response = client.post(f"/sessions/{own_id}/book", data={"csrf_token": token_}, follow_redirects=True)
    assert "You can&#39;t book your own session." in page(response)
    assert db.session.scalar(select(func.count(Booking.id)).where(Booking.session_id == own_id)) == 0

    # Both sides, in the navigation and on the dashboards.
    nav = main_nav(page(client.get("/learn")))
    for href in ('href="/learn"', 'href="/bookings"', 'href="/teach"', 'href="/teach/sessions"'):
        assert href in nav
    assert 'href="/teach/earnings"' in nav and "Teach on PeerLearn" not in nav
    assert "Pandas for messy data" in page(client.get("/learn"))  # the booking, on the learner side
    assert "Airflow from zero" in page(client.get("/teach"))  # the session, on the mentor side
    switch = re.search(r"data-dashboard-switch.*?</nav>", page(client.get("/teach")), re.S).group(0)
    assert 'href="/learn"' in switch and re.search(r'href="/teach"[^>]*aria-current="page"', switch)


# --- Become a mentor -------------------------------------------------------------------------


def test_turning_teaching_on_twice_keeps_the_first_date(client, auth, make_user, frozen_clock):
    learner = make_user(email="ravi@example.com")
    auth.login("ravi@example.com")
    client.post("/profile/teaching", data=teach_form(client))
    frozen_clock.shift(3600)
    response = client.post("/profile/teaching", data=teach_form(client, headline="Airflow, mostly"))
    assert response.status_code == 303
    learner = fresh(learner)
    assert learner.teaching_enabled_at == NOW and learner.headline == "Airflow, mostly"
    html = page(client.get("/profile/teaching"))
    assert "You teach on PeerLearn" in html and 'href="/teach/payout-details"' in html


def test_becoming_a_mentor_needs_a_headline_a_valid_rate_and_a_confirmed_email(client, auth, make_user):
    learner = make_user(email="ravi@example.com")
    auth.login("ravi@example.com")
    html = page(client.get("/profile/teaching"))
    assert "Payout details (a UPI id or bank account) come later" in html
    response = client.post("/profile/teaching", data=teach_form(client, headline=""))
    assert response.status_code == 422 and "Say in a line what you teach." in page(response)
    response = client.post("/profile/teaching", data=teach_form(client, hourly_rate="12.345"))
    assert response.status_code == 422 and "Use at most two decimal places." in page(response)
    assert not fresh(learner).is_mentor

    newcomer = make_user(email="new@example.com")
    auth.logout()
    auth.login("new@example.com")
    # Signed in before confirming (only sessions from before confirmation was needed to sign in).
    newcomer.email_verified_at = None
    db.session.commit()
    response = client.post("/profile/teaching", data=teach_form(client))
    assert response.status_code == 403
    assert "Confirm your email address before you start teaching." in page(response)
    assert not db.session.scalar(select(User).where(User.email == "new@example.com")).is_mentor


def test_the_api_turns_teaching_on_once(client, make_user, api_token):
    make_user(email="ravi@example.com")
    token = api_token("ravi@example.com")
    assert client.post("/api/profile/teaching/", json={"headline": "SQL"}).status_code == 401

    response = client.post("/api/profile/teaching/", json={"headline": ""}, headers=bearer(token))
    assert response.status_code == 422 and "headline" in response.get_json()["error"]["fields"]
    response = client.post(
        "/api/profile/teaching/", json={"headline": "SQL", "role": "admin"}, headers=bearer(token)
    )
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "read_only_field"

    body = {"headline": "SQL tutor", "bio": "Ten years of queries.", "hourly_rate_paise": 60000}
    response = client.post("/api/profile/teaching/", json=body, headers=bearer(token))
    assert response.status_code == 201
    profile = response.get_json()["data"]
    assert profile["capabilities"] == ["learner", "mentor"] and profile["role"] == "mentor"
    assert profile["hourly_rate_paise"] == 60000 and profile["teaching_enabled_at"] == NOW.isoformat()
    response = client.post("/api/profile/teaching/", json=body, headers=bearer(token))
    assert (
        response.status_code == 200 and response.get_json()["data"]["teaching_enabled_at"] == NOW.isoformat()
    )
    assert client.get("/api/mentor-dashboard/", headers=bearer(token)).status_code == 200

    newcomer = make_user(email="new@example.com")
    newcomer_token = api_token("new@example.com")
    # Signed in before confirming (only sessions from before confirmation was needed to sign in).
    newcomer.email_verified_at = None
    db.session.commit()
    response = client.post("/api/profile/teaching/", json=body, headers=bearer(newcomer_token))
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "email_unverified"


# --- registration and the seed API's role values --------------------------------------------


@pytest.mark.parametrize(
    ("role", "capabilities"),
    [(None, ["learner"]), ("learner", ["learner"]), ("mentor", ["learner", "mentor"])],
)
def test_the_register_api_maps_role_to_capabilities(client, role, capabilities):
    body = {"email": "new@example.com", "password": "correct-horse-battery", "name": "New Person"}
    if role:
        body["role"] = role
    response = client.post("/api/register/", json=body)
    assert response.status_code == 201
    user = db.session.scalar(select(User).where(User.email == "new@example.com"))
    assert user.capabilities == capabilities and user.role == capabilities[-1]
    assert (user.teaching_enabled_at is not None) is (role == "mentor")


def test_nobody_registers_as_an_admin(client):
    body = {"email": "x@example.com", "password": "correct-horse-battery", "name": "X", "role": "admin"}
    response = client.post("/api/register/", json=body)
    assert response.status_code == 422 and "role" in response.get_json()["error"]["fields"]
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_the_register_page_offers_learning_and_teaching(client, auth):
    html = page(client.get("/auth/register?role=mentor"))
    assert "Learn and teach" in html and "you can start teaching later from your profile" in html
    response = auth.register(role="mentor", headline="Go mentor", hourly_rate="500")
    assert response.status_code == 200
    user = db.session.scalar(select(User))
    assert user.capabilities == ["learner", "mentor"] and user.hourly_rate_paise == 50000
    # The emailed link finishes the sign-up and lands on the teaching dashboard.
    email = db.session.scalar(select(OutboundEmail).where(OutboundEmail.to_address == user.email))
    response = client.get(re.search(r"http://localhost(/auth/verify/\S+)", email.text_body).group(1))
    assert response.status_code == 302 and response.headers["Location"].endswith("/teach")


# --- capabilities in queries, lists and figures ----------------------------------------------


@pytest.fixture
def everyone(make_user):
    return {
        "learner": make_user(name="Lena Learner"),
        "mentor": make_user(role="mentor", name="Meera Mentor"),
        "admin": make_user(role="admin", name="Ada Admin"),
        "teaching admin": make_user(role="admin", mentor=True, name="Tara Admin"),
    }


def test_role_is_the_highest_capability(everyone):
    assert {name: (u.role, u.capabilities) for name, u in everyone.items()} == {
        "learner": ("learner", ["learner"]),
        "mentor": ("mentor", ["learner", "mentor"]),
        "admin": ("admin", ["learner", "admin"]),
        "teaching admin": ("admin", ["learner", "mentor", "admin"]),
    }
    assert all(u.is_learner and u.can("learner") for u in everyone.values())
    assert [u.name for u in everyone.values() if u.can("mentor")] == ["Meera Mentor", "Tara Admin"]
    # The same in SQL: by derived role, and by capability.
    by_role = dict(db.session.execute(select(User.role, func.count(User.id)).group_by(User.role)).all())
    assert by_role == {"learner": 1, "mentor": 1, "admin": 2}
    teaching = db.session.scalars(select(User.name).where(User.is_mentor).order_by(User.id)).all()
    assert teaching == ["Meera Mentor", "Tara Admin"]


def test_admins_filter_users_by_capability(everyone):
    def names(**filters):
        return sorted(u.name for u in find_users(**filters)[0])

    assert names(role="mentor") == ["Meera Mentor", "Tara Admin"]
    assert names(role="admin") == ["Ada Admin", "Tara Admin"]
    assert names(role="learner") == ["Lena Learner"]  # those who only learn


def test_public_figures_count_teachers_and_learners(everyone):
    # Mentors teach and learn; admins are staff.
    assert stats.platform_figures()["mentors"] == 2 and stats.platform_figures()["learners"] == 2


def test_whoever_learns_sees_my_bookings_and_only_non_admins_are_invited_to_teach(client, auth, everyone):
    for name, user in everyone.items():
        auth.login(user.email)
        nav = main_nav(page(client.get("/learn")))
        assert 'href="/bookings"' in nav, name
        assert ("Teach on PeerLearn" in nav) is (name == "learner"), name
        assert ('href="/teach/sessions"' in nav) is user.is_mentor, name
        assert ('href="/admin"' in nav) is user.is_admin, name
        auth.logout()


def test_a_mentor_follows_and_asks_another_mentor(client, make_user, api_token):
    asha = make_user(role="mentor", email="asha@example.com")
    ravi = make_user(role="mentor", email="ravi@example.com")
    token = bearer(api_token(ravi.email))
    assert client.post(f"/api/mentors/{asha.id}/follow/", headers=token).status_code == 201
    response = client.post(
        "/api/requests/",
        json={"mentor_id": asha.id, "topic": "Review my DAGs", "preferred_times": ["2026-12-02T18:00"]},
        headers=token,
    )
    assert response.status_code == 201
    sent = client.get("/api/requests/?side=sent", headers=token).get_json()["data"]["items"]
    assert [r["topic"] for r in sent] == ["Review my DAGs"]
    assert client.get("/api/requests/", headers=token).get_json()["data"]["items"] == []  # their inbox
    inbox = client.get("/api/requests/", headers=bearer(api_token(asha.email))).get_json()["data"]["items"]
    assert [r["topic"] for r in inbox] == ["Review my DAGs"]
    response = client.get("/api/requests/?side=both", headers=token)
    assert response.status_code == 422 and "side" in response.get_json()["error"]["fields"]


def test_admins_learn_too_but_nobody_books_their_own_session(everyone):
    from peerlearn.exceptions import Conflict
    from peerlearn.services import booking as booking_service

    session = make_session(everyone["teaching admin"], title="Ops for mentors")
    with pytest.raises(Conflict) as refused:
        booking_service.book(session.id, everyone["teaching admin"])
    assert refused.value.code == "own_session"
    booking, created = booking_service.book(session.id, everyone["admin"])
    assert created and booking.status == "confirmed"
    assert db.session.get(LearningSession, session.id).seats_taken == 1
