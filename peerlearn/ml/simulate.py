"""A simulated PeerLearn: learners, mentors, sessions and months of what the learners did.

It serves two purposes. Offline evaluation: ``Platform.dataset(as_of)`` is what the recommender
would have known at ``as_of``, with the bookings that followed as the answer key, so a model can
be scored on a temporal split. Load testing: ``services.simulated_platform.write_to_database``
puts the whole platform into the app's database, as fast as bulk inserts allow.

The parts: ``world`` (the vocabulary, ``SimulationConfig``, the learners, mentors and sessions),
``market`` (the days going by) and this module (the two run together into a ``Platform``).

The world is small enough to reason about:

- a learner has latent interests (a concentrated Dirichlet over the categories), skills they
  want (some stated in their profile, some not: a few state nothing at all), an activity level,
  a price sensitivity and a second language besides English;
- a mentor teaches one or two categories, a few skills from them, with a hidden quality;
- sessions are spread over the months, each by one mentor, on one to three of their skills.

Day by day, the learners who visit view upcoming sessions chosen by how much they appeal to them
(interest × skill match × mentor quality × popularity × price × language × their history with the
mentor), some search for a skill they want, and some views become bookings while seats last.
Booked learners mostly attend and complete; some rate the mentor, follow them or send a gift, and
a good session makes them come back to that mentor. Everything is vectorised over the learners
visiting that day; nothing loops over learners × sessions in Python.

Deterministic: the same ``SimulationConfig`` (seed and ``end`` included) gives the same platform,
event for event.
"""

from dataclasses import dataclass, field

import numpy as np

from .market import Market
from .recommender import KIND_CODE, Dataset, indicator, indicator_rows
from .world import (
    CATEGORIES,
    DAY,
    EMAIL_DOMAIN,
    FIRST_NAMES,
    LAST_NAMES,
    MONTH_DAYS,
    SimulationConfig,
    Vocabulary,
    default_end,
    local_midnight,
    make_learners,
    make_mentors,
    make_sessions,
)

__all__ = ["Platform", "SimulationConfig", "simulate"]


@dataclass
class Platform:
    """The simulated platform as plain arrays and lists. Users are the learners followed by the
    mentors; mentor ``m`` is user ``mentor_user[m]``. Sessions are ordered by ``published_at``,
    events and bookings by time. Times are epoch seconds."""

    config: SimulationConfig
    start: float
    end: float
    skill_names: list
    skill_category: np.ndarray
    # Users
    user_role: list  # "learner" or "mentor"
    user_name: list
    user_email: list
    user_timezone: list
    user_created_at: np.ndarray
    user_skills: list  # per user: skill indices they know
    user_interests: list  # per user: skill indices they want to learn
    user_mentor: np.ndarray  # mentor index, or -1 for learners
    # Mentors
    mentor_user: np.ndarray
    mentor_quality: np.ndarray  # hidden: how good their sessions are, in (0, 1)
    # Sessions
    session_mentor: np.ndarray
    session_title: list
    session_description: list
    session_category: np.ndarray  # index into CATEGORIES
    session_level: list
    session_language: list
    session_skills: list  # per session: skill indices
    session_starts_at: np.ndarray
    session_duration: np.ndarray  # minutes
    session_price_paise: np.ndarray
    session_capacity: np.ndarray
    session_seats_taken: np.ndarray  # at the end
    session_published_at: np.ndarray
    # Bookings
    booking_learner: np.ndarray  # user index
    booking_session: np.ndarray
    booking_time: np.ndarray
    booking_status: list  # "confirmed", "attended" or "no_show"
    # Interactions (searches included, as kind "search")
    event_user: np.ndarray
    event_kind: np.ndarray  # KIND_CODE
    event_session: np.ndarray  # -1 when none
    event_mentor: np.ndarray  # -1 when none
    event_value: np.ndarray  # stars for ratings, rupees for gifts, else nan
    event_time: np.ndarray
    # The search events again, with their text
    search_user: np.ndarray
    search_text: list
    search_time: np.ndarray
    # Hidden learner traits, for analysis
    learner_interest: np.ndarray = field(repr=False)  # learners × categories
    learner_activity: np.ndarray = field(repr=False)

    @property
    def n_users(self):
        return len(self.user_role)

    @property
    def n_learners(self):
        return self.config.learners

    @property
    def n_mentors(self):
        return len(self.mentor_user)

    @property
    def n_sessions(self):
        return len(self.session_mentor)

    @property
    def n_interactions(self):
        return len(self.event_user)

    def dataset(self, as_of, horizon_days=14):
        """What the recommender knows at ``as_of``, and what happened next.

        Returns ``(Dataset, truth)``: the sessions published by ``as_of`` (a prefix, as sessions
        are ordered by publication) and every event, search and booking before it; ``truth`` is a
        users × sessions CSR of the bookings made in [as_of, as_of + horizon) of the sessions that
        were open at ``as_of`` (published, starting within the horizon, not full).
        """
        as_of = float(as_of)
        horizon_end = as_of + horizon_days * DAY
        n_sessions = int(np.searchsorted(self.session_published_at, as_of, side="right"))
        starts = self.session_starts_at[:n_sessions]

        booked_before = self.booking_time < as_of
        seats = np.bincount(self.booking_session[booked_before], minlength=self.n_sessions)[:n_sessions]
        session_open = (
            (starts > as_of) & (starts <= horizon_end) & (seats < self.session_capacity[:n_sessions])
        )

        shape = (self.n_users, n_sessions)
        excluded = indicator(self.booking_learner[booked_before], self.booking_session[booked_before], shape)
        later = (self.booking_time >= as_of) & (self.booking_time < horizon_end)
        later &= self.booking_session < n_sessions
        later[later] = session_open[self.booking_session[later]]
        truth = indicator(self.booking_learner[later], self.booking_session[later], shape)

        known = self.event_time < as_of
        searched = self.search_time < as_of
        n_skills = len(self.skill_names)
        ds = Dataset(
            now=as_of,
            user_ids=np.arange(self.n_users, dtype=np.int64),
            user_mentor=self.user_mentor.copy(),
            mentor_ids=self.mentor_user.copy(),
            mentor_names=[self.user_name[u] for u in self.mentor_user],
            skill_names=list(self.skill_names),
            session_ids=np.arange(n_sessions, dtype=np.int64),
            session_mentor=self.session_mentor[:n_sessions].copy(),
            session_category=self.session_category[:n_sessions].copy(),
            session_text=[
                f"{title} {description} {CATEGORIES[category]}"
                for title, description, category in zip(
                    self.session_title[:n_sessions],
                    self.session_description[:n_sessions],
                    self.session_category[:n_sessions],
                    strict=True,
                )
            ],
            session_skills=indicator_rows(self.session_skills[:n_sessions], n_skills),
            session_open=session_open,
            user_skills=indicator_rows(self.user_skills, n_skills),
            user_interests=indicator_rows(self.user_interests, n_skills),
            excluded=excluded,
            event_user=self.event_user[known],
            event_kind=self.event_kind[known],
            event_session=self.event_session[known],
            event_mentor=self.event_mentor[known],
            event_value=self.event_value[known],  # as the database loader has it: gifts keep their rupees
            event_time=self.event_time[known],
            search_user=self.search_user[searched],
            search_text=[text for text, keep in zip(self.search_text, searched, strict=True) if keep],
        )
        return ds, truth

    def split_time(self, validation=False, horizon_days=14):
        """Where the last ``horizon_days`` of bookings begin (a horizon earlier for validation)."""
        as_of = self.end - horizon_days * DAY
        return as_of - horizon_days * DAY if validation else as_of

    def temporal_split(self, validation=False, horizon_days=14):
        """``dataset()`` at ``split_time()``: the test split, or with ``validation`` the one before
        it, for tuning without looking at the test weeks."""
        return self.dataset(self.split_time(validation, horizon_days), horizon_days)


def simulate(config=None):
    """Build the world and run it: a ``Platform``."""
    config = config or SimulationConfig()
    end = float(config.end) if config.end is not None else default_end()
    start = float(local_midnight(end - config.months * MONTH_DAYS * DAY))
    rng = np.random.default_rng(config.seed)
    vocab = Vocabulary(CATEGORIES)
    learners = make_learners(rng, config, vocab, len(CATEGORIES))
    mentors = make_mentors(rng, config, vocab, len(CATEGORIES))
    sessions = make_sessions(rng, config, vocab, mentors, start, end)
    market = Market(rng, config, start, end, learners, mentors, sessions, len(vocab.names)).run()
    events, bookings = market.events, market.bookings

    event_time = events.column("time", np.float64)
    order = np.argsort(event_time, kind="stable")
    event_kind = events.column("kind", np.int64)[order]
    event_user = events.column("user", np.int64)[order]
    event_time = event_time[order]
    searched = event_kind == KIND_CODE["search"]
    queries = [vocab.names[s] for s in events.column("query", np.int64)[order][searched]]
    typed_lower = rng.random(len(queries)) < 0.3  # what people type is often lower case
    search_text = [q.lower() if lower else q for q, lower in zip(queries, typed_lower, strict=True)]

    booking_time = bookings.column("time", np.float64)
    booking_order = np.argsort(booking_time, kind="stable")
    statuses = ("confirmed", "attended", "no_show")

    n_learners, n_mentors = config.learners, config.mentors
    n_users = n_learners + n_mentors
    first = rng.choice(FIRST_NAMES, size=n_users)
    last = rng.choice(LAST_NAMES, size=n_users)
    return Platform(
        config=config,
        start=start,
        end=end,
        skill_names=list(vocab.names),
        skill_category=vocab.category.copy(),
        user_role=["learner"] * n_learners + ["mentor"] * n_mentors,
        user_name=[f"{a} {b}" for a, b in zip(first, last, strict=True)],
        user_email=[f"learner{i + 1}@{EMAIL_DOMAIN}" for i in range(n_learners)]
        + [f"mentor{i + 1}@{EMAIL_DOMAIN}" for i in range(n_mentors)],
        user_timezone=["Asia/Kolkata"] * n_users,
        user_created_at=np.round(
            np.concatenate(
                [
                    start - rng.uniform(1.0, 400.0, size=n_learners) * DAY,
                    start - rng.uniform(30.0, 500.0, size=n_mentors) * DAY,
                ]
            )
        ),
        user_skills=learners["skills"] + mentors["skills"],
        user_interests=learners["interests"] + [[] for _ in range(n_mentors)],
        user_mentor=np.concatenate([np.full(n_learners, -1), np.arange(n_mentors)]).astype(np.int64),
        mentor_user=(n_learners + np.arange(n_mentors)).astype(np.int64),
        mentor_quality=mentors["quality"],
        session_mentor=sessions["mentor"],
        session_title=sessions["title"],
        session_description=sessions["description"],
        session_category=sessions["category"],
        session_level=sessions["level"],
        session_language=sessions["language_name"],
        session_skills=sessions["skills"],
        session_starts_at=sessions["starts"],
        session_duration=sessions["duration"],
        session_price_paise=sessions["price"],
        session_capacity=sessions["capacity"],
        session_seats_taken=market.seats,
        session_published_at=sessions["published"],
        booking_learner=bookings.column("learner", np.int64)[booking_order],
        booking_session=bookings.column("session", np.int64)[booking_order],
        booking_time=booking_time[booking_order],
        booking_status=[statuses[code] for code in bookings.column("status", np.int64)[booking_order]],
        event_user=event_user,
        event_kind=event_kind,
        event_session=events.column("session", np.int64)[order],
        event_mentor=events.column("mentor", np.int64)[order],
        event_value=events.column("value", np.float32)[order],
        event_time=event_time,
        search_user=event_user[searched],
        search_text=search_text,
        search_time=event_time[searched],
        learner_interest=learners["interest"],
        learner_activity=learners["activity"],
    )
