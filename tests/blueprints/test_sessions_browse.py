"""The browse page, the session page and GET /api/sessions/: what visitors see and may see."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from flask import render_template, url_for

from peerlearn.extensions import db
from peerlearn.services import booking as booking_service
from peerlearn.services import storage
from tests import factories

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
# 18:30 in Kolkata (UTC+5:30), 14:00 in Berlin (UTC+1 in December).
DEC_1_1300_UTC = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)


def make_session(mentor, **overrides):
    overrides.setdefault("starts_at", NOW + timedelta(days=3))
    overrides.setdefault("level", "beginner")
    return factories.make_session(mentor, **overrides)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(NOW)


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", name="Asha Rao", email="asha@example.com", headline="Data engineer")


def page_text(response):
    return unescape(response.get_data(as_text=True))


def booking_box(response):
    html = response.get_data(as_text=True)
    match = re.search(r"data-booking-state>(.*?)</section>", html, re.S)
    assert match, "the page has no booking box"
    return unescape(match.group(1))


# ------------------------------------------------------------------------------------ browse


def test_browse_lists_published_sessions_with_a_count(client, mentor):
    make_session(mentor, title="Pandas in practice", skills=["Pandas", "Python", "Jupyter", "SQL"])
    make_session(mentor, title="Secret draft", status="draft")
    make_session(mentor, title="Called off", status="cancelled")
    make_session(mentor, title="Already done", status="completed", starts_at=NOW - timedelta(days=1))

    response = client.get("/sessions")

    page = page_text(response)
    assert response.status_code == 200
    assert "1 session found" in page
    assert "Pandas in practice" in page and "with Asha Rao" in page
    assert "Jupyter" in page and "Pandas" in page and "Python" in page
    assert ">SQL<" not in page  # cards show the first three skills only
    for hidden in ("Secret draft", "Called off", "Already done"):
        assert hidden not in page


def test_browse_search_and_filters_in_rupees(client, mentor):
    make_session(mentor, title="Kafka for free", price_paise=0)
    make_session(mentor, title="Kafka deep dive", price_paise=49900)
    make_session(mentor, title="Figma tour", price_paise=49900, category="Design")

    page = page_text(client.get("/sessions?q=kafka&min_rupees=100&max_rupees=499"))
    assert "1 session found" in page and "Kafka deep dive" in page and "Kafka for free" not in page

    page = page_text(client.get("/sessions?q=kafka&free=1"))
    assert "Kafka for free" in page and "Kafka deep dive" not in page

    page = page_text(client.get("/sessions?category=Design"))
    assert "Figma tour" in page and "Kafka" not in page
    assert '<option value="Design" selected>' in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("level=guru", "Choose a level from the list."),
        ("min_rupees=ten", "Enter an amount in rupees, like 500."),
        ("min_rupees=500&max_rupees=100", "The maximum price is below the minimum."),
        ("date_from=tomorrow", "Use a date like 2026-12-01."),
        ("sort=random", "Choose one of:"),
    ],
)
def test_browse_explains_bad_filters(client, mentor, query, message):
    make_session(mentor, title="Kafka deep dive")

    response = client.get(f"/sessions?{query}")

    page = page_text(response)
    assert response.status_code == 400
    assert "Some filters are not valid" in page and message in page
    assert 'aria-invalid="true"' in page
    assert "Kafka deep dive" not in page


def test_browse_explains_a_bad_page_number(client):
    response = client.get("/sessions?page=0")
    assert response.status_code == 400 and "Use a page number from 1 to" in page_text(response)


def test_browse_pages_keep_the_filters(client, mentor):
    for hour in range(14):
        make_session(mentor, title=f"Kafka {hour:02d}", starts_at=NOW + timedelta(days=1, hours=hour))
    make_session(mentor, title="Unrelated")

    first = page_text(client.get("/sessions?q=kafka&skills=&sort=soonest"))
    assert "14 sessions found" in first and "Page 1 of 2" in first
    assert "Kafka 11" in first and "Kafka 12" not in first
    next_url = re.search(r'href="([^"]+)"[^>]*rel="next"', first).group(1)
    assert "q=kafka" in next_url and "sort=soonest" in next_url and "page=2" in next_url

    second = page_text(client.get(next_url))
    assert "Page 2 of 2" in second and "Kafka 12" in second and "Kafka 13" in second
    assert "Unrelated" not in second and 'rel="prev"' in second

    beyond = page_text(client.get("/sessions?q=kafka&page=5"))
    assert "There is no page 5." in beyond


def test_sort_by_rating_is_offered(client):
    # Mentors' average ratings of visible reviews order it (tests/services/test_reviews.py).
    assert '<option value="rating">' in page_text(client.get("/sessions"))
    assert '<option value="rating" selected>' in page_text(client.get("/sessions?sort=rating"))
    assert '<option value="popular">' in page_text(client.get("/sessions"))


def test_browse_empty_states(client, mentor):
    assert "No sessions are scheduled yet." in page_text(client.get("/sessions"))
    make_session(mentor, title="Kafka deep dive")
    page = page_text(client.get("/sessions?q=cobol"))
    assert "0 sessions found" in page and "No sessions match your search." in page


def test_times_show_in_the_viewers_timezone(client, auth, mentor, make_user):
    session = make_session(mentor, title="Evening session", starts_at=DEC_1_1300_UTC)

    for path in ("/sessions", f"/sessions/{session.id}"):
        page = page_text(client.get(path))
        assert "6:30 PM" in page and "2026-12-01T18:30+0530" in page

    make_user(email="berlin@example.com", timezone="Europe/Berlin")
    auth.login("berlin@example.com")
    for path in ("/sessions", f"/sessions/{session.id}"):
        page = page_text(client.get(path))
        assert "2:00 PM" in page and "2026-12-01T14:00+0100" in page
    detail = page_text(client.get(f"/sessions/{session.id}"))
    assert "Europe/Berlin" in detail and "Tuesday 1 December 2026, 2:00 PM" in detail


# ---------------------------------------------------------------------------- session page


def test_session_page_shows_the_session_and_its_mentor(client, mentor):
    session = make_session(
        mentor,
        title="Pandas in practice",
        description="First line.\nSecond line.",
        price_paise=49900,
        capacity=8,
        seats_taken=3,
        duration_minutes=90,
        language="Hindi",
        skills=["Pandas"],
    )

    page = page_text(client.get(f"/sessions/{session.id}"))

    assert "Pandas in practice" in page and "₹499" in page
    assert "5 of 8 seats left" in page and "90 minutes" in page and "Hindi" in page and "Beginner" in page
    assert "whitespace-pre-line" in page and "First line.\nSecond line." in page
    assert "Asha Rao" in page and "Data engineer" in page and f'href="/mentors/{mentor.id}"' in page


def test_free_session_says_free(client, mentor):
    session = make_session(mentor, price_paise=0)
    assert "Free" in page_text(client.get(f"/sessions/{session.id}"))


def test_drafts_are_private_to_their_mentor(client, auth, mentor, make_user):
    draft = make_session(mentor, title="Work in progress", status="draft")

    assert client.get(f"/sessions/{draft.id}").status_code == 404
    assert client.get(f"/api/sessions/{draft.id}/").status_code == 404
    make_user(email="other@example.com", role="mentor")
    auth.login("other@example.com")
    assert client.get(f"/sessions/{draft.id}").status_code == 404
    auth.logout()

    auth.login("asha@example.com")
    response = client.get(f"/sessions/{draft.id}")
    assert response.status_code == 200 and "Draft." in page_text(response)
    assert client.get(f"/api/sessions/{draft.id}/").get_json()["data"]["status"] == "draft"


def test_missing_session_is_404(client):
    assert client.get("/sessions/999").status_code == 404
    assert client.get("/api/sessions/999/").get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("overrides", "banner", "box"),
    [
        (
            {"status": "cancelled", "cancel_reason": "Mentor is unwell."},
            "This session was cancelled",
            "cancelled",
        ),
        ({"status": "completed", "starts_at": NOW - timedelta(days=1)}, "This session has ended.", "ended"),
        ({"status": "live", "starts_at": NOW - timedelta(minutes=5)}, "Live now.", "already started"),
        ({"starts_at": NOW - timedelta(minutes=5)}, "This session has started.", "already started"),
    ],
)
def test_sessions_that_cannot_be_booked_say_why(client, mentor, overrides, banner, box):
    session = make_session(mentor, **overrides)

    response = client.get(f"/sessions/{session.id}")

    assert response.status_code == 200
    assert banner in page_text(response)
    assert box in booking_box(response) and "Log in to book" not in booking_box(response)


def test_full_session(client, mentor):
    session = make_session(mentor, capacity=2, seats_taken=2)
    response = client.get(f"/sessions/{session.id}")
    assert "This session is full." in booking_box(response) and "No seats left" in page_text(response)


def test_anonymous_visitor_is_asked_to_log_in(client, mentor):
    session = make_session(mentor)
    box = booking_box(client.get(f"/sessions/{session.id}"))
    assert "Log in to book" in box and f"/auth/login?next=/sessions/{session.id}" in box


def test_unverified_learner_is_asked_to_confirm_their_email(client, auth, mentor, make_user):
    session = make_session(mentor)
    newcomer = make_user(email="new@example.com")
    auth.login("new@example.com")
    # Signed in before confirming (only sessions from before confirmation was needed to sign in).
    newcomer.email_verified_at = None
    db.session.commit()
    box = booking_box(client.get(f"/sessions/{session.id}"))
    assert "Confirm your email address to book." in box
    assert f"/sessions/{session.id}/book" not in box


def test_verified_learner_gets_a_book_button_that_books(client, auth, mentor, make_user):
    session = make_session(mentor, price_paise=0)
    make_user(email="learner@example.com")
    auth.login("learner@example.com")

    response = client.get(f"/sessions/{session.id}")
    box = booking_box(response)
    assert f'action="/sessions/{session.id}/book"' in box and "Book a free seat" in box
    token = re.search(r'name="csrf_token" value="([^"]+)"', box).group(1)

    booked = client.post(f"/sessions/{session.id}/book", data={"csrf_token": token})
    assert booked.status_code == 302


def test_booked_learner_sees_their_booking(client, auth, mentor, make_user):
    session = make_session(mentor, price_paise=0)
    learner = make_user(email="learner@example.com")
    booking, _ = booking_service.book(session.id, learner)
    auth.login("learner@example.com")

    box = booking_box(client.get(f"/sessions/{session.id}"))

    assert "You're booked." in box and f'href="/bookings/{booking.id}"' in box


def test_held_seat_shows_its_expiry_and_a_pay_link(app, client, auth, mentor, make_user):
    app.config["BOOKING_HOLD_MINUTES"] = 15
    session = make_session(mentor, price_paise=49900)
    learner = make_user(email="learner@example.com", timezone="Asia/Kolkata")
    booking, _ = booking_service.book(session.id, learner, now=datetime(2026, 11, 20, 10, 0, tzinfo=UTC))
    auth.login("learner@example.com")

    box = booking_box(client.get(f"/sessions/{session.id}"))

    # The hold ends at 10:15 UTC, 3:45 PM in Kolkata.
    assert "Seat held until 3:45 PM." in box
    assert f'href="/bookings/{booking.id}/pay"' in box and "Pay now" in box


def test_mentor_sees_their_own_session_with_an_edit_link(app, client, auth, mentor):
    session = make_session(mentor, seats_taken=2)
    auth.login("asha@example.com")
    box = booking_box(client.get(f"/sessions/{session.id}"))
    assert "This is your session. 2 of 5 seats are taken." in box
    assert "/book" not in box
    with app.test_request_context():
        edit_url = url_for("sessions.edit", session_id=session.id)
    assert f'href="{edit_url}"' in box and "Edit session" in box


def test_other_mentors_can_book(client, auth, mentor, make_user):
    session = make_session(mentor)
    make_user(email="other@example.com", role="mentor")
    auth.login("other@example.com")
    box = booking_box(client.get(f"/sessions/{session.id}"))
    assert f'action="/sessions/{session.id}/book"' in box and "Book a free seat" in box


def test_similar_sessions_are_shown(client, mentor):
    session = make_session(mentor, title="Pandas basics", skills=["Pandas"])
    make_session(mentor, title="Pandas advanced", skills=["Pandas"])
    make_session(mentor, title="Watercolours", category="Music & Arts", skills=["Painting"])

    page = page_text(client.get(f"/sessions/{session.id}"))

    similar = page.split("Similar sessions", 1)[1]
    assert "Pandas advanced" in similar and "Watercolours" not in similar


def test_cover_images_are_served_from_the_upload_folder(client):
    storage.get_storage().put("covers/abc.webp", b"RIFF0000WEBP", "image/webp")
    response = client.get("/media/covers/abc.webp")
    body = response.data
    response.close()
    assert response.status_code == 200 and body == b"RIFF0000WEBP"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/media/covers/none.webp").status_code == 404
    assert client.get("/media/covers/..%2Fsecret").status_code == 404


# ----------------------------------------------------------------------------------- JSON API


def test_api_lists_sessions_with_pagination(client, mentor):
    for day in range(1, 4):
        make_session(mentor, title=f"Kafka day {day}", starts_at=NOW + timedelta(days=day), skills=["Kafka"])
    make_session(mentor, title="Hidden draft", status="draft", skills=["Kafka"])

    body = client.get("/api/sessions/?skills=kafka&per_page=2&page=2").get_json()

    assert body["success"] is True
    assert body["data"]["pagination"] == {
        "page": 2,
        "per_page": 2,
        "total": 3,
        "pages": 2,
        "has_next": False,
        "has_prev": True,
    }
    (item,) = body["data"]["items"]
    assert item["title"] == "Kafka day 3" and item["skills"] == ["Kafka"]
    assert item["mentor"]["name"] == "Asha Rao" and item["url"].endswith(f"/sessions/{item['id']}")


def test_api_refuses_bad_parameters_with_the_fields_named(client):
    response = client.get("/api/sessions/?price_min=cheap&level=guru&date_to=2026-13-01")

    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert set(error["fields"]) == {"price_min", "level", "date_to"}


def test_api_session_detail_includes_the_viewers_booking(client, api_token, mentor, make_user):
    session = make_session(mentor, description="All about streams.", price_paise=0)
    learner = make_user(email="learner@example.com")

    anonymous = client.get(f"/api/sessions/{session.id}/").get_json()["data"]
    assert anonymous["description"] == "All about streams." and "viewer_booking" not in anonymous

    headers = {"Authorization": f"Bearer {api_token('learner@example.com')}"}
    assert (
        client.get(f"/api/sessions/{session.id}/", headers=headers).get_json()["data"]["viewer_booking"]
        is None
    )
    booking, _ = booking_service.book(session.id, learner)
    data = client.get(f"/api/sessions/{session.id}/", headers=headers).get_json()["data"]
    assert data["viewer_booking"] == {"id": booking.id, "status": "confirmed"}


# ------------------------------------------------------------------------ landing and header


def test_landing_page_shows_featured_sessions(app, mentor):
    session = make_session(mentor, title="Kafka deep dive")
    with app.test_request_context("/"):
        html = render_template(
            "main/index.html",
            figures={"mentors": 1, "learners": 0, "skills": 0},
            mentors=[],
            featured=[session],
        )
    assert "Kafka deep dive" in html and "No sessions are scheduled yet." not in html
    assert 'href="/sessions"' in html


def test_header_links_to_browse_for_everyone(client, auth, make_user):
    # One link in the desktop header and one in the phone menu.
    assert client.get("/auth/login").get_data(as_text=True).count('href="/sessions"') == 2
    make_user(email="learner@example.com")
    auth.login("learner@example.com")
    assert client.get("/profile").get_data(as_text=True).count('href="/sessions"') == 2
