"""The mentor directory (/mentors and GET /api/mentors/) and the mentor's public profile."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import event

from peerlearn.extensions import db
from peerlearn.models import Booking, Review
from peerlearn.services import fragments
from tests import factories

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(NOW)


def page_text(response):
    return unescape(response.get_data(as_text=True))


def card_ids(response):
    """The mentors on a directory page, in order."""
    return [int(i) for i in re.findall(r'data-mentor-id="(\d+)"', response.get_data(as_text=True))]


def api_ids(response):
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["data"]["items"]]


def mentor(make_user, name, *, rate=50_000, skills=(), headline="", **kwargs):
    from peerlearn.services import skills as skill_service

    user = make_user(role="mentor", name=name, headline=headline, hourly_rate_paise=rate, **kwargs)
    if skills:
        user.skills = skill_service.resolve(list(skills))
        db.session.commit()
    return user


def reviewed(teacher, ratings, *, make_user, minutes=55, duration=60, language="English"):
    """A session of ``teacher`` held last week, each learner in it leaving one of ``ratings``."""
    session = factories.make_session(
        teacher,
        title=f"Held by {teacher.name}",
        starts_at=NOW - timedelta(days=7),
        duration_minutes=duration,
        language=language,
        status="completed",
        capacity=max(1, len(ratings)),
    )
    for rating in ratings:
        learner = make_user()
        booking = Booking(session_id=session.id, learner_id=learner.id, status="attended")
        db.session.add(booking)
        db.session.flush()
        db.session.add(
            Review(
                booking_id=booking.id,
                session_id=session.id,
                mentor_id=teacher.id,
                learner_id=learner.id,
                rating=rating,
                body=f"Worth it ({rating}).",
                minutes_attended=minutes,
                created_at=NOW - timedelta(days=6),
            )
        )
    db.session.commit()
    return session


def upcoming(teacher, days, **overrides):
    overrides.setdefault("title", f"{teacher.name} live")
    return factories.make_session(teacher, starts_at=NOW + timedelta(days=days), **overrides)


# ------------------------------------------------------------------------------ who is listed


def test_lists_teaching_accounts_only_and_not_suspended_ones(client, make_user):
    asha = mentor(make_user, "Asha Rao", headline="Data engineer", skills=["Python", "SQL"])
    mentor(make_user, "Sus Pended", suspended_at=NOW)
    make_user(name="Only Learns")

    response = client.get("/mentors")

    page = page_text(response)
    assert response.status_code == 200
    assert card_ids(response) == [asha.id]
    assert "1 mentor found" in page
    assert "Asha Rao" in page and "Data engineer" in page and "Python" in page
    assert "₹500" in page and "per hour" in page
    assert "Sus Pended" not in page and "Only Learns" not in page
    assert api_ids(client.get("/api/mentors/")) == [asha.id]


def test_verified_only_listing_leaves_out_unverified_mentors(app, client, make_user):
    app.config["LIST_VERIFIED_MENTORS_ONLY"] = True
    checked = mentor(make_user, "Checked Mentor", mentor_verified_at=NOW)
    mentor(make_user, "Unchecked Mentor")

    assert card_ids(client.get("/mentors")) == [checked.id]


def test_a_card_leads_with_the_face_rating_and_next_session(client, make_user):
    asha = mentor(make_user, "Asha Rao", headline="Data engineer")
    reviewed(asha, [5, 4], make_user=make_user)
    later = upcoming(asha, 5, title="Later one")
    soon = upcoming(asha, 2, title="Soon one")
    full = upcoming(asha, 1, title="Full one", capacity=1, seats_taken=1)

    response = client.get("/mentors")
    html = response.get_data(as_text=True)

    card = html[html.index(f'data-mentor-id="{asha.id}"') :]
    assert ">AR<" in card  # initials stand in for a photo
    assert 'data-rating="4.5" data-review-count="2"' in card
    assert f'data-next-session="{soon.id}"' in card
    assert f"/sessions/{later.id}" not in card and f"/sessions/{full.id}" not in card

    item = client.get("/api/mentors/").get_json()["data"]["items"][0]
    assert item["average_rating"] == 4.5 and item["review_count"] == 2
    assert item["next_session"]["id"] == soon.id
    assert item["hourly_rate_paise"] == 50_000 and item["currency"] == "INR"


# ------------------------------------------------------------------------------ filters


def test_search_matches_name_headline_and_skills_every_word(client, make_user):
    asha = mentor(make_user, "Asha Rao", headline="Data engineer", skills=["Python"])
    ravi = mentor(make_user, "Ravi Iyer", headline="Designer", skills=["Figma"])
    meera = mentor(make_user, "Meera Python", headline="Teacher")

    assert sorted(api_ids(client.get("/api/mentors/?q=python"))) == sorted([asha.id, meera.id])
    assert api_ids(client.get("/api/mentors/?q=DESIGN")) == [ravi.id]
    assert api_ids(client.get("/api/mentors/?q=figma ravi")) == [ravi.id]
    assert api_ids(client.get("/api/mentors/?q=figma asha")) == []
    assert card_ids(client.get("/mentors?q=engineer")) == [asha.id]


def test_filters_by_skill_language_price_rating_and_availability(client, make_user):
    asha = mentor(make_user, "Asha Rao", rate=80_000, skills=["Python"])
    ravi = mentor(make_user, "Ravi Iyer", rate=30_000, skills=["Figma"])
    unset = mentor(make_user, "No Rate", rate=0, skills=["Python"])
    reviewed(asha, [5, 5], make_user=make_user, language="Hindi")
    reviewed(ravi, [3], make_user=make_user)
    upcoming(ravi, 3)
    upcoming(asha, 10)

    assert sorted(api_ids(client.get("/api/mentors/?skills=python"))) == sorted([asha.id, unset.id])
    assert api_ids(client.get("/api/mentors/?language=Hindi")) == [asha.id]
    # A rate not set yet is no price: price filters leave it out.
    assert api_ids(client.get("/api/mentors/?price_max=50000")) == [ravi.id]
    assert api_ids(client.get("/api/mentors/?price_min=50000")) == [asha.id]
    assert api_ids(client.get("/api/mentors/?min_rating=4.5")) == [asha.id]
    assert api_ids(client.get("/api/mentors/?available=1")) == [ravi.id]
    assert card_ids(client.get("/mentors?max_rupees=500&available=1")) == [ravi.id]


# ------------------------------------------------------------------------------ sorting, pages


def test_sorts(client, make_user):
    top = mentor(make_user, "Top Rated", rate=90_000)
    many = mentor(make_user, "Many Reviews", rate=40_000)
    cheap = mentor(make_user, "Cheap Fresh", rate=20_000)
    unset = mentor(make_user, "Rate Unset", rate=0)
    reviewed(top, [5], make_user=make_user)
    reviewed(many, [4, 4, 4], make_user=make_user)
    upcoming(cheap, 4)
    upcoming(many, 1)

    assert api_ids(client.get("/api/mentors/")) == [top.id, many.id, cheap.id, unset.id]
    assert api_ids(client.get("/api/mentors/?sort=reviews")) == [many.id, top.id, cheap.id, unset.id]
    assert api_ids(client.get("/api/mentors/?sort=price_asc")) == [cheap.id, many.id, top.id, unset.id]
    assert api_ids(client.get("/api/mentors/?sort=soonest")) == [many.id, cheap.id, top.id, unset.id]
    assert card_ids(client.get("/mentors?sort=price_asc")) == [cheap.id, many.id, top.id, unset.id]


def test_next_session_moves_on_as_time_passes_and_seats_fill(client, make_user, time_machine):
    asha = mentor(make_user, "Asha Rao")
    ravi = mentor(make_user, "Ravi Iyer")
    first = upcoming(asha, 1)
    tied = upcoming(asha, 2, title="Tied, made first")
    upcoming(asha, 2, title="Tied, made second")
    later = upcoming(ravi, 1.5)

    def next_ids():
        items = client.get("/api/mentors/?sort=soonest").get_json()["data"]["items"]
        return [(item["id"], item["next_session"] and item["next_session"]["id"]) for item in items]

    assert next_ids() == [(asha.id, first.id), (ravi.id, later.id)]
    # Once the first one has started it is no longer bookable: the next start counts, and of two
    # sessions starting together the one made first.
    time_machine.move_to(NOW + timedelta(days=1, minutes=1))
    assert next_ids() == [(ravi.id, later.id), (asha.id, tied.id)]
    later.seats_taken = later.capacity
    db.session.commit()
    assert next_ids() == [(asha.id, tied.id), (ravi.id, None)]
    assert api_ids(client.get("/api/mentors/?available=1")) == [asha.id]


def test_pages(client, make_user):
    people = [mentor(make_user, f"Mentor {n:02d}") for n in range(5)]

    first = client.get("/api/mentors/?per_page=2").get_json()["data"]
    third = client.get("/api/mentors/?per_page=2&page=3").get_json()["data"]
    beyond = client.get("/api/mentors/?per_page=2&page=4").get_json()["data"]

    assert [i["id"] for i in first["items"]] == [p.id for p in people[:2]]
    assert first["pagination"] == {
        "page": 1,
        "per_page": 2,
        "total": 5,
        "pages": 3,
        "has_next": True,
        "has_prev": False,
    }
    assert [i["id"] for i in third["items"]] == [people[4].id]
    assert beyond["items"] == [] and beyond["pagination"]["total"] == 5

    page = client.get("/mentors?per_page=2&page=2")
    assert card_ids(page) == [p.id for p in people[2:4]]
    assert "Page 2 of 3" in page_text(page)
    assert 'rel="next"' in page.get_data(as_text=True)


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("min_rating=6", "min_rating"),
        ("min_rating=high", "min_rating"),
        ("min_rating=5.5", "min_rating"),
        ("sort=cheapest", "sort"),
        ("language=Klingon", "language"),
        ("price_min=-1", "price_min"),
        ("price_min=500&price_max=100", "price_max"),
        ("available=maybe", "available"),
        ("per_page=0", "per_page"),
        ("page=0", "page"),
        ("min_rating=", "min_rating"),
    ],
)
def test_api_refuses_bad_filters_with_422(client, query, field):
    response = client.get(f"/api/mentors/?{query}")

    body = response.get_json()
    assert response.status_code == 422
    assert body["success"] is False and field in body["error"]["fields"]


def test_page_ignores_a_bad_filter_and_says_so(client, make_user):
    asha = mentor(make_user, "Asha Rao", skills=["Python"])
    mentor(make_user, "Ravi Iyer", skills=["Figma"])

    response = client.get("/mentors?skills=python&min_rating=lots&sort=cheapest")

    page = page_text(response)
    assert response.status_code == 200
    assert card_ids(response) == [asha.id]  # the good filter still applies
    assert "Some filters were left out" in page
    assert "Rating: Use a rating from 1 to 5" in page and "Sort: Choose one of" in page


# ------------------------------------------------------------------------------ statements


def count_statements(client, path):
    """Statements of drawing the page, not of showing the directory's cards kept since the last
    change (services/fragments.py)."""
    fragments.cache().clear()
    engine = db.engine
    counted = [0]

    def count(*_args):
        counted[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return counted[0]


def add_mentors(make_user, how_many, start):
    for n in range(start, start + how_many):
        teacher = mentor(make_user, f"Mentor {n:02d}", skills=["Python", f"Topic {n}"])
        reviewed(teacher, [4, 5], make_user=make_user)
        upcoming(teacher, 2)


@pytest.mark.parametrize("path", ["/mentors", "/api/mentors/", "/api/mentors/?sort=soonest&available=1"])
def test_statements_do_not_grow_with_the_number_of_mentors(client, make_user, path):
    add_mentors(make_user, 2, 0)
    client.get(path)  # anything done once per process is not what is counted
    few = count_statements(client, path)
    add_mentors(make_user, 8, 2)
    many = count_statements(client, path)

    assert len(client.get("/api/mentors/").get_json()["data"]["items"]) == 10
    assert many == few


# ------------------------------------------------------------------------------ links


def test_the_header_leads_to_the_directory_signed_in_or_not(client, auth, make_user):
    assert 'href="/mentors"' in client.get("/").get_data(as_text=True)
    learner = make_user()
    auth.login(learner.email)
    assert 'href="/mentors"' in client.get("/sessions").get_data(as_text=True)


# ------------------------------------------------------------------------------ public profile


def test_public_profile_shows_stats_upcoming_sessions_and_reviews_with_attendance(client, make_user):
    asha = mentor(make_user, "Asha Rao", headline="Data engineer", bio="Ten years of pipelines.")
    reviewed(asha, [5, 4], make_user=make_user, minutes=55, duration=60)
    held = reviewed(asha, [3], make_user=make_user, minutes=80, duration=90)
    held.mentor_present_minutes = 90
    factories.make_session(asha, title="Called off", starts_at=NOW - timedelta(days=2), status="cancelled")
    next_one = upcoming(asha, 3, title="Pandas in practice")
    db.session.commit()

    response = client.get(f"/mentors/{asha.id}")

    html = response.get_data(as_text=True)
    page = page_text(response)
    assert response.status_code == 200
    assert "Ten years of pipelines." in page
    assert 'data-stat="sessions-held">2<' in html
    assert 'data-stat="learners-taught">3<' in html
    assert 'data-stat="hours-taught">2.5<' in html  # 60 + 90 minutes in the room
    assert re.search(r'data-stat="rating">4\.0<span[^>]*> from 3 reviews', html)
    assert 'data-stat="member-since">Nov 2026<' in html
    assert "Pandas in practice" in page and f"/sessions/{next_one.id}" in html
    assert "attended 55 of 60 min" in page and "attended 80 of 90 min" in page


def test_public_profile_of_a_new_mentor_says_so(client, make_user):
    fresh = mentor(make_user, "New Mentor")

    response = client.get(f"/mentors/{fresh.id}")

    html = response.get_data(as_text=True)
    assert 'data-stat="sessions-held">0<' in html and 'data-stat="hours-taught">0<' in html
    assert "No reviews yet" in page_text(response)
