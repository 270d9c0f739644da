"""Reviews and follows on pages: the review form on the session page and its own page, the
mentor's reply, "Write a review" in My bookings, ratings and followers on profiles, Follow and
Unfollow, and "Mentors you follow"."""

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select

from peerlearn.extensions import db
from peerlearn.models import Follow, Review
from peerlearn.services import follows, reviews
from tests.conftest import extract_csrf
from tests.factories import make_session
from tests.support.reviews import NOW, attended, past_session, review_row, seat


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
def session(mentor):
    return past_session(mentor)


def text(response):
    return unescape(response.get_data(as_text=True))


def csrf(client, path):
    return extract_csrf(client.get(path).get_data(as_text=True))


def test_an_attendee_reviews_from_the_session_page(client, auth, session, learner):
    attended(session, learner, 45)
    auth.login(learner.email)

    page = text(client.get(f"/sessions/{session.id}"))
    assert 'id="write-review"' in page and "You were in the room for 45 of 60 minutes" in page
    response = client.post(
        f"/sessions/{session.id}/review",
        data={"rating": "4", "body": "Patient and clear.", "csrf_token": extract_csrf(page)},
    )
    assert response.status_code == 303 and response.headers["Location"].endswith(
        f"/sessions/{session.id}#reviews"
    )

    page = text(client.get(f"/sessions/{session.id}"))
    assert "Thank you: your review is published." in page
    assert 'id="write-review"' not in page  # once per booking
    assert "Patient and clear." in page and "attended 45 of 60 min" in page
    assert 'data-rating="4.0" data-review-count="1"' in page and "1 review" in page


def test_the_review_page_explains_a_refusal_with_its_status(client, auth, session, learner, make_user):
    attended(session, learner, 24)  # 40 %
    auth.login(learner.email)
    response = client.get(f"/sessions/{session.id}/review")
    assert response.status_code == 403
    assert "at least 50% of the session" in text(response) and "24 of its 60 minutes" in text(response)
    token = csrf(client, f"/sessions/{session.id}")
    posted = client.post(f"/sessions/{session.id}/review", data={"rating": "5", "csrf_token": token})
    assert posted.status_code == 403 and db.session.scalar(select(Review.id)) is None

    stranger = make_user(email="stranger@example.com")
    auth.logout()
    auth.login(stranger.email)
    assert client.get(f"/sessions/{session.id}/review").status_code == 403
    page = text(client.get(f"/sessions/{session.id}"))
    assert 'id="write-review"' not in page and "data-review-refusal" not in page  # no seat: nothing to say


def test_the_review_form_shows_field_errors(client, auth, session, learner):
    attended(session, learner, 60)
    auth.login(learner.email)
    token = csrf(client, f"/sessions/{session.id}/review")
    response = client.post(f"/sessions/{session.id}/review", data={"body": "x" * 2001, "csrf_token": token})
    page = text(response)
    assert response.status_code == 422
    assert "Choose 1 to 5 stars." in page and "Field cannot be longer than 2000 characters." in page
    assert db.session.scalar(select(Review.id)) is None


def test_a_second_review_and_a_closed_window_are_refused(client, auth, session, learner):
    attended(session, learner, 60)
    auth.login(learner.email)
    token = csrf(client, f"/sessions/{session.id}/review")
    client.post(f"/sessions/{session.id}/review", data={"rating": "5", "csrf_token": token})
    again = client.post(f"/sessions/{session.id}/review", data={"rating": "1", "csrf_token": token})
    assert again.status_code == 409 and "You have already reviewed this session." in text(again)
    assert db.session.scalar(select(Review.rating)) == 5

    other = past_session(session.mentor, title="Long ago", ended_minutes_ago=60 * 24 * 15)
    attended(other, learner, 60)
    response = client.get(f"/sessions/{other.id}/review")
    assert response.status_code == 403 and "Reviews close 14 days after the session ends." in text(response)
    assert "Reviews close 14 days" in text(client.get(f"/sessions/{other.id}"))


def test_the_mentor_replies_once_from_the_session_page(client, auth, session, mentor, learner):
    attended(session, learner, 60)
    review = reviews.create_review(learner, session.id, rating=5, body="Loved it")
    auth.login(mentor.email)

    page = text(client.get(f"/sessions/{session.id}"))
    assert f'action="/reviews/{review.id}/reply"' in page
    token = extract_csrf(page)
    response = client.post(
        f"/reviews/{review.id}/reply", data={"body": "Thanks, Kabir!", "csrf_token": token}
    )
    assert response.status_code == 303 and response.headers["Location"].endswith(f"#review-{review.id}")
    page = text(client.get(f"/sessions/{session.id}"))
    assert "Reply from Meera Iyer" in page and "Thanks, Kabir!" in page
    assert f'action="/reviews/{review.id}/reply"' not in page

    client.post(f"/reviews/{review.id}/reply", data={"body": "Again", "csrf_token": token})
    assert "You have already replied to this review." in text(client.get(f"/sessions/{session.id}"))
    db.session.expire_all()
    assert db.session.get(Review, review.id).reply == "Thanks, Kabir!"


def test_learners_see_no_reply_form_and_cannot_reply(client, auth, session, learner):
    attended(session, learner, 60)
    review = reviews.create_review(learner, session.id, rating=5)
    auth.login(learner.email)
    page = text(client.get(f"/sessions/{session.id}"))
    assert "/reply" not in page
    response = client.post(
        f"/reviews/{review.id}/reply", data={"body": "Me", "csrf_token": extract_csrf(page)}
    )
    assert "Only the session's mentor can reply to this review." in text(
        client.get(response.headers["Location"])
    )
    db.session.expire_all()
    assert db.session.get(Review, review.id).reply is None


def test_hidden_reviews_never_show_or_count(client, session, make_user):
    review_row(session, make_user(), 5, body="Visible praise")
    review_row(session, make_user(), 1, body="Hidden rant", hidden=True)
    for path in (
        f"/sessions/{session.id}",
        f"/mentors/{session.mentor_id}",
        f"/mentors/{session.mentor_id}/reviews",
    ):
        page = text(client.get(path))
        assert "Visible praise" in page and "Hidden rant" not in page, path
        assert 'data-rating="5.0" data-review-count="1"' in page, path


def test_a_mentors_reviews_are_paged_twenty_at_a_time(client, mentor, make_user):
    sessions = [past_session(mentor, ended_minutes_ago=60 + 120 * n, capacity=50) for n in range(2)]
    written = [review_row(sessions[n % 2], make_user(), 4, body=f"Review number {n}") for n in range(21)]
    first = text(client.get(f"/mentors/{mentor.id}/reviews"))
    second = text(client.get(f"/mentors/{mentor.id}/reviews?page=2"))
    shown = [re.findall(r'data-review-id="(\d+)"', page) for page in (first, second)]
    assert [len(ids) for ids in shown] == [20, 1]
    assert sorted(int(i) for ids in shown for i in ids) == sorted(review.id for review in written)
    assert "Page 1 of 2" in first and 'rel="next"' in first
    assert "Page 2 of 2" in second and 'rel="prev"' in second


def test_my_bookings_offers_a_review_for_ended_sessions(client, auth, mentor, learner, make_user):
    ended = past_session(mentor, title="Ended last hour")
    attended(ended, learner, 60)
    missed = past_session(mentor, title="Missed it")
    seat(missed, learner, status="no_show")
    old = past_session(mentor, title="Long ago", ended_minutes_ago=60 * 24 * 20)
    attended(old, learner, 60)
    auth.login(learner.email)

    page = text(client.get("/bookings?tab=past"))
    assert page.count("Write a review") == 1 and f'href="/sessions/{ended.id}/review"' in page
    reviews.create_review(learner, ended.id, rating=4)
    page = text(client.get("/bookings?tab=past"))
    assert "Write a review" not in page and f'href="/sessions/{ended.id}#reviews"' in page


def test_the_mentor_profile_shows_rating_followers_and_latest_reviews(client, mentor, make_user):
    for n, rating in enumerate((5, 4, 4, 5, 3, 5)):
        review_row(past_session(mentor, title=f"Session {n}"), make_user(), rating, body=f"Review {n}")
    for _ in range(3):
        follows.follow(make_user(), mentor.id)

    page = text(client.get(f"/mentors/{mentor.id}"))
    assert 'data-rating="4.33" data-review-count="6"' in page and "4.3" in page and "6 reviews" in page
    assert 'data-follower-count="3"' in page and "3 followers" in page
    assert page.count('data-review-id="') == 5 and f'href="/mentors/{mentor.id}/reviews"' in page
    assert "All 6 reviews" in page

    everything = text(client.get(f"/mentors/{mentor.id}/reviews"))
    assert everything.count('data-review-id="') == 6 and "On " in everything
    assert client.get(f"/mentors/{make_user().id}/reviews").status_code == 404


def test_follow_and_unfollow_from_the_profile_and_the_session_page(client, auth, mentor, learner):
    upcoming = make_session(mentor, title="Upcoming one", starts_at=NOW + timedelta(days=2))
    anonymous = text(client.get(f"/mentors/{mentor.id}"))
    assert f'href="/auth/login?next=/mentors/{mentor.id}"' in anonymous

    auth.login(learner.email)
    page = text(client.get(f"/sessions/{upcoming.id}"))
    assert f'action="/mentors/{mentor.id}/follow"' in page and 'data-follower-count="0"' in page
    token = extract_csrf(page)
    for _ in range(2):  # following twice is fine
        response = client.post(
            f"/mentors/{mentor.id}/follow", data={"csrf_token": token, "next": f"/sessions/{upcoming.id}"}
        )
        assert response.status_code == 303 and response.headers["Location"] == f"/sessions/{upcoming.id}"
    assert db.session.scalar(select(Follow.mentor_id)) == mentor.id

    page = text(client.get(f"/mentors/{mentor.id}"))
    assert ">Following</button>" in page and 'data-follower-count="1"' in page
    response = client.post(
        f"/mentors/{mentor.id}/unfollow", data={"csrf_token": token, "next": "//evil.example"}
    )
    assert response.headers["Location"] == f"/mentors/{mentor.id}"
    assert ">Follow</button>" in text(client.get(f"/mentors/{mentor.id}"))
    assert not follows.is_following(learner, mentor.id)


def test_self_follows_and_non_mentors_are_refused(client, auth, mentor, learner):
    auth.login(mentor.email)
    page = text(client.get(f"/mentors/{mentor.id}"))
    assert (
        f'action="/mentors/{mentor.id}/follow"' not in page and 'data-follower-count="0"' in page
    )  # no button on one's own profile
    token = extract_csrf(page)
    assert client.post(f"/mentors/{mentor.id}/follow", data={"csrf_token": token}).status_code == 409
    assert client.post(f"/mentors/{learner.id}/follow", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/mentors/{learner.id}/follow").status_code == 400  # no CSRF token
    assert db.session.scalar(select(Follow.mentor_id)) is None


def test_following_page_lists_mentors_and_their_next_sessions(client, auth, mentor, learner, make_user):
    assert client.get("/following").status_code == 302  # log in first
    quiet = make_user(role="mentor", name="Quiet Mentor")
    for days in (1, 2, 3, 4):
        make_session(mentor, title=f"Meera session {days}", starts_at=NOW + timedelta(days=days))
    follows.follow(learner, mentor.id)
    follows.follow(learner, quiet.id)
    auth.login(learner.email)

    page = text(client.get("/following"))
    assert "Mentors you follow" in page and "Meera Iyer" in page and "Quiet Mentor" in page
    assert "Meera session 3" in page and "Meera session 4" not in page and "All 4 upcoming sessions" in page
    assert "Quiet has no sessions scheduled right now." in page
    assert 'href="/following"' in page  # in the account menu

    auth.logout()
    auth.login(make_user(email="new@example.com").email)
    assert "You don't follow any mentors yet." in text(client.get("/following"))


def test_the_session_page_says_nothing_about_reviews_before_it_ends(client, mentor):
    upcoming = make_session(mentor, starts_at=NOW + timedelta(days=1))
    assert 'id="reviews"' not in text(client.get(f"/sessions/{upcoming.id}"))
    ended = past_session(mentor)
    assert "No reviews yet." in text(client.get(f"/sessions/{ended.id}"))
