"""Following mentors: idempotent follow and unfollow, who can be followed, the mentor told of a
new follower, followers told when the mentor publishes, and the followed mentors' next sessions."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from peerlearn.exceptions import Conflict, NotFound
from peerlearn.extensions import db
from peerlearn.models import Follow, Interaction, Notification, OutboundEmail
from peerlearn.services import follows, notifications
from peerlearn.services import sessions as session_service
from tests.factories import make_session
from tests.support.reviews import review_row
from tests.support.statements import counting_statements

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", name="Meera Iyer")


@pytest.fixture
def learner(make_user):
    return make_user(name="Kabir Shah")


def notes(user, kind):
    return list(
        db.session.scalars(
            select(Notification).where(Notification.user_id == user.id, Notification.kind == kind)
        )
    )


def emails(user):
    return list(db.session.scalars(select(OutboundEmail).where(OutboundEmail.user_id == user.id)))


def test_following_twice_is_one_follow_and_one_notification(mentor, learner, monkeypatch):
    refreshed = []
    monkeypatch.setattr("peerlearn.tasks.recommendations.refresh_learner_soon", refreshed.append)

    first, created = follows.follow(learner, mentor.id)
    again, created_again = follows.follow(learner, mentor.id)

    assert (created, created_again) == (True, False) and again.created_at == first.created_at == NOW
    assert db.session.scalar(select(func.count()).select_from(Follow)) == 1
    assert follows.follower_count(mentor.id) == 1 and follows.is_following(learner, mentor.id)
    [note] = notes(mentor, "new_follower")
    assert note.title == "Kabir Shah followed you" and note.url == f"/mentors/{mentor.id}"
    assert [e.subject for e in emails(mentor)] == ["Kabir Shah followed you on PeerLearn"]
    logged = db.session.execute(select(Interaction.kind, Interaction.mentor_id, Interaction.session_id)).all()
    assert logged == [("follow", mentor.id, None)]
    assert refreshed == [learner.id]


def test_the_mentors_email_follows_their_preferences(mentor, learner):
    notifications.set_preference(mentor.id, "new_follower", email=False)
    follows.follow(learner, mentor.id)
    assert len(notes(mentor, "new_follower")) == 1 and emails(mentor) == []


def test_unfollowing_is_idempotent_too(mentor, learner):
    follows.follow(learner, mentor.id)
    assert follows.unfollow(learner, mentor.id) is True
    assert follows.unfollow(learner, mentor.id) is False
    assert follows.follower_count(mentor.id) == 0 and not follows.is_following(learner, mentor.id)
    with pytest.raises(NotFound):
        follows.unfollow(mentor, learner.id)


def test_a_suspended_mentor_can_still_be_unfollowed(mentor, learner):
    follows.follow(learner, mentor.id)
    mentor.suspended_at = NOW
    db.session.commit()
    assert follows.following_with_upcoming(learner).items == []
    assert follows.unfollow(learner, mentor.id) is True


def test_nobody_follows_themselves_a_learner_or_a_suspended_mentor(mentor, learner, make_user):
    with pytest.raises(Conflict) as itself:
        follows.follow(mentor, mentor.id)
    assert (itself.value.status, itself.value.code) == (409, "cannot_follow_self")
    with pytest.raises(NotFound):
        follows.follow(mentor, learner.id)
    with pytest.raises(NotFound):
        follows.follow(learner, make_user(role="admin").id)
    with pytest.raises(NotFound):
        follows.follow(learner, make_user(role="mentor", suspended_at=NOW).id)
    with pytest.raises(NotFound):
        follows.follow(learner, 9999)
    assert db.session.scalar(select(func.count()).select_from(Follow)) == 0


def test_a_mentor_can_follow_another_mentor(mentor, make_user):
    other = make_user(role="mentor")
    assert follows.follow(mentor, other.id)[1] is True
    assert follows.follower_count(other.id) == 1


# ------------------------------------------------------------------------ publishing


def test_publishing_tells_every_follower_and_nobody_else(mentor, make_user):
    in_app_only, both, stranger, elsewhere = (make_user(name=f"Person {n}") for n in range(4))
    other_mentor = make_user(role="mentor")
    for follower in (in_app_only, both):
        follows.follow(follower, mentor.id)
    follows.follow(elsewhere, other_mentor.id)
    notifications.set_preference(in_app_only.id, "mentor_published", email=False)
    draft = make_session(
        mentor,
        title="Dynamic programming drills",
        status="draft",
        starts_at=datetime(2026, 12, 1, 13, 0, tzinfo=UTC),
    )

    session_service.publish_session(mentor, draft.id)

    for follower in (in_app_only, both):
        [note] = notes(follower, "mentor_published")
        assert note.title == "Meera Iyer published “Dynamic programming drills”"
        assert note.url == f"/sessions/{draft.id}" and note.data == {
            "session_id": draft.id,
            "mentor_id": mentor.id,
        }
        assert "Tue 1 Dec 2026, 6:30 PM (Asia/Kolkata)" in note.body and "Free" in note.body
    assert emails(in_app_only) == []
    [email] = emails(both)
    assert email.subject == "New from Meera Iyer: Dynamic programming drills"
    assert f"/sessions/{draft.id}" in email.text_body
    assert email.unsubscribe_url == notifications.unsubscribe_url(both, "mentor_published")
    for outsider in (stranger, elsewhere, mentor):
        assert notes(outsider, "mentor_published") == []

    session_service.publish_session(mentor, draft.id)  # already published: nobody hears twice
    assert len(notes(both, "mentor_published")) == 1


def test_creating_a_published_session_tells_followers_and_a_draft_does_not(mentor, learner):
    follows.follow(learner, mentor.id)
    data = {"title": "Graph search", "category": "Programming", "starts_at": NOW + timedelta(days=2)}
    session_service.create_session(mentor, data)
    assert notes(learner, "mentor_published") == []
    session_service.create_session(mentor, data, publish=True)
    assert len(notes(learner, "mentor_published")) == 1


def test_followers_who_turned_in_app_off_get_no_notification(mentor, learner):
    follows.follow(learner, mentor.id)
    notifications.set_preference(learner.id, "mentor_published", in_app=False)
    draft = make_session(mentor, status="draft")
    session_service.publish_session(mentor, draft.id)
    assert notes(learner, "mentor_published") == [] and len(emails(learner)) == 1


def test_publishing_runs_no_query_per_follower(mentor, make_user, monkeypatch):
    # Counted: the publishing transaction. Delivery comes after it, one queued job per email.
    monkeypatch.setattr("peerlearn.services.outbox.dispatch", lambda: 0)

    def publish_with(count):
        for follower in [make_user() for _ in range(count)]:
            db.session.add(Follow(follower_id=follower.id, mentor_id=mentor.id, created_at=NOW))
        db.session.commit()
        draft = make_session(mentor, status="draft")
        db.session.expire_all()
        with counting_statements() as statements:
            session_service.publish_session(mentor, draft.id)
        return statements

    def reads_and_notification_writes(statements):
        return [s for s in statements if s.startswith(("SELECT", "INSERT INTO notifications"))]

    few, many = publish_with(2), publish_with(20)  # the second publish tells 22 followers
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 24
    assert db.session.scalar(select(func.count()).select_from(OutboundEmail)) == 24
    # Emails are rendered one by one and, on SQLite, inserted one by one in the single flush.
    assert len(reads_and_notification_writes(many)) == len(reads_and_notification_writes(few))


# ------------------------------------------------------------------------ followed mentors


def test_following_with_upcoming_lists_each_mentors_next_sessions(mentor, learner, make_user):
    quiet = make_user(role="mentor", name="Quiet Mentor")
    suspended = make_user(role="mentor")
    for days_ago, followed in ((9, mentor), (5, quiet), (1, suspended)):
        follows.follow(learner, followed.id, now=NOW - timedelta(days=days_ago))
    suspended.suspended_at = NOW
    db.session.commit()
    for days in (5, 1, 3, 2):
        make_session(mentor, title=f"In {days} days", starts_at=NOW + timedelta(days=days))
    make_session(mentor, title="Draft", status="draft", starts_at=NOW + timedelta(hours=1))
    make_session(mentor, title="Started", status="live", starts_at=NOW - timedelta(minutes=5))
    review_row(make_session(mentor, status="completed", starts_at=NOW - timedelta(days=3)), make_user(), 4)

    entries = follows.following_with_upcoming(learner, limit_per_mentor=3).items

    assert [entry.mentor.id for entry in entries] == [quiet.id, mentor.id]  # latest follow first
    quiet_entry, mentor_entry = entries
    assert quiet_entry.upcoming == [] and quiet_entry.upcoming_total == 0
    assert [s.title for s in mentor_entry.upcoming] == ["In 1 days", "In 2 days", "In 3 days"]
    assert mentor_entry.upcoming_total == 4 and mentor_entry.rating.count == 1
    assert follows.following_with_upcoming(learner).total == 2
    second = follows.following_with_upcoming(learner, page=2, per_page=1)
    assert [e.mentor.id for e in second.items] == [mentor.id] and (second.total, second.pages) == (2, 2)
    assert follows.following_with_upcoming(make_user()).items == []


def test_following_with_upcoming_takes_the_same_queries_for_many_mentors(learner, make_user):
    def followed(count):
        for _ in range(count):
            other = make_user(role="mentor")
            follows.follow(learner, other.id)
            make_session(other, starts_at=NOW + timedelta(days=1))
            make_session(other, starts_at=NOW + timedelta(days=2))
        db.session.expire_all()
        with counting_statements() as statements:
            entries = follows.following_with_upcoming(learner).items
            assert all(len(entry.upcoming) == 2 for entry in entries)
            for entry in entries:
                [s.skills for s in entry.upcoming]
        return len(statements)

    assert followed(2) == followed(8)


def test_a_publish_that_lost_the_race_tells_nobody(mentor, learner, monkeypatch):
    """Two publishes at once (a double click): the one whose draft was published by the other
    between its read and its write changes nothing and notifies nobody a second time."""
    from sqlalchemy import update
    from sqlalchemy.orm.attributes import set_committed_value

    from peerlearn.models import LearningSession

    follows.follow(learner, mentor.id)
    draft = make_session(mentor, status="draft")
    real = session_service.mentor_session

    def read_before_the_other_publish(user, session_id):
        db.session.execute(
            update(LearningSession)
            .where(LearningSession.id == session_id)
            .values(status="scheduled", published_at=NOW)
        )
        db.session.commit()  # the other request's publish
        session = real(user, session_id)
        set_committed_value(session, "status", "draft")  # what this request had read
        return session

    monkeypatch.setattr(session_service, "mentor_session", read_before_the_other_publish)
    published = session_service.publish_session(mentor, draft.id)
    assert published.status == "scheduled"
    assert notes(learner, "mentor_published") == []  # (the winner told them; it is not run here)


def test_the_following_page_shows_the_rest_on_its_second_page(client, auth, learner, make_user, monkeypatch):
    from peerlearn.blueprints.community import follows as follow_views

    monkeypatch.setattr(follow_views, "LIST_PER_PAGE", 2)
    mentors = [make_user(role="mentor") for _ in range(3)]
    for days_ago, followed in zip((3, 2, 1), mentors, strict=True):
        follows.follow(learner, followed.id, now=NOW - timedelta(days=days_ago))
    auth.login(learner.email)
    first = client.get("/following").get_data(as_text=True)
    assert first.count("data-mentor-id=") == 2 and "Page 1 of 2" in first
    second = client.get("/following?page=2").get_data(as_text=True)
    assert second.count("data-mentor-id=") == 1 and f'data-mentor-id="{mentors[0].id}"' in second
    assert "Page 2 of 2" in second and 'rel="next"' not in second
