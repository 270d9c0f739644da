"""The simulated platform: reproducible, within its own rules (seats, time), realistic in volume,
honest about what the recommender could know at a point in time, and loadable into the database."""

from collections import Counter
from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import func, select

from peerlearn.extensions import db
from peerlearn.ml import recommender, world
from peerlearn.ml.recommender import KIND_CODE, KINDS
from peerlearn.ml.simulate import SimulationConfig, simulate
from peerlearn.ml.text import clean_skill_name, skill_slug
from peerlearn.ml.world import DAY, EMAIL_DOMAIN, SKILLS_BY_CATEGORY
from peerlearn.models import (
    CATEGORIES,
    LANGUAGES,
    Booking,
    Interaction,
    LearningSession,
    User,
    session_skills,
    user_interests,
    user_skills,
)
from peerlearn.services.simulated_platform import SimulationExists, write_to_database

END = datetime(2026, 11, 20, 4, 30, tzinfo=UTC).timestamp()
SMALL = SimulationConfig(learners=300, mentors=45, sessions=300, end=END)


@pytest.fixture(scope="module")
def platform():
    return simulate(SMALL)


def bookings_of(platform):
    return list(zip(platform.booking_learner.tolist(), platform.booking_session.tolist(), strict=True))


def test_the_simulated_world_speaks_the_apps_categories_and_languages_in_its_order():
    # The shares are listed in this order, and the loader writes these names into checked columns.
    assert world.CATEGORIES == CATEGORIES
    assert world.LANGUAGES == LANGUAGES
    assert len(world.CATEGORY_SHARE) == len(CATEGORIES)
    assert len(world.SESSION_LANGUAGE_SHARE) == len(world.LEARNER_LANGUAGE_SHARE) == len(LANGUAGES)


def test_the_skill_vocabulary_is_real_and_clean():
    assert set(SKILLS_BY_CATEGORY) == set(CATEGORIES)
    names = [name for skills in SKILLS_BY_CATEGORY.values() for name in skills]
    assert all(8 <= len(skills) <= 15 for skills in SKILLS_BY_CATEGORY.values())
    assert all(clean_skill_name(name) == name for name in names)
    assert len({skill_slug(name) for name in names}) == len(names)


def test_the_same_seed_gives_the_same_platform(platform):
    again = simulate(SMALL)
    for column in ("event_user", "event_kind", "event_session", "event_mentor", "event_time", "booking_time"):
        assert np.array_equal(getattr(platform, column), getattr(again, column)), column
    assert np.array_equal(platform.event_value, again.event_value, equal_nan=True)
    assert again.search_text == platform.search_text
    assert again.session_title == platform.session_title
    assert again.user_name == platform.user_name

    other = simulate(SimulationConfig(learners=300, mentors=45, sessions=300, end=END, seed=8))
    assert other.n_interactions != platform.n_interactions or other.session_title != platform.session_title


def test_sessions_never_take_more_learners_than_seats(platform):
    seats = np.bincount(platform.booking_session, minlength=platform.n_sessions)
    assert np.array_equal(seats, platform.session_seats_taken)
    assert (seats <= platform.session_capacity).all()
    assert (seats == platform.session_capacity).sum() > 10  # the limit is reached, and holds
    pairs = bookings_of(platform)
    assert len(set(pairs)) == len(pairs)  # nobody books the same session twice


def test_bookings_happen_between_publication_and_start(platform):
    session = platform.booking_session
    assert (platform.booking_time >= platform.session_published_at[session]).all()
    assert (platform.booking_time < platform.session_starts_at[session]).all()
    assert (platform.booking_time < platform.end).all()
    ended = platform.session_starts_at[session] + platform.session_duration[session] * 60 <= platform.end
    statuses = np.array(platform.booking_status)
    assert set(statuses[ended]) == {"attended", "no_show"}
    assert set(statuses[~ended]) == {"confirmed"}
    attended = (statuses[ended] == "attended").mean()
    assert 0.75 < attended < 0.95


def test_sessions_are_plausible(platform):
    price = platform.session_price_paise
    assert ((price == 0) | ((price >= 199_00) & (price <= 1999_00))).all()
    assert 0.2 < (price == 0).mean() < 0.4
    assert platform.session_capacity.min() >= 1 and platform.session_capacity.max() <= 20
    assert platform.session_duration.min() >= 30 and platform.session_duration.max() <= 120
    assert (platform.session_published_at < platform.session_starts_at).all()
    assert (np.diff(platform.session_published_at) >= 0).all()
    upcoming = platform.session_starts_at > platform.end
    assert 0 < upcoming.sum() < platform.n_sessions * 0.15
    assert (platform.session_starts_at[upcoming] <= platform.end + 16 * DAY).all()
    assert (platform.session_starts_at[~upcoming] >= platform.start).all()
    for s in range(platform.n_sessions):
        mentor_user = platform.mentor_user[platform.session_mentor[s]]
        skills = platform.session_skills[s]
        assert 1 <= len(skills) <= 3
        assert set(skills) <= set(platform.user_skills[mentor_user])
        assert set(platform.skill_category[skills]) == {platform.session_category[s]}
        names = [platform.skill_names[k] for k in skills]
        assert any(name in platform.session_title[s] for name in names)
        assert 0 < len(platform.session_title[s]) <= 120
        assert all(name in platform.session_description[s] for name in names)


def test_learners_are_active_and_varied(platform):
    per_learner = np.bincount(platform.event_user, minlength=SMALL.learners)
    assert 25 <= per_learner.mean() <= 60
    assert per_learner.max() > 4 * per_learner.mean()  # a few learners do much more than most
    kinds = Counter(KINDS[k] for k in platform.event_kind.tolist())
    assert set(kinds) == set(KINDS)
    assert kinds["view"] > kinds["book"] > kinds["attend"] > kinds["complete"] > kinds["rate"] > kinds["gift"]
    assert kinds["book"] == len(platform.booking_time)
    learners = range(SMALL.learners)
    silent = [u for u in learners if not platform.user_skills[u] and not platform.user_interests[u]]
    assert 0.05 * SMALL.learners < len(silent) < 0.3 * SMALL.learners  # cold start
    assert platform.user_email[0] == f"learner1@{EMAIL_DOMAIN}"
    assert platform.user_role[platform.mentor_user[0]] == "mentor"


def test_events_follow_the_sessions_they_are_about(platform):
    assert (np.diff(platform.event_time) >= 0).all()
    assert (platform.event_time < platform.end).all()
    on_session = platform.event_session >= 0
    assert np.array_equal(
        platform.event_mentor[on_session], platform.session_mentor[platform.event_session[on_session]]
    )
    booked = set(bookings_of(platform))
    for kind in ("attend", "complete", "rate", "gift"):
        chosen = platform.event_kind == KIND_CODE[kind]
        pairs = zip(
            platform.event_user[chosen].tolist(), platform.event_session[chosen].tolist(), strict=True
        )
        assert set(pairs) <= booked, kind
    rated = platform.event_kind == KIND_CODE["rate"]
    assert set(platform.event_value[rated].tolist()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    follows = platform.event_kind == KIND_CODE["follow"]
    assert (platform.event_session[follows] == -1).all() and (platform.event_mentor[follows] >= 0).all()
    searches = platform.event_kind == KIND_CODE["search"]
    assert searches.sum() == len(platform.search_text) > 0
    assert np.array_equal(platform.search_time, platform.event_time[searches])
    vocabulary = {name.lower() for name in platform.skill_names}
    assert all(text.lower() in vocabulary for text in platform.search_text)


def test_a_dataset_only_knows_the_past_and_truth_is_what_was_booked_next(platform):
    as_of = platform.split_time()
    ds, truth = platform.dataset(as_of)
    assert ds.now == as_of == platform.end - 14 * DAY
    assert (ds.event_time < as_of).all()
    assert len(ds.event_user) == (platform.event_time < as_of).sum() > 0
    assert len(ds.search_text) == len(ds.search_user) == (platform.search_time < as_of).sum()
    assert ds.n_sessions == (platform.session_published_at <= as_of).sum()
    assert (ds.event_session < ds.n_sessions).all()
    assert truth.shape == ds.excluded.shape == (ds.n_users, ds.n_sessions)
    assert ds.user_skills.shape == ds.user_interests.shape == (ds.n_users, ds.n_skills)
    assert ds.session_skills.shape == (ds.n_sessions, ds.n_skills)

    starts = platform.session_starts_at[: ds.n_sessions]
    assert ds.session_open.sum() > 0
    assert ((starts[ds.session_open] > as_of) & (starts[ds.session_open] <= as_of + 14 * DAY)).all()
    booked_before = Counter(platform.booking_session[platform.booking_time < as_of].tolist())
    for s in np.flatnonzero(ds.session_open):
        assert booked_before[s] < platform.session_capacity[s]

    rows, cols = truth.nonzero()
    assert len(rows) > 0
    assert ds.session_open[cols].all()
    assert ds.excluded[rows, cols].sum() == 0  # nobody books again what they already booked

    def pairs(mask):
        learners, sessions = platform.booking_learner[mask].tolist(), platform.booking_session[mask].tolist()
        return set(zip(learners, sessions, strict=True))

    when = platform.booking_time
    assert set(zip(rows.tolist(), cols.tolist(), strict=True)) <= pairs(
        (when >= as_of) & (when < as_of + 14 * DAY)
    )
    excluded_rows, excluded_cols = ds.excluded.nonzero()
    assert set(zip(excluded_rows.tolist(), excluded_cols.tolist(), strict=True)) == pairs(when < as_of)

    mentor_rows = np.flatnonzero(ds.user_mentor >= 0)
    assert len(mentor_rows) == ds.n_mentors
    assert np.array_equal(ds.mentor_ids[ds.user_mentor[mentor_rows]], ds.user_ids[mentor_rows])
    assert ds.mentor_names[0] == platform.user_name[platform.mentor_user[0]]
    first = ds.session_text[0]
    assert platform.session_title[0] in first and CATEGORIES[ds.session_category[0]] in first


def test_the_validation_split_ends_where_the_test_split_begins(platform):
    validation, _ = platform.temporal_split(validation=True)
    test, _ = platform.temporal_split()
    assert validation.now == test.now - 14 * DAY
    assert len(validation.event_user) < len(test.event_user)


def test_the_recommender_learns_the_simulated_tastes():
    platform = simulate(SimulationConfig(learners=1000, mentors=150, sessions=1000, end=END))
    ds, truth = platform.temporal_split()
    _, result = recommender.fit_and_rank(ds, k=10, similar=False)
    shown = [(user, s) for user, items in enumerate(result.sessions) for s, _, _ in items]
    assert shown
    assert all(ds.session_open[s] and not ds.excluded[user, s] for user, s in shown)
    assert not any(ds.session_mentor[s] == ds.user_mentor[user] for user, s in shown)
    # Learners act on stable tastes, so the top of their lists finds next weeks' bookings far more
    # often than random open sessions would.
    top = [(user, s) for user, items in enumerate(result.sessions) for s, _, _ in items[:3]]
    hits = sum(truth[user, s] for user, s in top)
    chance = truth.nnz * len(top) / (ds.n_users * ds.session_open.sum())
    assert hits > 3 * chance


def count(query):
    return db.session.scalar(query)


def simulated_users():
    return select(func.count()).select_from(User).where(User.email.like(f"%@{EMAIL_DOMAIN}"))


def test_write_to_database_inserts_the_platform_and_refuses_to_do_it_twice(app):
    small = simulate(SimulationConfig(learners=40, mentors=8, sessions=40, months=2, end=END))
    steps = []
    counts = write_to_database(small, progress=lambda label, done, total: steps.append((label, done, total)))

    assert counts["users"] == count(simulated_users()) == 48
    assert (
        counts["interactions"] == small.n_interactions == count(select(func.count()).select_from(Interaction))
    )
    assert counts["bookings"] == len(small.booking_time) == count(select(func.count()).select_from(Booking))
    assert count(select(func.count()).select_from(LearningSession)) == 40
    assert count(select(func.count()).select_from(session_skills)) == sum(map(len, small.session_skills))
    assert count(select(func.count()).select_from(user_skills)) == sum(map(len, small.user_skills))
    assert count(select(func.count()).select_from(user_interests)) == sum(map(len, small.user_interests))
    assert ("interactions", small.n_interactions, small.n_interactions) in steps

    kinds = dict(db.session.execute(select(Interaction.kind, func.count()).group_by(Interaction.kind)).all())
    assert kinds == dict(Counter(KINDS[k] for k in small.event_kind.tolist()))
    queries = db.session.scalars(select(Interaction.query).where(Interaction.kind == "search")).all()
    assert sorted(queries) == sorted(small.search_text)
    mentor = db.session.scalar(select(User).where(User.email == f"mentor1@{EMAIL_DOMAIN}"))
    assert mentor.role == "mentor" and mentor.is_verified and mentor.timezone == "Asia/Kolkata"
    assert {s.name for s in mentor.skills} == {
        small.skill_names[k] for k in small.user_skills[small.mentor_user[0]]
    }
    statuses = dict(
        db.session.execute(
            select(LearningSession.status, func.count()).group_by(LearningSession.status)
        ).all()
    )
    upcoming = int((small.session_starts_at > small.end).sum())
    assert statuses == {"completed": 40 - upcoming, "scheduled": upcoming}
    assert count(select(func.sum(LearningSession.seats_taken))) == len(small.booking_time)
    first = db.session.scalar(select(LearningSession).order_by(LearningSession.id).limit(1))
    assert first.title == small.session_title[0]
    assert first.published_at.timestamp() == small.session_published_at[0]

    with pytest.raises(SimulationExists, match="replace=True"):
        write_to_database(small)
    db.session.rollback()
    assert count(simulated_users()) == 48

    again = write_to_database(small, replace=True)
    assert again["skills_created"] == 0
    assert count(simulated_users()) == 48
    assert count(select(func.count()).select_from(Interaction)) == small.n_interactions
