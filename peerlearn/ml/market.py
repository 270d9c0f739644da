"""The simulated market, day by day: the learners who visit view the sessions that appeal to them,
some search, some book while seats last, attend, rate, follow and send gifts (see ``simulate``)."""

import math

import numpy as np
from scipy import sparse

from .recommender import KIND_CODE, indicator_rows
from .world import DAY, GIFT_RUPEES, HOUR, MINUTE, MONTH_DAYS


class _Log:
    """Columns appended in chunks, joined once at the end."""

    def __init__(self, *columns):
        self.chunks = {column: [] for column in columns}

    def add(self, **values):
        size = len(next(iter(values.values())))
        for column, chunks in self.chunks.items():
            value = values[column]
            chunks.append(np.full(size, value) if np.isscalar(value) else np.asarray(value))

    def column(self, name, dtype):
        chunks = self.chunks[name]
        return np.concatenate(chunks).astype(dtype) if chunks else np.zeros(0, dtype=dtype)


class Market:
    """The platform as the days go by: seats taken, who booked what, who liked which mentor."""

    RECENT_DAYS = 28  # a mentor's popularity counts their bookings of the last four weeks

    def __init__(self, rng, config, start, end, learners, mentors, sessions, n_skills):
        self.rng, self.config, self.start, self.end = rng, config, start, end
        self.learners = learners
        self.sessions = sessions
        self.session_quality = mentors["quality"][sessions["mentor"]]
        self.session_ends = sessions["starts"] + sessions["duration"] * MINUTE
        self.session_skills = indicator_rows(sessions["skills"], n_skills)
        self.skill_count = np.maximum(np.diff(self.session_skills.indptr), 1)
        self.by_start = np.argsort(sessions["starts"], kind="stable")
        self.sorted_starts = sessions["starts"][self.by_start]
        self.visit_chance = np.minimum(learners["activity"] * config.visits_per_month / MONTH_DAYS, 0.9)

        self.n_days = math.ceil((end - start) / DAY)
        self.seats = np.zeros(config.sessions, dtype=np.int64)
        self.mentor_daily = np.zeros((self.n_days, config.mentors))
        self.mentor_recent = np.zeros(config.mentors)
        # Learner × mentor experience: +1 per session they liked (4+ stars), -1 per session they
        # did not (2 stars or less), counted once the session is over.
        self.history = sparse.csr_matrix((config.learners, config.mentors), dtype=np.float32)
        self.pending = (np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
        self.booked = set()  # learner * sessions + session
        self.following = set()  # (learner, mentor)
        self.events = _Log("user", "kind", "session", "mentor", "value", "time", "query")
        self.bookings = _Log("learner", "session", "time", "status")

    def run(self):
        for day in range(self.n_days):
            self._day(day)
        return self

    def _day(self, day):
        rng, config = self.rng, self.config
        day_start = self.start + day * DAY
        self._settle_experiences(day_start)
        if day >= self.RECENT_DAYS:
            self.mentor_recent -= self.mentor_daily[day - self.RECENT_DAYS]

        visitors = np.flatnonzero(rng.random(config.learners) < self.visit_chance)
        visit_time = np.round(day_start + rng.uniform(8 * HOUR, 23 * HOUR, size=len(visitors)))
        present = visit_time < self.end
        visitors, visit_time = visitors[present], visit_time[present]
        # What can be booked: published by this morning, starting from tomorrow to the horizon.
        lo, hi = np.searchsorted(
            self.sorted_starts, [day_start + DAY, day_start + DAY + config.horizon_days * DAY], side="right"
        )
        candidates = self.by_start[lo:hi]
        candidates = candidates[self.sessions["published"][candidates] <= day_start]
        if len(visitors) == 0 or len(candidates) == 0:
            return
        candidate_skills = self.session_skills[candidates].toarray()
        appeal = self._appeal(visitors, candidates, candidate_skills)
        self._search(visitors, visit_time, appeal, candidate_skills)
        viewer, viewed, view_time, viewed_appeal = self._view(visitors, visit_time, candidates, appeal)

        chance = config.booking_rate * viewed_appeal / (viewed_appeal + config.booking_half)
        wanted = rng.random(len(viewed)) < chance
        request_time = np.round(view_time[wanted] + rng.uniform(1.0, 10.0, int(wanted.sum())) * MINUTE)
        self._book(day, viewer[wanted], viewed[wanted], request_time)

    def _settle_experiences(self, now):
        ended, learner, mentor, sign = self.pending
        due = ended < now
        if due.any():
            self.history = self.history + sparse.csr_matrix(
                (sign[due], (learner[due], mentor[due])), shape=self.history.shape, dtype=np.float32
            )
            self.pending = tuple(column[~due] for column in self.pending)

    def _appeal(self, visitors, candidates, candidate_skills):
        """visitors × candidates: how much each session appeals to each learner."""
        learners, sessions, config = self.learners, self.sessions, self.config
        mentor = sessions["mentor"][candidates]
        appeal = learners["interest"][visitors][:, sessions["category"][candidates]]
        match = np.asarray(learners["matches"][visitors] @ candidate_skills.T) / self.skill_count[candidates]
        appeal *= 1.0 + 1.5 * match
        popularity = (1.0 + 0.3 * np.log1p(self.seats[candidates])) * (
            1.0 + 0.15 * np.log1p(self.mentor_recent[mentor])
        )
        appeal *= self.session_quality[candidates] * popularity
        price = sessions["price"][candidates] / 100.0
        appeal *= np.exp(-learners["price_sensitivity"][visitors, None] * price[None, :] / 1000.0)
        language = sessions["language"][candidates][None, :]
        understood = (language == 0) | (language == learners["language"][visitors, None])
        appeal *= np.where(understood, 1.0, 0.15)
        if self.history.nnz:
            past = self.history[visitors][:, mentor].toarray()
            appeal *= np.where(
                past > 0, 1.0 + config.loyalty_boost * np.minimum(past, 2.0), np.where(past < 0, 0.3, 1.0)
            )
        return appeal

    def _search(self, visitors, visit_time, appeal, candidate_skills):
        """Some visits start with a search for a skill the learner wants; it steers what they open."""
        wants = self.learners["wants"]
        counts = np.diff(wants.indptr)[visitors]
        searching = np.flatnonzero((self.rng.random(len(visitors)) < self.config.search_rate) & (counts > 0))
        if len(searching) == 0:
            return
        offsets = np.floor(self.rng.random(len(searching)) * counts[searching]).astype(np.int64)
        query = wants.indices[wants.indptr[visitors[searching]] + offsets]
        appeal[searching] *= 1.0 + self.config.search_boost * candidate_skills[:, query].T
        self.events.add(
            user=visitors[searching],
            kind=KIND_CODE["search"],
            session=-1,
            mentor=-1,
            value=np.nan,
            time=visit_time[searching],
            query=query,
        )

    def _view(self, visitors, visit_time, candidates, appeal):
        """Each visitor opens a few candidates, drawn by appeal without replacement (Gumbel top-k)."""
        rng = self.rng
        n_visitors, n_candidates = appeal.shape
        n_views = np.minimum(1 + rng.poisson(self.config.views_per_visit - 1.0, size=n_visitors), 12)
        n_views = np.minimum(n_views, n_candidates)
        most = int(n_views.max())
        score = np.log(appeal + 1e-12) - np.log(-np.log(rng.random(appeal.shape)))
        if most < n_candidates:
            top = np.argpartition(-score, most - 1, axis=1)[:, :most]
        else:
            top = np.tile(np.arange(n_candidates), (n_visitors, 1))
        top = np.take_along_axis(top, np.argsort(-np.take_along_axis(score, top, axis=1), axis=1), axis=1)
        opened = np.arange(most)[None, :] < n_views[:, None]
        row, rank = np.nonzero(opened)
        viewed = candidates[top[opened]]
        viewed_appeal = np.take_along_axis(appeal, top, axis=1)[opened]
        view_time = np.round(visit_time[row] + (rank + 1) * rng.uniform(0.5, 3.0, len(row)) * MINUTE)
        viewer = visitors[row]
        kept = view_time < self.end
        viewer, viewed, view_time, viewed_appeal = (
            viewer[kept],
            viewed[kept],
            view_time[kept],
            viewed_appeal[kept],
        )
        self.events.add(
            user=viewer,
            kind=KIND_CODE["view"],
            session=viewed,
            mentor=self.sessions["mentor"][viewed],
            value=np.nan,
            time=view_time,
            query=-1,
        )
        return viewer, viewed, view_time, viewed_appeal

    def _book(self, day, learner, session, moment):
        """Booking requests in time order, while seats last; nobody books a session twice."""
        n_sessions, capacity = self.config.sessions, self.sessions["capacity"]
        accepted = []
        for index in np.argsort(moment, kind="stable"):
            who, what = int(learner[index]), int(session[index])
            key = who * n_sessions + what
            if moment[index] >= self.end or key in self.booked or self.seats[what] >= capacity[what]:
                continue
            self.booked.add(key)
            self.seats[what] += 1
            accepted.append(index)
        if not accepted:
            return
        learner, session, moment = learner[accepted], session[accepted], moment[accepted]
        mentor = self.sessions["mentor"][session]
        np.add.at(self.mentor_daily[day], mentor, 1.0)
        np.add.at(self.mentor_recent, mentor, 1.0)
        self.events.add(
            user=learner,
            kind=KIND_CODE["book"],
            session=session,
            mentor=mentor,
            value=np.nan,
            time=moment,
            query=-1,
        )
        self._outcomes(learner, session, mentor, moment)

    def _outcomes(self, learner, session, mentor, booked_at):
        """What became of new bookings, at their session's time: attendance, completion, stars,
        follows and gifts. Bookings of sessions still to come stay confirmed."""
        rng, config = self.rng, self.config
        n = len(learner)
        start, finish = self.sessions["starts"][session], self.session_ends[session]
        happened = finish <= self.end
        attended = happened & (rng.random(n) < config.attend_rate)
        completed = attended & (rng.random(n) < config.complete_rate)
        stars = np.clip(np.rint(1.5 + 3.5 * self.session_quality[session] + rng.normal(0.0, 0.7, n)), 1, 5)
        rated = completed & (rng.random(n) < config.rating_rate)
        gifted = attended & (rng.random(n) < config.gift_rate)
        liked, disliked = completed & (stars >= 4), completed & (stars <= 2)
        follows = liked & (rng.random(n) < config.follow_rate)
        for index in np.flatnonzero(follows):
            pair = (int(learner[index]), int(mentor[index]))
            follows[index] = pair not in self.following
            self.following.add(pair)
        # The app marks learners who joined the room "attended", the others "no_show"; the few who
        # left early are attended without completing.
        status = np.where(happened, np.where(attended, 1, 2), 0)  # confirmed, attended, no_show
        self.bookings.add(learner=learner, session=session, time=booked_at, status=status)

        timings = (
            ("attend", attended, start + rng.uniform(-5.0, 10.0, n) * MINUTE, np.nan),
            ("complete", completed, finish + rng.uniform(0.0, 5.0, n) * MINUTE, np.nan),
            ("rate", rated, finish + rng.uniform(10.0 * MINUTE, 48 * HOUR, n), stars),
            ("follow", follows, finish + rng.uniform(2.0 * MINUTE, 24 * HOUR, n), np.nan),
            (
                "gift",
                gifted,
                start + rng.uniform(0.2, 0.9, n) * (finish - start),
                rng.choice(GIFT_RUPEES, size=n),
            ),
        )
        for kind, chosen, moment, value in timings:
            moment = np.round(moment)
            chosen = chosen & (moment < self.end)  # a review two days after a session just ended: not yet
            self.events.add(
                user=learner[chosen],
                kind=KIND_CODE[kind],
                session=-1 if kind == "follow" else session[chosen],
                mentor=mentor[chosen],
                value=value[chosen] if isinstance(value, np.ndarray) else value,
                time=moment[chosen],
                query=-1,
            )

        lasting = liked | disliked
        self.pending = (
            np.concatenate([self.pending[0], finish[lasting]]),
            np.concatenate([self.pending[1], learner[lasting]]),
            np.concatenate([self.pending[2], mentor[lasting]]),
            np.concatenate([self.pending[3], np.where(liked[lasting], 1.0, -1.0)]),
        )
