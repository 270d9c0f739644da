"""The platform recommender: from an interaction log to ranked, diversified, explained lists.

A session happens once, so the collaborative signal lives on what lasts, mentors and skills,
and is projected onto the sessions open for booking:

- collaborative: EASE on learner × mentor and on learner × skill matrices of decayed,
  weighted interactions; a session gets its mentor's score and its skills' mean score;
- content: TF-IDF over session title, description, category and skills; a learner's profile is
  the weighted sum of the sessions they touched plus the text of their skills, interests and
  searches;
- skill overlap: the share of a session's skills the learner knows or wants;
- popularity: decayed views, bookings and completions of the session and of its mentor.

Each part is scaled to [0, 1] per learner and the parts are mixed with ``Weights``; the best
candidates are re-ranked with MMR so one mentor cannot fill a list, and each item keeps the part
that put it there as its reason. Everything is matrix work over blocks of learners; the only
Python loops are over the few items kept per learner.

Pure computation: ``Dataset`` holds arrays (see ``services/recommendations.py`` for the loader
that fills it from the database, ``ml/simulate.py`` for a simulated one).
"""

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize as _normalize

from .algorithms import ease

# Interaction kinds, their codes in Dataset.event_kind and their weights.
KINDS = ("view", "search", "book", "attend", "complete", "rate", "follow", "gift")
KIND_CODE = {kind: code for code, kind in enumerate(KINDS)}
KIND_WEIGHT = np.array([1.0, 0.0, 5.0, 3.0, 4.0, 0.0, 4.0, 4.0], dtype=np.float32)
HALF_LIFE_DAYS = 60.0  # an interaction counts half as much after two months
POPULARITY_HALF_LIFE_DAYS = 14.0  # trending looks at the last few weeks
DAY = 86400.0


@dataclass(frozen=True)
class Weights:
    """How the parts are mixed. Chosen with ``flask ml evaluate --tune`` on the simulated
    platform's validation weeks (the two weeks before its test weeks; ``evaluate.SIMULATION_END``
    fixes the platform): the best of 243 mixes reached NDCG@10 0.281 there (the worst 0.217);
    the test weeks were not looked at."""

    collaborative: float = 0.3
    content: float = 0.3
    skills: float = 0.2
    popularity: float = 0.05
    mentor_share: float = 0.9  # of the collaborative part: mentor score vs skill score
    mmr_lambda: float = 0.8  # relevance vs diversity in the re-ranking
    same_category: float = 0.3  # similarity of two sessions of one category but different mentors
    ease_l2_mentors: float = 50.0
    ease_l2_skills: float = 20.0


@dataclass
class Dataset:
    """What the recommender knows, as arrays. Indices, not ids, everywhere but the *_ids arrays."""

    now: float  # epoch seconds
    user_ids: np.ndarray
    user_mentor: np.ndarray  # per user: their index among mentors, or -1
    mentor_ids: np.ndarray
    mentor_names: list
    skill_names: list
    session_ids: np.ndarray
    session_mentor: np.ndarray  # mentor index per session
    session_category: np.ndarray  # small int per session
    session_text: list  # title, description and category
    session_skills: sparse.csr_matrix  # sessions × skills, 0/1
    session_open: np.ndarray  # bool: can be booked now (the candidates)
    user_skills: sparse.csr_matrix  # users × skills, 0/1
    user_interests: sparse.csr_matrix  # users × skills, 0/1
    excluded: sparse.csr_matrix  # users × sessions: already booked (any state)
    event_user: np.ndarray
    event_kind: np.ndarray
    event_session: np.ndarray  # -1 when none
    event_mentor: np.ndarray  # -1 when none
    event_value: np.ndarray  # stars for ratings, else nan
    event_time: np.ndarray  # epoch seconds
    search_user: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    search_text: list = field(default_factory=list)

    @property
    def n_users(self):
        return len(self.user_ids)

    @property
    def n_mentors(self):
        return len(self.mentor_ids)

    @property
    def n_skills(self):
        return len(self.skill_names)

    @property
    def n_sessions(self):
        return len(self.session_ids)


@dataclass
class Result:
    """Per user: the kept sessions (indices), their scores and reasons; mentors likewise; per
    open session: similar open sessions; and the trending list."""

    sessions: list  # per user: [(session index, score, reason dict)]
    mentors: list  # per user: [(mentor index, score, reason dict)]
    similar: dict  # session index -> [(session index, score)]
    trending: list  # [(session index, score)]


@dataclass
class UserRows:
    """What the model needs of some users, row by row: sliced from the fitted matrices for a block
    of known users, or built from fresh data for one user (``Model.rows_from``)."""

    user_mentor: sparse.csr_matrix  # × mentors, confidence
    user_skill: sparse.csr_matrix  # × skills, confidence
    profiles: sparse.csr_matrix  # × TF-IDF terms, unit rows
    skills: sparse.csr_matrix  # × skills, 0/1
    interests: sparse.csr_matrix  # × skills, 0/1
    excluded: sparse.csr_matrix  # × sessions
    own_mentor: np.ndarray  # mentor index or -1


def event_weights(ds, now=None):
    """Each event's weight: by kind (ratings by their stars), halved every HALF_LIFE_DAYS."""
    now = ds.now if now is None else now
    weight = KIND_WEIGHT[ds.event_kind].copy()
    ratings = ds.event_kind == KIND_CODE["rate"]
    # 5 stars: +6, 4: +3, 3: 0, 2 and 1: negative (they pull a mentor down).
    weight[ratings] = (np.nan_to_num(ds.event_value[ratings], nan=3.0) - 3.0) * 3.0
    age_days = np.maximum(now - ds.event_time, 0.0) / DAY
    return (weight * np.power(0.5, age_days / HALF_LIFE_DAYS)).astype(np.float32)


def _matrix(rows, cols, values, shape):
    matrix = sparse.csr_matrix((values, (rows, cols)), shape=shape, dtype=np.float32)
    matrix.sum_duplicates()
    return matrix


def _confidence(matrix):
    """log(1 + w) of the positive part: repeated views do not outweigh one booking."""
    matrix = matrix.copy()
    matrix.data = np.log1p(np.maximum(matrix.data, 0.0)).astype(np.float32)
    matrix.eliminate_zeros()
    return matrix


def _scale_rows(dense):
    """Divide each row by its maximum (rows of zeros stay zero)."""
    if dense.size == 0:
        return dense
    top = dense.max(axis=1, keepdims=True)
    top[top <= 0] = 1.0
    return dense / top


class Model:
    """A fitted recommender: build once, then score blocks of users or one user."""

    def __init__(self, ds, weights=None, progress=None):
        self.ds = ds
        self.weights = weights or Weights()
        step = progress or (lambda label: None)
        w = event_weights(ds)
        users = ds.event_user
        with_mentor = ds.event_mentor >= 0
        with_session = ds.event_session >= 0

        step("learner × mentor matrix")
        self.user_mentor = _confidence(
            _matrix(
                users[with_mentor], ds.event_mentor[with_mentor], w[with_mentor], (ds.n_users, ds.n_mentors)
            )
        )
        step("learner × session and learner × skill matrices")
        self.user_session = _matrix(
            users[with_session], ds.event_session[with_session], w[with_session], (ds.n_users, ds.n_sessions)
        )
        self.skill_share = normalize(ds.session_skills.astype(np.float32), norm="l1")
        self.user_skill = _confidence(self.user_session @ self.skill_share)

        step("EASE over mentors")
        self.mentor_sim = ease(self.user_mentor, self.weights.ease_l2_mentors).astype(np.float32)
        step("EASE over skills")
        self.skill_sim = ease(self.user_skill, self.weights.ease_l2_skills).astype(np.float32)

        step("session text")
        skill_names = np.array(ds.skill_names, dtype=object)
        texts = []
        for index, text in enumerate(ds.session_text):
            row = ds.session_skills.indices[
                ds.session_skills.indptr[index] : ds.session_skills.indptr[index + 1]
            ]
            names = " ".join(skill_names[row])
            texts.append(f"{text} {names} {names}")
        self.vectorizer, self.session_vectors = _fit_text(texts)
        step("learner profiles")
        searches = [""] * ds.n_users
        for user, text in zip(ds.search_user, ds.search_text, strict=True):
            searches[user] += " " + text
        self.profiles = self._profiles(self.user_session, ds.user_skills + ds.user_interests, searches)

        step("popularity")
        self.popularity = self._popularity(ds)

        self.candidates = np.flatnonzero(ds.session_open)
        self.cand_mentor = ds.session_mentor[self.candidates]
        self.cand_category = ds.session_category[self.candidates]
        cand_skills = ds.session_skills[self.candidates].astype(np.float32)
        self.cand_skills_t = cand_skills.T.tocsr()
        self.cand_skill_count = np.maximum(np.asarray(cand_skills.sum(axis=1)).ravel(), 1.0)
        self.cand_mean_skills = normalize(cand_skills, norm="l1").tocsr()
        self.cand_vectors_t = self.session_vectors[self.candidates].T.tocsr()

    def _popularity(self, ds):
        """Per session in [0, 1]: its own decayed activity plus its mentor's track record."""
        age_days = np.maximum(ds.now - ds.event_time, 0.0) / DAY
        recent = np.power(0.5, age_days / POPULARITY_HALF_LIFE_DAYS).astype(np.float32)
        weight = np.abs(KIND_WEIGHT[ds.event_kind]) * recent
        on_session = ds.event_session >= 0
        per_session = np.bincount(
            ds.event_session[on_session], weights=weight[on_session], minlength=ds.n_sessions
        )
        on_mentor = ds.event_mentor >= 0
        per_mentor = np.bincount(
            ds.event_mentor[on_mentor], weights=weight[on_mentor], minlength=ds.n_mentors
        )
        raw = np.log1p(per_session) + 0.5 * np.log1p(per_mentor[ds.session_mentor])
        top = raw.max() if raw.size else 0.0
        return (raw / top if top > 0 else raw).astype(np.float32)

    # Scoring --------------------------------------------------------------------------------

    def rows_for(self, users):
        ds = self.ds
        return UserRows(
            user_mentor=self.user_mentor[users],
            user_skill=self.user_skill[users],
            profiles=self.profiles[users],
            skills=ds.user_skills[users],
            interests=ds.user_interests[users],
            excluded=ds.excluded[users],
            own_mentor=ds.user_mentor[users],
        )

    def rows_from(self, *, events, skills, interests, searches, excluded_sessions, own_mentor):
        """One user's rows from fresh data, for a refresh between full rebuilds (or a user the
        last rebuild did not know). ``events``: (kind code, session index or -1, mentor index or -1,
        stars or nan, epoch) of sessions and mentors the model knows; skills and interests: skill
        indices; ``searches``: query texts; ``excluded_sessions``: session indices booked."""
        ds = self.ds
        kinds = np.array([e[0] for e in events], dtype=np.int64)
        one = Dataset(
            now=ds.now,
            user_ids=np.zeros(1, dtype=np.int64),
            user_mentor=np.array([own_mentor]),
            mentor_ids=ds.mentor_ids,
            mentor_names=ds.mentor_names,
            skill_names=ds.skill_names,
            session_ids=ds.session_ids,
            session_mentor=ds.session_mentor,
            session_category=ds.session_category,
            session_text=ds.session_text,
            session_skills=ds.session_skills,
            session_open=ds.session_open,
            user_skills=indicator_rows([skills], ds.n_skills),
            user_interests=indicator_rows([interests], ds.n_skills),
            excluded=indicator_rows([excluded_sessions], ds.n_sessions),
            event_user=np.zeros(len(events), dtype=np.int64),
            event_kind=kinds,
            event_session=np.array([e[1] for e in events], dtype=np.int64),
            event_mentor=np.array([e[2] for e in events], dtype=np.int64),
            event_value=np.array([e[3] for e in events], dtype=np.float32),
            event_time=np.array([e[4] for e in events], dtype=np.float64),
        )
        w = event_weights(one)
        with_mentor = one.event_mentor >= 0
        with_session = one.event_session >= 0
        user_mentor = _confidence(
            _matrix(
                one.event_user[with_mentor], one.event_mentor[with_mentor], w[with_mentor], (1, ds.n_mentors)
            )
        )
        user_session = _matrix(
            one.event_user[with_session], one.event_session[with_session], w[with_session], (1, ds.n_sessions)
        )
        user_skill = _confidence(user_session @ self.skill_share)
        return UserRows(
            user_mentor=user_mentor,
            user_skill=user_skill,
            profiles=self._profiles(user_session, one.user_skills + one.user_interests, [" ".join(searches)]),
            skills=one.user_skills,
            interests=one.user_interests,
            excluded=one.excluded,
            own_mentor=one.user_mentor,
        )

    def _profiles(self, user_session, stated_skills, extra_text):
        """Unit TF-IDF profiles: the sessions a user touched plus the words of what they state."""
        skill_names = np.array(self.ds.skill_names, dtype=object)
        text = list(extra_text)
        for user in np.flatnonzero(np.diff(stated_skills.indptr)):
            row = stated_skills.indices[stated_skills.indptr[user] : stated_skills.indptr[user + 1]]
            text[user] = " ".join(skill_names[row]) + " " + text[user]
        stated = self.vectorizer.transform(text)
        touched = normalize(_confidence(user_session)) @ self.session_vectors
        return normalize(normalize(touched) + normalize(stated)).tocsr()

    def parts(self, rows):
        """The four parts for some users × the candidates, each scaled to [0, 1] per user."""
        weights = self.weights
        mentor_scores = np.asarray(rows.user_mentor @ self.mentor_sim)
        skill_scores = np.asarray(rows.user_skill @ self.skill_sim)
        collaborative = weights.mentor_share * _scale_rows(
            np.maximum(mentor_scores[:, self.cand_mentor], 0.0)
        )
        # Each candidate's skills' mean score: (candidates × skills, rows summing to 1) @ scores.T.
        skill_part = np.asarray(self.cand_mean_skills @ skill_scores.T).T
        collaborative += (1 - weights.mentor_share) * _scale_rows(np.maximum(skill_part, 0.0))
        content = _scale_rows((rows.profiles @ self.cand_vectors_t).toarray())
        known = (rows.skills + rows.interests).tocsr()
        known.data[:] = 1.0
        overlap = (known @ self.cand_skills_t).toarray() / self.cand_skill_count
        popularity = np.broadcast_to(self.popularity[self.candidates], overlap.shape)
        return collaborative, content, overlap, popularity, mentor_scores

    def score_rows(self, rows):
        """Hybrid scores of some users × candidates, with what must never be shown at -inf."""
        w = self.weights
        collaborative, content, overlap, popularity, mentor_scores = self.parts(rows)
        parts = np.stack(
            [
                w.collaborative * collaborative,
                w.content * content,
                w.skills * overlap,
                w.popularity * popularity,
            ]
        )
        score = parts.sum(axis=0)
        booked = rows.excluded[:, self.candidates].tocoo()
        score[booked.row, booked.col] = -np.inf
        own = self.cand_mentor[None, :] == rows.own_mentor[:, None]
        score[own] = -np.inf
        return score, parts, mentor_scores

    def recommend(self, rows, k=30, pool=100):
        """Top ``k`` per user after MMR over the best ``pool``: lists of (session index, score,
        reason), and the users' mentor scores."""
        score, parts, mentor_scores = self.score_rows(rows)
        n_users, n_cand = score.shape
        if n_cand == 0:
            return [[] for _ in range(n_users)], mentor_scores
        pool = min(pool, n_cand)
        top = np.argpartition(-score, pool - 1, axis=1)[:, :pool]
        rel = np.take_along_axis(score, top, axis=1)
        picks = _mmr(
            rel,
            self.cand_mentor[top],
            self.cand_category[top],
            k=min(k, pool),
            lam=self.weights.mmr_lambda,
            same_category=self.weights.same_category,
        )
        lists = []
        for row in range(n_users):
            chosen = [top[row, p] for p in picks[row] if p >= 0 and np.isfinite(rel[row, p])]
            lists.append(
                [
                    (
                        int(self.candidates[c]),
                        float(score[row, c]),
                        self.reason(rows, row, c, parts[:, row, c]),
                    )
                    for c in chosen
                ]
            )
        return lists, mentor_scores

    # Reasons ----------------------------------------------------------------------------------

    def reason(self, rows, row, cand, contributions):
        """Why this candidate: the part that contributed most, made concrete. The code and the
        names are what counts: services.recommendations words the reason in the reader's language
        when it is shown; the English ``text`` stored here is the fallback."""
        ds = self.ds
        session = self.candidates[cand]
        mentor = self.cand_mentor[cand]
        part = int(np.argmax(contributions)) if contributions.max() > 0 else 3
        start, end = ds.session_skills.indptr[session], ds.session_skills.indptr[session + 1]
        session_skills = set(ds.session_skills.indices[start:end].tolist())
        if part == 2 or (part == 1 and session_skills):
            for matrix, text, extra in (
                (rows.skills, "Because you know {}", {}),
                (rows.interests, "Because you want to learn {}", {"interest": True}),
            ):
                common = [
                    s
                    for s in matrix.indices[matrix.indptr[row] : matrix.indptr[row + 1]]
                    if s in session_skills
                ]
                if common:
                    name = ds.skill_names[common[0]]
                    return {"code": "skill", "text": text.format(name), "skill": name, **extra}
        if part == 0:
            history = rows.user_mentor[row]
            if history.nnz:
                if mentor in history.indices:
                    name = ds.mentor_names[mentor]
                    return {"code": "mentor", "text": f"You learned from {name} before", "mentor": name}
                influence = history.data * self.mentor_sim[history.indices, mentor]
                source = history.indices[int(np.argmax(influence))]
                return {
                    "code": "peers",
                    "text": f"Learners of {ds.mentor_names[source]} also booked this",
                    "mentor": ds.mentor_names[source],
                }
            return {"code": "peers", "text": "Learners with your interests booked this"}
        if part == 1:
            return {"code": "content", "text": "Like the sessions you have been looking at"}
        return {"code": "popular", "text": "Popular right now"}

    # Mentors, similar sessions, trending ---------------------------------------------------------

    def mentors(self, rows, mentor_scores, k=10):
        """Mentors a user has not learned from yet that learners like them learn from."""
        ds = self.ds
        lists = []
        for row in range(mentor_scores.shape[0]):
            scores = mentor_scores[row].copy()
            if rows.own_mentor[row] >= 0:
                scores[rows.own_mentor[row]] = -np.inf
            history = rows.user_mentor[row]
            scores[history.indices] = -np.inf  # mentors they already know
            count = min(k, int(np.isfinite(scores).sum()))
            if count == 0:
                lists.append([])
                continue
            best = np.argpartition(-scores, count - 1)[:count]
            best = best[np.argsort(-scores[best], kind="stable")]
            items = []
            for mentor in best:
                if scores[mentor] <= 0:
                    break
                influence = history.data * self.mentor_sim[history.indices, mentor]
                source = history.indices[int(np.argmax(influence))]
                items.append(
                    (
                        int(mentor),
                        float(scores[mentor]),
                        {
                            "code": "peers",
                            "text": f"Learners of {ds.mentor_names[source]} also learn here",
                            "mentor": ds.mentor_names[source],
                        },
                    )
                )
            lists.append(items)
        return lists

    def similar_sessions(self, k=6, block=1000):
        """For every session: the open sessions most like it (text, skills, mentor), itself excluded."""
        if len(self.candidates) == 0:
            return {}
        skills = normalize(self.ds.session_skills.astype(np.float32))
        cand_skills_t = skills[self.candidates].T.tocsr()
        mentor_affinity = (
            normalize(np.maximum(self.mentor_sim, 0.0), norm="max") if self.ds.n_mentors else None
        )
        similar = {}
        k = min(k, len(self.candidates))
        for start in range(0, self.ds.n_sessions, block):
            rows = np.arange(start, min(start + block, self.ds.n_sessions))
            score = 0.6 * (self.session_vectors[rows] @ self.cand_vectors_t).toarray()
            score += 0.3 * (skills[rows] @ cand_skills_t).toarray()
            same_mentor = self.ds.session_mentor[rows][:, None] == self.cand_mentor[None, :]
            score += 0.1 * np.where(
                same_mentor, 1.0, mentor_affinity[self.ds.session_mentor[rows]][:, self.cand_mentor]
            )
            score[self.candidates[None, :] == rows[:, None]] = -np.inf
            best = np.argpartition(-score, k - 1, axis=1)[:, :k]
            for row, session in enumerate(rows):
                order = best[row][np.argsort(-score[row, best[row]], kind="stable")]
                similar[int(session)] = [
                    (int(self.candidates[c]), float(score[row, c])) for c in order if score[row, c] > 0
                ]
        return similar

    def trending(self, k=50):
        if len(self.candidates) == 0:
            return []
        scores = self.popularity[self.candidates]
        order = np.argsort(-scores, kind="stable")[:k]
        return [(int(self.candidates[c]), float(scores[c])) for c in order]


def _mmr(rel, mentors, categories, *, k, lam, same_category):
    """Maximal marginal relevance for many users at once.

    ``rel``, ``mentors`` and ``categories`` are users × pool. Two items are similar 1.0 when they
    share a mentor and ``same_category`` when they only share a category. Returns users × k
    positions in the pool (-1 where the pool ran out).
    """
    n_users = rel.shape[0]
    finite = np.isfinite(rel)
    top = np.where(finite, rel, -np.inf).max(axis=1, keepdims=True)
    top[~np.isfinite(top) | (top <= 0)] = 1.0
    relevance = np.where(finite, rel / top, -np.inf)
    max_sim = np.zeros_like(relevance)
    taken = ~finite
    picks = np.full((n_users, k), -1, dtype=np.int64)
    rows = np.arange(n_users)
    for step in range(k):
        value = lam * relevance - (1 - lam) * max_sim
        value[taken] = -np.inf
        choice = np.argmax(value, axis=1)
        valid = np.isfinite(value[rows, choice])
        picks[valid, step] = choice[valid]
        taken[rows[valid], choice[valid]] = True
        chosen_mentor = mentors[rows, choice][:, None]
        chosen_category = categories[rows, choice][:, None]
        sim = np.where(
            mentors == chosen_mentor, 1.0, np.where(categories == chosen_category, same_category, 0.0)
        )
        sim[~valid] = 0.0
        np.maximum(max_sim, sim, out=max_sim)
    return picks


def normalize(matrix, norm="l2"):
    """scikit-learn's row scaling, which refuses a matrix with no rows or no columns (a young
    platform: no skill named yet, no session open); such a matrix has nothing to scale."""
    if 0 in matrix.shape:
        return matrix
    return _normalize(matrix, norm=norm)


def _fit_text(texts):
    """TF-IDF over the sessions' words: words in most sessions say little and are dropped, and
    so are English stop words. A young platform (one session, or a few alike) can have no word
    left after that; its sessions are then described by every word they use."""
    for max_df, stop_words in ((0.6, "english"), (1.0, None)):
        vectorizer = TfidfVectorizer(
            sublinear_tf=True, min_df=1, max_df=max_df, stop_words=stop_words, dtype=np.float32
        )
        try:
            return vectorizer, vectorizer.fit_transform(texts)
        except ValueError:  # "no terms remain", "max_df corresponds to < documents than min_df"
            continue
    raise ValueError("the sessions' titles and skills have no words to describe them")


def fit_and_rank(ds, weights=None, *, k=30, block=500, progress=None, similar=True):
    """Fit on ``ds`` and rank for every user: a Result."""
    tick = progress or (lambda label, done=None, total=None: None)
    model = Model(ds, weights, progress=lambda label: tick(label))
    sessions, mentors = [], []
    for start in range(0, ds.n_users, block):
        rows = model.rows_for(np.arange(start, min(start + block, ds.n_users)))
        lists, mentor_scores = model.recommend(rows, k=k)
        sessions.extend(lists)
        mentors.extend(model.mentors(rows, mentor_scores))
        tick("ranking learners", min(start + block, ds.n_users), ds.n_users)
    tick("similar sessions")
    similar_map = model.similar_sessions() if similar else {}
    return model, Result(sessions=sessions, mentors=mentors, similar=similar_map, trending=model.trending())


def indicator(rows, cols, shape):
    """A 0/1 CSR matrix with ones at the (row, column) pairs (repeats count once)."""
    matrix = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (np.asarray(rows), np.asarray(cols))),
        shape=shape,
        dtype=np.float32,
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def indicator_rows(lists, n_columns):
    """A 0/1 CSR matrix with one row per list of column indices."""
    rows = np.repeat(np.arange(len(lists)), [len(items) for items in lists])
    cols = np.fromiter((c for items in lists for c in items), dtype=np.int64, count=len(rows))
    return indicator(rows, cols, (len(lists), n_columns))
