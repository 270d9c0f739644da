"""Session requests on pages: ask from the mentor's profile, the learner's list, the mentor's inbox
with accept and decline, confirm and pay, withdraw, and who may see what."""

from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
import time_machine
from sqlalchemy import select

from peerlearn.extensions import db
from peerlearn.models import Booking, LearningSession, OutboundEmail, SessionRequest
from peerlearn.services import session_requests as service
from tests.conftest import extract_csrf

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", name="Asha Raman", email="asha@example.com", timezone="Asia/Kolkata")


@pytest.fixture
def learner(make_user):
    return make_user(name="Ravi Kumar", email="ravi@example.com", timezone="Asia/Kolkata")


def csrf(client, path="/"):
    return extract_csrf(client.get(path).get_data(as_text=True))


def text(response):
    return unescape(response.get_data(as_text=True))


def ask_form(client, mentor, **overrides):
    data = {
        "csrf_token": csrf(client, f"/mentors/{mentor.id}/request"),
        "topic": "Code review of my Flask app",
        "message": "Feedback on the blueprint layout, please.",
        "time_1": "2026-12-01T18:30",
        "time_2": "2026-12-02T19:00",
        "time_3": "",
        "budget": "500",
    }
    data.update(overrides)
    return client.post(f"/mentors/{mentor.id}/request", data=data)


def only_request():
    db.session.expire_all()
    return db.session.scalars(select(SessionRequest)).one()


def make_request(learner, mentor, **fields):
    data = {
        "topic": "Pandas for messy data",
        "message": "I have a real export to clean.",
        "preferred_times": ["2026-12-01T13:00:00+00:00", "2026-12-03T13:00:00+00:00"],
        "budget_paise": 80000,
    }
    data.update(fields)
    return service.create_request(learner, mentor.id, data)


def test_the_profile_offers_the_request_form_to_signed_in_learners(client, auth, mentor, learner):
    assert "Ask for a session" not in text(client.get(f"/mentors/{mentor.id}"))
    auth.login(learner.email)
    page = text(client.get(f"/mentors/{mentor.id}"))
    assert f'href="/mentors/{mentor.id}/request"' in page and "Ask for a session" in page
    form = text(client.get(f"/mentors/{mentor.id}/request"))
    assert "Ask Asha Raman for a session" in form and "Asia/Kolkata" in form


def test_a_mentor_sees_the_button_on_other_mentors_profiles_only(client, auth, mentor, make_user):
    other = make_user(role="mentor")
    auth.login(other.email)
    assert "Ask for a session" in text(client.get(f"/mentors/{mentor.id}"))
    assert "Ask for a session" not in text(client.get(f"/mentors/{other.id}"))


def test_asking_stores_utc_times_and_paise_and_tells_the_mentor(client, auth, mentor, learner):
    auth.login(learner.email)
    response = ask_form(client, mentor)
    req = only_request()
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/requests/{req.id}")
    assert service.preferred_times(req) == [
        datetime(2026, 12, 1, 13, 0, tzinfo=UTC),
        datetime(2026, 12, 2, 13, 30, tzinfo=UTC),
    ]
    assert req.budget_paise == 50000 and req.status == "pending"
    assert req.expires_at == NOW + timedelta(days=7)
    email = db.session.scalars(select(OutboundEmail).where(OutboundEmail.user_id == mentor.id)).one()
    assert "Code review of my Flask app" in email.text_body

    page = text(client.get(f"/requests/{req.id}"))
    assert "Code review of my Flask app" in page and "Tue 1 Dec 2026, 6:30 PM" in page and "₹500" in page
    listing = text(client.get("/requests"))
    assert "Code review of my Flask app" in listing and 'data-request-status="pending"' in listing


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"time_1": "2026-11-01T10:00"}, "Choose times in the future."),
        ({"time_1": ""}, "Give at least one time."),
        ({"budget": "-5"}, "Between ₹0 and ₹1,00,000."),
        ({"budget": "12.345"}, "Use at most two decimal places."),
        ({"topic": "Hi"}, "Field must be between 3 and 120 characters long."),
        ({"message": "x" * 2001}, "Field cannot be longer than 2000 characters."),
    ],
)
def test_form_errors_are_shown_and_nothing_is_saved(client, auth, mentor, learner, overrides, message):
    auth.login(learner.email)
    response = ask_form(client, mentor, **overrides)
    assert response.status_code == 422
    assert message in text(response)
    assert db.session.scalar(select(SessionRequest.id)) is None


def test_asking_a_non_mentor_is_404_and_asking_oneself_is_refused(client, auth, mentor, learner):
    auth.login(learner.email)
    assert client.get(f"/mentors/{learner.id}/request").status_code == 404
    assert client.get("/mentors/999999/request").status_code == 404
    auth.logout()
    auth.login(mentor.email)
    response = client.get(f"/mentors/{mentor.id}/request")
    assert response.status_code == 422 and "You can't ask yourself" in text(response)


def test_the_inbox_is_for_mentors_and_lists_pending_requests_with_both_forms(client, auth, mentor, learner):
    req = make_request(learner, mentor)
    auth.login(learner.email)
    assert client.get("/requests/inbox").status_code == 403
    auth.logout()
    auth.login(mentor.email)
    # A mentor's own /requests lists what they asked for as a learner: none here.
    assert "Pandas for messy data" not in text(client.get("/requests"))
    page = text(client.get("/requests/inbox"))
    assert "Pandas for messy data" in page and "from Ravi Kumar" in page and "₹800" in page
    assert f'action="/requests/{req.id}/accept"' in page and f'action="/requests/{req.id}/decline"' in page
    # The learner's times, in the mentor's timezone, are the choices; the first is chosen.
    assert '<option selected value="2026-12-01T13:00:00+00:00">Tue 1 Dec 2026, 6:30 PM</option>' in page
    assert 'href="/requests/inbox"' in page  # the nav link


def accept_data(client, req, **overrides):
    prefix = f"accept-{req.id}-"
    data = {
        "csrf_token": csrf(client, "/requests/inbox"),
        "time": "2026-12-03T13:00:00+00:00",
        "other_time": "",
        "price": "750",
        "category": "Data & AI",
        "note": "Bring the export.",
    }
    data.update(overrides)
    return {prefix + name if name != "csrf_token" else name: value for name, value in data.items()}


def test_accept_publishes_the_session_and_the_learner_confirms_and_pays(client, auth, mentor, learner):
    req = make_request(learner, mentor)
    auth.login(mentor.email)
    response = client.post(f"/requests/{req.id}/accept", data=accept_data(client, req))
    assert response.status_code == 303
    req = only_request()
    session = db.session.get(LearningSession, req.session_id)
    assert req.status == "accepted" and req.response_note == "Bring the export."
    assert session.starts_at == datetime(2026, 12, 3, 13, 0, tzinfo=UTC)
    assert session.price_paise == 75000 and session.category == "Data & AI" and session.capacity == 1
    assert session.title == "Pandas for messy data" and session.status == "scheduled"
    assert "Bring the export." in text(client.get(f"/requests/{req.id}"))
    auth.logout()

    auth.login(learner.email)
    listing = text(client.get("/requests"))
    assert "Confirm and pay" in listing and f'action="/requests/{req.id}/confirm"' in listing
    response = client.post(f"/requests/{req.id}/confirm", data={"csrf_token": csrf(client, "/requests")})
    booking = db.session.scalars(select(Booking)).one()
    assert response.status_code == 303 and response.headers["Location"].endswith(
        f"/bookings/{booking.id}/pay"
    )
    assert booking.status == "pending_payment" and booking.amount_paise == 75000
    # Once the seat is held the list no longer offers to confirm.
    assert "Confirm and pay" not in text(client.get("/requests"))


def test_accept_with_another_time_in_the_mentors_timezone(client, auth, mentor, learner):
    req = make_request(learner, mentor)
    auth.login(mentor.email)
    data = accept_data(client, req, time="other", other_time="2026-12-05T10:00", price="0")
    assert client.post(f"/requests/{req.id}/accept", data=data).status_code == 303
    session = db.session.get(LearningSession, only_request().session_id)
    assert session.starts_at == datetime(2026, 12, 5, 4, 30, tzinfo=UTC) and session.is_free


def test_accept_errors_are_shown_on_the_request_page(client, auth, mentor, learner):
    req = make_request(learner, mentor)
    auth.login(mentor.email)
    response = client.post(f"/requests/{req.id}/accept", data=accept_data(client, req, time="other"))
    assert response.status_code == 422 and "Choose the other time." in text(response)
    response = client.post(f"/requests/{req.id}/accept", data=accept_data(client, req, price="0.50"))
    assert response.status_code == 422 and "A paid session costs at least ₹1" in text(response)
    response = client.post(
        f"/requests/{req.id}/accept", data=accept_data(client, req, time="2026-12-09T13:00:00+00:00")
    )
    assert response.status_code == 422 and "Not a valid choice" in text(response)
    assert only_request().status == "pending" and db.session.scalar(select(LearningSession.id)) is None


def test_decline_with_a_note_reaches_the_learner(client, auth, mentor, learner):
    req = make_request(learner, mentor)
    auth.login(mentor.email)
    data = {
        "csrf_token": csrf(client, "/requests/inbox"),
        f"decline-{req.id}-note": "Fully booked this month.",
    }
    assert client.post(f"/requests/{req.id}/decline", data=data).status_code == 303
    assert only_request().status == "declined"
    email = db.session.scalars(
        select(OutboundEmail).where(OutboundEmail.user_id == learner.id).order_by(OutboundEmail.id.desc())
    ).first()
    assert "Fully booked this month." in email.text_body
    auth.logout()
    auth.login(learner.email)
    page = text(client.get(f"/requests/{req.id}"))
    assert "Fully booked this month." in page and 'data-request-status="declined"' in page
    assert "Confirm and pay" not in page


def test_the_learner_withdraws_a_pending_request(client, auth, mentor, learner):
    req = make_request(learner, mentor)
    auth.login(learner.email)
    assert "Withdraw" in text(client.get(f"/requests/{req.id}"))
    response = client.post(f"/requests/{req.id}/withdraw", data={"csrf_token": csrf(client)})
    assert response.status_code == 303 and only_request().status == "withdrawn"
    assert "Withdraw" not in text(client.get(f"/requests/{req.id}"))


def test_others_get_404_and_a_learner_cannot_answer(client, auth, mentor, learner, make_user):
    req = make_request(learner, mentor)
    other_learner, other_mentor = make_user(), make_user(role="mentor")
    auth.login(other_learner.email)
    token = csrf(client)
    assert client.get(f"/requests/{req.id}").status_code == 404
    assert client.post(f"/requests/{req.id}/withdraw", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/requests/{req.id}/confirm", data={"csrf_token": token}).status_code == 404
    auth.logout()
    auth.login(other_mentor.email)
    assert client.get(f"/requests/{req.id}").status_code == 404
    assert client.post(f"/requests/{req.id}/accept", data=accept_data(client, req)).status_code == 404
    auth.logout()
    auth.login(learner.email)
    assert client.post(f"/requests/{req.id}/accept", data=accept_data(client, req)).status_code == 403
    assert client.post(f"/requests/{req.id}/decline", data={"csrf_token": csrf(client)}).status_code == 403
    assert only_request().status == "pending"


def test_an_expired_request_offers_no_actions(client, auth, mentor, learner, frozen_clock):
    req = make_request(learner, mentor)
    frozen_clock.shift(timedelta(days=7, minutes=1))
    service.expire_requests()
    auth.login(mentor.email)
    page = text(client.get(f"/requests/{req.id}"))
    assert 'data-request-status="expired"' in page and "/accept" not in page
    response = client.post(f"/requests/{req.id}/accept", data=accept_data(client, req))
    assert response.status_code == 303 and only_request().status == "expired"
    assert "This request is expired." in text(client.get(f"/requests/{req.id}"))


def test_requests_need_a_login(client, mentor):
    for path in ("/requests", "/requests/inbox", f"/mentors/{mentor.id}/request", "/requests/1"):
        response = client.get(path)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_my_requests_is_in_a_learners_nav_and_tells_what_became_of_each(client, auth, mentor, learner):
    open_one = make_request(learner, mentor, topic="Open question on joins")
    declined = make_request(learner, mentor, topic="Declined topic here")
    service.decline(mentor, declined.id, "Not my field.")
    offered = make_request(learner, mentor, topic="Offered and waiting")
    starts_at = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)
    service.accept(mentor, offered.id, {"starts_at": starts_at, "price_paise": 0})
    auth.login(learner.email)
    home = text(client.get("/learn"))
    assert 'href="/requests"' in home and "My requests" in home

    listing = text(client.get("/requests"))
    assert listing.count('data-request-status="pending"') == 1 and ">open</span>" in listing
    assert "Waiting for Asha's answer" in listing
    assert "Asha declined: “Not my field.”" in listing
    session = db.session.get(LearningSession, only_offered(offered).session_id)
    assert f'href="/sessions/{session.id}"' in listing and "kept for you until" in listing
    # The open request and the offer can be withdrawn from the list; the declined one cannot.
    assert f'action="/requests/{open_one.id}/withdraw"' in listing
    assert f'action="/requests/{offered.id}/withdraw"' in listing
    assert f'action="/requests/{declined.id}/withdraw"' not in listing

    response = client.post(
        f"/requests/{open_one.id}/withdraw", data={"csrf_token": csrf(client, "/requests"), "back": "list"}
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("/requests")
    listing = text(client.get("/requests"))
    assert "You withdrew this request." in listing and 'data-request-status="withdrawn"' in listing

    client.post(f"/requests/{offered.id}/confirm", data={"csrf_token": csrf(client, "/requests")})
    booking = db.session.scalars(select(Booking)).one()
    listing = text(client.get("/requests"))
    assert "You're booked into" in listing and f'href="/bookings/{booking.id}"' in listing
    assert f'action="/requests/{offered.id}/withdraw"' not in listing


def only_offered(req):
    db.session.expire_all()
    return db.session.get(SessionRequest, req.id)
