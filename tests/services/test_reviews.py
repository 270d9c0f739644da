"""Reviews: who may review (attendance from the room's log, once per booking, within the window),
the mentor's single reply, hidden reviews, averages and the catalog's rating sort."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from peerlearn.exceptions import Conflict, NotFound, PermissionDenied, ValidationError
from peerlearn.extensions import db
from peerlearn.models import Interaction, Notification, OutboundEmail, Review
from peerlearn.services import reviews, search
from tests.factories import make_session
from tests.support.reviews import NOW, attended, past_session, review_row, seat, stay


@pytest.fixture(autouse=True)
def frozen_clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


# Helpers shared by the community tests (imported by the page and API tests).


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", name="Meera Iyer")


@pytest.fixture
def learner(make_user):
    return make_user(name="Kabir Shah")


@pytest.fixture
def session(mentor):
    return past_session(mentor)


def refusal(learner, session):
    with pytest.raises((PermissionDenied, Conflict)) as caught:
        reviews.create_review(learner, session.id, rating=5, body="Great")
    return caught.value.status, caught.value.code


# ------------------------------------------------------------------------------ the gate


def test_a_learner_who_did_not_attend_is_refused(session, learner, make_user):
    seat(session, learner)  # a seat, but never in the room
    assert refusal(learner, session) == (403, "review_not_allowed")
    assert refusal(make_user(), session) == (403, "review_not_allowed")  # no booking at all
    assert db.session.scalar(select(Review.id)) is None


def test_forty_percent_is_not_enough_with_the_default_threshold_of_fifty(app, session, learner):
    assert app.config["REVIEW_MIN_ATTENDANCE_PERCENT"] == 50
    attended(session, learner, 24)  # 24 of 60 minutes
    status, code = refusal(learner, session)
    assert (status, code) == (403, "review_not_allowed")
    check = reviews.eligibility(learner, session)
    assert check.percent_attended == 40 and check.minutes_attended == 24
    assert "at least 50%" in check.refusal.message and "24 of its 60 minutes" in check.refusal.message


def test_overlapping_stays_count_once_and_only_inside_the_slot(session, learner):
    seat(session, learner)
    stay(session, learner, -20, 10)  # only 0-10 is inside the slot
    stay(session, learner, 5, 20)  # a second tab: adds 10-20
    stay(session, learner, 15, 24)  # overlaps again: adds 20-24
    stay(session, learner, 55, 90)  # ends after the slot: adds 55-60
    check = reviews.eligibility(learner, session)
    assert check.minutes_attended == 29 and not check.allowed  # 24 + 5 = 29 of 60
    stay(session, learner, 30, 31)  # one more minute reaches exactly half
    assert reviews.eligibility(learner, session).allowed


def test_the_threshold_is_configurable(app, session, learner):
    attended(session, learner, 24)
    app.config["REVIEW_MIN_ATTENDANCE_PERCENT"] = 40
    assert reviews.eligibility(learner, session).allowed
    app.config["REVIEW_MIN_ATTENDANCE_PERCENT"] = 41
    assert reviews.eligibility(learner, session).code == "review_not_allowed"


def test_attending_enough_publishes_the_review_and_tells_the_mentor(session, mentor, learner, monkeypatch):
    refreshed = []
    monkeypatch.setattr("peerlearn.tasks.recommendations.refresh_learner_soon", refreshed.append)
    booking = attended(session, learner, 45)

    review = reviews.create_review(learner, session.id, rating=4, body="  Clear and patient.  ")

    assert (review.booking_id, review.rating, review.body, review.minutes_attended) == (
        booking.id,
        4,
        "Clear and patient.",
        45,
    )
    assert review.mentor_id == mentor.id and review.created_at == NOW
    note = db.session.scalar(select(Notification).where(Notification.user_id == mentor.id))
    assert note.kind == "new_review" and note.url == f"/sessions/{session.id}"
    assert "Kabir Shah rated “Window functions in SQL” 4 out of 5." in note.body
    email = db.session.scalar(select(OutboundEmail).where(OutboundEmail.user_id == mentor.id))
    assert (
        email.subject == "New review of “Window functions in SQL”" and "Clear and patient." in email.text_body
    )
    rate = db.session.scalar(select(Interaction).where(Interaction.user_id == learner.id))
    assert (rate.kind, rate.session_id, rate.mentor_id, rate.value) == ("rate", session.id, mentor.id, 4)
    assert refreshed == [learner.id]


def test_a_second_review_of_the_same_booking_is_a_conflict(session, learner):
    attended(session, learner, 60)
    reviews.create_review(learner, session.id, rating=5)
    assert refusal(learner, session) == (409, "already_reviewed")
    assert reviews.eligibility(learner, session).review is not None


def test_a_hidden_review_still_uses_up_the_booking(session, learner, make_user):
    attended(session, learner, 60)
    review = reviews.create_review(learner, session.id, rating=1, body="Spam spam")
    reviews.hide_review(make_user(role="admin"), review.id, "Spam")
    assert refusal(learner, session) == (409, "already_reviewed")


def test_reviews_close_fourteen_days_after_the_end(app, session, learner, frozen_clock):
    assert app.config["REVIEW_WINDOW_DAYS"] == 14
    attended(session, learner, 60)
    frozen_clock.move_to(session.ends_at + timedelta(days=14, minutes=1), tick=False)
    assert refusal(learner, session) == (403, "review_window_closed")
    assert "14 days" in reviews.eligibility(learner, session).refusal.message
    frozen_clock.move_to(session.ends_at + timedelta(days=14) - timedelta(minutes=1), tick=False)
    assert reviews.create_review(learner, session.id, rating=5).rating == 5


def test_no_review_before_the_session_ends(mentor, learner):
    live = make_session(mentor, status="live", starts_at=NOW - timedelta(minutes=40), duration_minutes=60)
    attended(live, learner, 40)
    assert refusal(learner, live) == (403, "review_too_early")


def test_a_session_its_mentor_ended_early_can_be_reviewed_at_once(mentor, learner):
    ended = make_session(
        mentor, status="completed", starts_at=NOW - timedelta(minutes=40), ended_at=NOW - timedelta(minutes=5)
    )
    attended(ended, learner, 35)  # 35 of the 60 scheduled minutes
    assert reviews.create_review(learner, ended.id, rating=3).minutes_attended == 35


def test_mentors_cancelled_sessions_and_drafts_cannot_be_reviewed(mentor, learner, session):
    stay(session, mentor, 0, 60)
    assert refusal(mentor, session) == (403, "review_not_allowed")
    cancelled = past_session(mentor, status="cancelled")
    attended(cancelled, learner, 60)
    assert refusal(learner, cancelled) == (403, "review_not_allowed")
    draft = past_session(mentor, status="draft")
    with pytest.raises(NotFound):
        reviews.create_review(learner, draft.id, rating=5)


@pytest.mark.parametrize(
    ("rating", "body", "field"),
    [
        (0, "", "rating"),
        (6, "", "rating"),
        ("five", "", "rating"),
        (True, "", "rating"),
        (None, "", "rating"),
        (4, "x" * 2001, "body"),
        (4, ["not", "text"], "body"),
    ],
)
def test_bad_input_is_a_validation_error(session, learner, rating, body, field):
    attended(session, learner, 60)
    with pytest.raises(ValidationError) as caught:
        reviews.create_review(learner, session.id, rating=rating, body=body)
    assert caught.value.status == 422 and field in caught.value.fields
    assert reviews.create_review(learner, session.id, rating="5", body="x" * 2000).rating == 5


# ------------------------------------------------------------------------------ replies


def test_the_mentor_replies_once(session, mentor, learner, make_user):
    attended(session, learner, 60)
    review = reviews.create_review(learner, session.id, rating=5)
    with pytest.raises(ValidationError):
        reviews.reply(mentor, review.id, "   ")
    with pytest.raises(PermissionDenied) as other:
        reviews.reply(make_user(role="mentor"), review.id, "Not my session")
    assert other.value.code == "not_review_mentor"
    with pytest.raises(PermissionDenied):
        reviews.reply(learner, review.id, "Replying to myself")

    replied = reviews.reply(mentor, review.id, "Thank you, Kabir!")
    assert replied.reply == "Thank you, Kabir!" and replied.replied_at == NOW

    with pytest.raises(Conflict) as again:
        reviews.reply(mentor, review.id, "One more thing")
    assert (again.value.status, again.value.code) == (409, "already_replied")
    assert db.session.get(Review, review.id).reply == "Thank you, Kabir!"


def test_hidden_reviews_cannot_be_replied_to(session, mentor, learner, make_user):
    review = review_row(session, learner, 2, hidden=True)
    with pytest.raises(NotFound):
        reviews.reply(mentor, review.id, "Hello")


# ------------------------------------------------------------------------------ moderation


def test_hide_review_is_for_admins_and_records_who_and_why(session, learner, make_user):
    review = review_row(session, learner, 1)
    with pytest.raises(PermissionDenied):
        reviews.hide_review(make_user(role="mentor"), review.id, "Rude")
    admin = make_user(role="admin")
    with pytest.raises(ValidationError):
        reviews.hide_review(admin, review.id, "  ")
    with pytest.raises(NotFound):
        reviews.hide_review(admin, 999, "Rude")

    hidden = reviews.hide_review(admin, review.id, "Rude language", commit=False)
    assert db.session.is_modified(hidden)  # left for the caller's audit entry and commit
    db.session.commit()
    db.session.expire_all()
    hidden = db.session.get(Review, review.id)
    assert (hidden.hidden_at, hidden.hidden_reason, hidden.hidden_by_id) == (NOW, "Rude language", admin.id)
    assert reviews.hide_review(admin, review.id, "Again").hidden_reason == "Rude language"


# ------------------------------------------------------------------------------ averages


def test_averages_and_counts_leave_hidden_reviews_out(mentor, make_user):
    first, second = past_session(mentor), past_session(mentor, ended_minutes_ago=60 * 24)
    other = past_session(make_user(role="mentor"))
    review_row(first, make_user(), 5)
    review_row(first, make_user(), 4)
    review_row(first, make_user(), 1, hidden=True)
    review_row(second, make_user(), 4)
    review_row(other, make_user(), 1)

    assert reviews.mentor_rating(mentor.id) == reviews.Rating(4.33, 3)
    assert reviews.mentor_rating(mentor.id).rounded == 4.3
    assert reviews.session_rating(first.id) == reviews.Rating(4.5, 2)
    assert reviews.session_rating(second.id) == reviews.Rating(4.0, 1)
    assert reviews.mentor_rating(make_user(role="mentor").id) == reviews.Rating(None, 0)
    assert reviews.mentor_ratings([mentor.id, other.mentor_id])[mentor.id] == reviews.Rating(4.33, 3)

    items, total = reviews.mentor_reviews(mentor.id)
    assert total == 3 and sorted(r.rating for r in items) == [4, 4, 5]
    items, total = reviews.session_reviews(first.id, per_page=1)
    assert total == 2 and len(items) == 1


def test_the_catalog_rating_sort_orders_by_visible_average_then_count(make_user):
    steady, star, unrated, hidden_only = (make_user(role="mentor") for _ in range(4))
    for mentor, ratings in ((steady, [5, 4, 5, 4]), (star, [5])):
        for rating in ratings:
            review_row(past_session(mentor), make_user(), rating)
    review_row(past_session(star), make_user(), 1, hidden=True)  # would pull star down
    review_row(past_session(hidden_only), make_user(), 5, hidden=True)
    # Another mentor with a 4.5 average on fewer reviews comes after "steady".
    fewer = make_user(role="mentor")
    for rating in (5, 4):
        review_row(past_session(fewer), make_user(), rating)
    soon = NOW + timedelta(days=1)
    for mentor, title in ((unrated, "Unrated"), (hidden_only, "Hidden only"), (fewer, "Fewer")):
        make_session(mentor, title=title, starts_at=soon, seats_taken=3)
    make_session(steady, title="Steady", starts_at=soon + timedelta(hours=1))
    make_session(star, title="Star", starts_at=soon + timedelta(hours=2))

    items, _ = search.search_sessions(search.parse_search_params({"sort": "rating"}))
    assert [s.title for s in items] == ["Star", "Steady", "Fewer", "Unrated", "Hidden only"]
