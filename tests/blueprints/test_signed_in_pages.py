"""A signed-in person's session page and mentor profile: what nobody owns (the session's words,
its reviews, similar sessions, the mentor's profile and latest reviews) is drawn once and kept
between changes to the catalog, while what is theirs (a booking, forms, sessions they booked or
teach) stays theirs; and a person loads without their skill lists."""

from datetime import timedelta

import pytest

from peerlearn.extensions import db
from peerlearn.models import SimilarSessions, User, utcnow
from peerlearn.services import booking as booking_service
from peerlearn.services import showcase
from peerlearn.services.sessions import viewable_session
from peerlearn.services.skills import resolve
from tests import factories
from tests.conftest import AuthActions
from tests.support.reviews import review_row
from tests.support.statements import counting_statements


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", name="Asha Rao", email="asha@example.com", headline="Data engineer")


@pytest.fixture
def learners(make_user):
    return [make_user(name=f"Learner {n}", email=f"learner{n}@example.com") for n in range(3)]


def reads(statements, table):
    """The statements reading ``table``, but for the session's own load (which reads the request
    it was made from in a subquery)."""
    return [
        s
        for s in statements
        if s.lstrip().upper().startswith("SELECT")
        and f"FROM {table}" in s
        and not s.lstrip().startswith("SELECT learning_sessions.")
    ]


def view(app, email, path):
    """``path`` as the person with ``email`` sees it (signed in with a browser of their own)."""
    client = app.test_client()
    AuthActions(client).login(email)
    with counting_statements() as statements:
        response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True), statements


# ----------------------------------------------------------------------------- loading people


def test_a_person_loads_without_their_skill_lists_until_read(make_user):
    person = make_user()
    person.skills = resolve(["Python", "SQL"])
    db.session.commit()
    db.session.expire_all()

    with counting_statements() as statements:
        loaded = db.session.get(User, person.id)
    assert len(statements) == 1

    with counting_statements() as statements:
        assert [skill.name for skill in loaded.skills] == ["Python", "SQL"]
    assert len(statements) == 1


def test_a_session_page_loads_its_session_in_one_statement(mentor):
    session_id = factories.make_session(mentor, skills=["Pandas"]).id
    db.session.expire_all()
    with counting_statements() as statements:
        found = viewable_session(None, session_id)
        assert found.mentor.name == "Asha Rao"
    assert len(statements) == 1, "\n".join(s[:60] for s in statements)
    assert [skill.name for skill in found.skills] == ["Pandas"]


# ----------------------------------------------------------------------------- session page


def test_the_next_signed_in_learner_reads_no_reviews_and_no_similar_sessions(app, mentor, learners):
    held = factories.make_session(
        mentor,
        title="Pandas basics",
        skills=["Pandas"],
        status="completed",
        starts_at=utcnow() - timedelta(days=2),
    )
    review_row(held, learners[2], 5, body="Patient and clear.")
    factories.make_session(
        mentor, title="Pandas advanced", skills=["Pandas"], starts_at=utcnow() + timedelta(days=3)
    )
    path = f"/sessions/{held.id}"

    first, drawn = view(app, learners[0].email, path)
    second, kept = view(app, learners[1].email, path)

    for page in (first, second):
        assert "Patient and clear." in page and "Pandas advanced" in page and "Pandas basics" in page
    assert reads(drawn, "reviews") and reads(drawn, "similar_sessions")
    assert not reads(kept, "reviews") and not reads(kept, "similar_sessions")
    assert not reads(kept, "session_skills") and not reads(kept, "session_requests")
    assert len(kept) < len(drawn)


def test_kept_parts_leave_each_persons_booking_theirs(app, mentor, learners):
    session = factories.make_session(mentor, title="SQL joins", starts_at=utcnow() + timedelta(days=3))
    booking_service.book(session.id, learners[0])
    path = f"/sessions/{session.id}"

    booked, _ = view(app, learners[0].email, path)
    other, _ = view(app, learners[1].email, path)
    again, _ = view(app, learners[0].email, path)

    assert "You're booked." in booked and "You're booked." in again
    assert "You're booked." not in other and f'action="/sessions/{session.id}/book"' in other
    assert "SQL joins" in other


def test_similar_sessions_leave_out_what_the_viewer_booked_or_teaches(app, mentor, learners, make_user):
    other_mentor = make_user(role="mentor", name="Ravi Menon", email="ravi@example.com", headline="Analyst")
    session = factories.make_session(mentor, title="Pandas basics", skills=["Pandas"])
    booked = factories.make_session(other_mentor, title="Pandas in practice", skills=["Pandas"])
    also = factories.make_session(mentor, title="Pandas for teams", skills=["Pandas"])
    scores = [{"session_id": booked.id, "score": 0.9}, {"session_id": also.id, "score": 0.8}]
    db.session.add(SimilarSessions(session_id=session.id, similar=scores))
    db.session.commit()
    booking_service.book(booked.id, learners[1])
    path = f"/sessions/{session.id}"

    shown, _ = view(app, learners[0].email, path)  # draws and keeps the section
    booker, _ = view(app, learners[1].email, path)
    teacher, _ = view(app, other_mentor.email, path)
    again, _ = view(app, learners[2].email, path)

    for page in (shown, again):
        assert "Pandas in practice" in page.split("Similar sessions", 1)[1]
    for page in (booker, teacher):
        similar = page.split("Similar sessions", 1)[1]
        assert "Pandas for teams" in similar and "Pandas in practice" not in similar


def test_the_owner_gets_reply_forms_under_reviews_others_had_kept(app, mentor, learners):
    held = factories.make_session(mentor, status="completed", starts_at=utcnow() - timedelta(days=2))
    review_row(held, learners[2], 4, body="Good pace.")
    path = f"/sessions/{held.id}"

    learner_page, _ = view(app, learners[0].email, path)
    owner_page, _ = view(app, mentor.email, path)

    assert "Good pace." in learner_page and "Reply to Learner" not in learner_page
    assert "Reply to Learner" in owner_page


# ----------------------------------------------------------------------------- mentor profile


def test_the_next_signed_in_person_reads_the_profile_from_kept_parts(app, mentor, learners):
    mentor.skills = resolve(["Python"])
    held = factories.make_session(mentor, status="completed", starts_at=utcnow() - timedelta(days=2))
    review_row(held, learners[2], 5, body="Loved it.")
    path = f"/mentors/{mentor.id}"

    first, drawn = view(app, learners[0].email, path)
    second, kept = view(app, learners[1].email, path)

    for page in (first, second):
        assert "Loved it." in page and ">Python</li>" in page and "Ask for a session" in page
    assert reads(drawn, "reviews")
    assert not reads(kept, "reviews") and not reads(kept, "skills") and not reads(kept, "session_requests")
    assert len(kept) < len(drawn)


def test_a_new_review_shows_on_the_kept_profile_at_once(app, mentor, learners):
    held = factories.make_session(mentor, status="completed", starts_at=utcnow() - timedelta(days=2))
    path = f"/mentors/{mentor.id}"
    before, _ = view(app, learners[0].email, path)
    review_row(held, learners[2], 3, body="Too fast for me.")
    after, _ = view(app, learners[1].email, path)

    assert "Too fast for me." not in before and "Too fast for me." in after


def test_the_landing_pages_mentors_bring_their_skills_in_one_statement(make_user):
    for n in range(3):
        person = make_user(role="mentor", headline=f"Teaches {n}")
        person.skills = resolve(["Python", f"Topic {n}"])
    db.session.commit()
    db.session.expire_all()
    with counting_statements() as statements:
        cards = showcase.spotlight(limit=3)
        assert all(len(card.skills) == 2 for card in cards)
    assert len(statements) == 2
