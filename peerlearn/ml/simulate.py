"""A simulated PeerLearn: learners, mentors, sessions and months of what the learners did.

It serves two purposes. Offline evaluation: ``Platform.dataset(as_of)`` is what the recommender
would have known at ``as_of``, with the bookings that followed as the answer key, so a model can
be scored on a temporal split. Load testing: ``write_to_database`` puts the whole platform into
the app's database, as fast as bulk inserts allow.

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

import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from scipy import sparse
from sqlalchemy import delete, func, insert, or_, select

from ..extensions import db
from ..models import (
    CATEGORIES,
    LANGUAGES,
    Booking,
    Interaction,
    LearningSession,
    Skill,
    User,
    session_skills,
    user_interests,
    user_skills,
)
from ..services.passwords import hash_password
from .recommender import KIND_CODE, KINDS, Dataset, indicator, indicator_rows
from .text import clean_skill_name, skill_slug

DAY = 86400.0
HOUR = 3600.0
MINUTE = 60.0
MONTH_DAYS = 30.44
IST_OFFSET = 5.5 * HOUR  # the simulated platform lives in India: days start at IST midnight

EMAIL_DOMAIN = "sim.peerlearn.test"
SIM_PASSWORD = "simulated-passphrase"  # noqa: S105 - shared by every simulated account, on purpose
BATCH_SIZE = 5000

# Skills per category, most sought-after first (a learner's draws favour the top of each list).
SKILLS_BY_CATEGORY = {
    "Programming": (
        "Python", "JavaScript", "React", "Django", "TypeScript", "Node.js", "Java", "Flask",
        "Spring Boot", "Go", "Rust", "C++", "Data Structures", "Git", "Docker",
    ),
    "Data & AI": (
        "Machine Learning", "SQL", "Pandas", "Statistics", "Deep Learning", "Data Visualization",
        "NumPy", "PyTorch", "Large Language Models", "Natural Language Processing",
        "Computer Vision", "Power BI", "Tableau", "Apache Spark",
    ),
    "Design": (
        "Figma", "UI Design", "UX Research", "Design Systems", "Prototyping", "Typography",
        "Adobe Illustrator", "Photoshop", "Branding", "Motion Design", "Color Theory",
    ),
    "Product & Business": (
        "Product Management", "Digital Marketing", "Excel", "SEO", "Financial Modelling",
        "Startup Fundraising", "Sales", "Agile", "Business Analytics", "Content Marketing",
        "Entrepreneurship",
    ),
    "Career": (
        "Interview Preparation", "Resume Writing", "System Design", "Public Speaking",
        "Salary Negotiation", "LinkedIn Branding", "Leadership", "Time Management",
        "Career Switching", "Freelancing",
    ),
    "Languages": (
        "English Speaking", "IELTS", "Spanish", "Japanese", "German", "French", "Korean",
        "Mandarin", "TOEFL", "Hindi", "Tamil", "Sanskrit",
    ),
    "Music & Arts": (
        "Guitar", "Piano", "Carnatic Music", "Hindustani Vocals", "Drawing", "Photography",
        "Music Production", "Watercolour", "Digital Illustration", "Tabla", "Calligraphy",
    ),
    "Science & Maths": (
        "JEE Mathematics", "Calculus", "Physics", "Linear Algebra", "Probability", "JEE Physics",
        "NEET Biology", "Organic Chemistry", "Discrete Mathematics", "Biology", "Astronomy",
    ),
    "Other": (
        "Personal Finance", "Chess", "Yoga", "Stock Market Investing", "Creative Writing",
        "Cooking", "Meditation", "Fitness", "Mental Health", "Gardening",
    ),
}  # fmt: skip

# How many learners lean towards each category (order of CATEGORIES).
CATEGORY_SHARE = np.array([0.2, 0.18, 0.1, 0.1, 0.12, 0.1, 0.08, 0.08, 0.04])

CATEGORY_PITCH = {
    "Programming": "We write and review real code together, so have your editor ready.",
    "Data & AI": "We work through a real dataset in a notebook, one step at a time.",
    "Design": "We critique real work and rebuild it live; bring a file you want feedback on.",
    "Product & Business": "We work through real cases and frameworks you can use at work the next day.",
    "Career": "We look at real examples and you leave with a plan for your next step.",
    "Languages": "Mostly speaking practice, with vocabulary and grammar notes shared afterwards.",
    "Music & Arts": "A hands-on session: keep your instrument or materials within reach.",
    "Science & Maths": "We solve problems together on a shared whiteboard, up to exam-style questions.",
    "Other": "A relaxed, practical session with plenty of time for your questions.",
}

LEVELS = ("all", "beginner", "intermediate", "advanced")
LEVEL_SHARE = (0.2, 0.35, 0.3, 0.15)
LEVEL_AUDIENCE = {
    "all": "learners of every level",
    "beginner": "complete beginners",
    "intermediate": "learners who know the basics",
    "advanced": "experienced practitioners",
}
TITLE_TEMPLATES = {
    "all": (
        "{a} office hours",
        "Ask me anything: {pair}",
        "{a} clinic: bring your questions",
        "{pair}: live Q&A",
    ),
    "beginner": (
        "{a} for absolute beginners",
        "Getting started with {a}",
        "{pair} from scratch",
        "Your first steps in {a}",
    ),
    "intermediate": (
        "Practical {pair}",
        "{a} in practice: real examples",
        "Level up your {a}",
        "{pair}: a hands-on workshop",
    ),
    "advanced": ("Advanced {a}", "{a} deep dive", "Mastering {pair}", "{a} for experienced practitioners"),
}
CLOSINGS = (
    "Questions are welcome throughout.",
    "Bring your questions; the last part is open discussion.",
    "You get the notes and examples after the session.",
)

# Session language: mostly English. Learners all follow English; most also follow one other.
SESSION_LANGUAGE_SHARE = (0.72, 0.14, 0.02, 0.03, 0.02, 0.02, 0.02, 0.02, 0.01)
LEARNER_LANGUAGE_SHARE = (0.25, 0.4, 0.05, 0.08, 0.06, 0.06, 0.04, 0.03, 0.03)

PRICES_RUPEES = np.array([199, 249, 299, 399, 499, 599, 799, 999, 1299, 1499, 1999])
PRICE_SHARE = np.array([0.12, 0.08, 0.14, 0.12, 0.16, 0.08, 0.08, 0.1, 0.04, 0.05, 0.03])
DURATIONS = np.array([30, 45, 60, 90, 120])
DURATION_SHARE = np.array([0.15, 0.2, 0.4, 0.15, 0.1])
GIFT_RUPEES = np.array([20.0, 50.0, 100.0, 200.0, 500.0])

FIRST_NAMES = (
    "Aarav", "Aditi", "Akash", "Ananya", "Anjali", "Arjun", "Bhavna", "Chetan", "Deepa", "Dev",
    "Divya", "Farhan", "Gauri", "Harsh", "Ishaan", "Isha", "Jaya", "Karan", "Kavya", "Lakshmi",
    "Manish", "Meera", "Naveen", "Neha", "Nikhil", "Pooja", "Pranav", "Priya", "Rahul", "Riya",
    "Rohan", "Saanvi", "Sameer", "Sana", "Shreya", "Siddharth", "Sneha", "Tanvi", "Tarun", "Uma",
    "Varun", "Vidya", "Vikram", "Yash", "Zoya", "Abhishek", "Aisha", "Gopal", "Kiran", "Nandini",
)  # fmt: skip
LAST_NAMES = (
    "Sharma", "Verma", "Iyer", "Nair", "Reddy", "Rao", "Patel", "Shah", "Mehta", "Gupta",
    "Das", "Banerjee", "Chatterjee", "Mukherjee", "Joshi", "Kulkarni", "Deshpande", "Pillai",
    "Menon", "Krishnan", "Subramanian", "Singh", "Kaur", "Khan", "Qureshi", "Fernandes", "D'Souza",
    "Bose", "Sen", "Ghosh", "Naidu", "Hegde", "Kamath", "Bhat", "Agarwal", "Jain", "Chopra",
    "Malhotra", "Saxena", "Tiwari",
)  # fmt: skip


@dataclass(frozen=True)
class SimulationConfig:
    learners: int = 2000
    mentors: int = 300
    sessions: int = 2000
    months: int = 6
    seed: int = 7
    end: float | None = None  # epoch seconds when the simulation stops; None: now, to the hour
    horizon_days: int = 14  # how far ahead learners look for sessions (and future sessions exist)
    # Learners
    interest_alpha: float = 0.3  # Dirichlet concentration: small means one or two categories
    cold_start_share: float = 0.15  # learners who state no skill and no interest
    visits_per_month: float = 1.4  # days a learner of average activity opens the catalog
    activity_sigma: float = 0.9  # lognormal spread of activity between learners
    views_per_visit: float = 2.6
    search_rate: float = 0.4  # chance a visit starts with a search
    # Booking and after
    booking_rate: float = 0.45  # chance of booking a viewed session that appeals fully
    booking_half: float = 0.35  # the appeal at which the chance is half of booking_rate
    attend_rate: float = 0.85
    complete_rate: float = 0.9  # of those who attended
    rating_rate: float = 0.45  # of those who completed
    follow_rate: float = 0.25  # of those who completed a session they liked (4+ stars)
    gift_rate: float = 0.03  # of those who attended
    loyalty_boost: float = 1.5  # appeal of a mentor's sessions per good session with them (up to 2)
    search_boost: float = 3.0  # appeal of sessions on the skill just searched for


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


def _csr_rows(matrix):
    return [matrix.indices[matrix.indptr[r] : matrix.indptr[r + 1]].tolist() for r in range(matrix.shape[0])]


def _local_midnight(moment):
    return np.floor((moment + IST_OFFSET) / DAY) * DAY - IST_OFFSET


def _default_end():
    return math.floor(time.time() / HOUR) * HOUR


# Building the world -------------------------------------------------------------------------------


class _Vocabulary:
    def __init__(self, categories):
        self.names = []
        self.category = []
        self.offset = []
        self.size = []
        self.within_weights = []
        for code, category in enumerate(categories):
            skills = SKILLS_BY_CATEGORY[category]
            self.offset.append(len(self.names))
            self.size.append(len(skills))
            self.names.extend(skills)
            self.category.extend([code] * len(skills))
            weights = 1.0 / np.arange(1, len(skills) + 1) ** 0.7
            self.within_weights.append(weights / weights.sum())
        self.category = np.array(self.category, dtype=np.int64)

    def draw(self, rng, category):
        """One skill per entry of ``category``, the popular ones of each category more often."""
        skills = np.empty(len(category), dtype=np.int64)
        for code, weights in enumerate(self.within_weights):
            here = np.flatnonzero(category == code)
            skills[here] = self.offset[code] + rng.choice(len(weights), size=len(here), p=weights)
        return skills


def _draw_categories(rng, probabilities, owners):
    """A category for each entry of ``owners``, from that owner's row of ``probabilities``."""
    cumulative = np.cumsum(probabilities, axis=1)
    cumulative[:, -1] = 1.0
    draws = rng.random(len(owners))[:, None]
    return (cumulative[owners] < draws).sum(axis=1)


def _make_learners(rng, config, vocab, n_categories):
    n = config.learners
    alpha = config.interest_alpha * n_categories * CATEGORY_SHARE
    interest = rng.dirichlet(alpha, size=n) + 1e-6
    interest /= interest.sum(axis=1, keepdims=True)
    activity = rng.lognormal(0.0, config.activity_sigma, size=n)
    activity /= activity.mean()
    price_sensitivity = rng.gamma(2.0, 0.5, size=n)  # mean 1: a ₹1,000 session appeals e⁻¹ as much
    language = rng.choice(len(LEARNER_LANGUAGE_SHARE), size=n, p=LEARNER_LANGUAGE_SHARE)
    # Most draws follow the learner's interests, a few stray.
    mixed = 0.85 * interest + 0.15 * CATEGORY_SHARE

    def draw(counts):
        owners = np.repeat(np.arange(n), counts)
        skills = vocab.draw(rng, _draw_categories(rng, mixed, owners))
        return indicator(owners, skills, (n, len(vocab.names)))

    wants = draw(rng.integers(3, 7, size=n))
    stated_count = rng.choice(6, size=n, p=[0.1, 0.2, 0.25, 0.2, 0.15, 0.1])
    known_count = rng.choice(6, size=n, p=[0.3, 0.25, 0.2, 0.12, 0.08, 0.05])
    cold = rng.random(n) < config.cold_start_share
    stated_count[cold] = 0
    known_count[cold] = 0
    # Stated interests are a random few of the skills they want; stated skills they already have.
    interests = []
    for learner, row in enumerate(_csr_rows(wants)):
        take = min(stated_count[learner], len(row))
        interests.append(sorted(rng.choice(row, size=take, replace=False).tolist()) if take else [])
    skills = _csr_rows(draw(known_count))
    skills = [sorted(set(known) - set(wanted)) for known, wanted in zip(skills, interests, strict=True)]
    matches = wants + indicator_rows(skills, len(vocab.names))
    matches.data[:] = 1.0
    return {
        "interest": interest,
        "activity": activity,
        "price_sensitivity": price_sensitivity,
        "language": language,
        "wants": wants,  # what they want to learn, stated or not
        "matches": matches.tocsr(),  # what makes a session relevant to them: wants and known skills
        "skills": skills,
        "interests": interests,
    }


def _make_mentors(rng, config, vocab, n_categories):
    n = config.mentors
    categories, skills = [], []
    for _ in range(n):
        first = int(rng.choice(n_categories, p=CATEGORY_SHARE))
        own = [first]
        if rng.random() < 0.4:
            others = np.delete(CATEGORY_SHARE, first)
            second = int(rng.choice(n_categories - 1, p=others / others.sum()))
            own.append(second + (second >= first))
        count = int(rng.integers(3, 7))
        chosen = []
        for position in range(count):
            code = own[position % len(own)]
            pool = [
                s for s in range(vocab.offset[code], vocab.offset[code] + vocab.size[code]) if s not in chosen
            ]
            weights = vocab.within_weights[code][np.array(pool) - vocab.offset[code]]
            chosen.append(int(rng.choice(pool, p=weights / weights.sum())))
        categories.append(own)
        skills.append(sorted(chosen))
    quality = rng.beta(5.0, 2.0, size=n)
    output = rng.lognormal(0.0, 0.7, size=n) * (0.5 + quality)  # how many sessions they run
    return {"categories": categories, "skills": skills, "quality": quality, "output": output / output.sum()}


def _session_times(rng, config, start, end):
    """Start and publication times: most sessions in the past months, some in the next weeks."""
    n = config.sessions
    past_days = (end - start) / DAY
    n_future = round(n * config.horizon_days / (past_days + config.horizon_days))
    moments = np.concatenate(
        [
            rng.uniform(start + DAY, end - DAY, size=n - n_future),
            rng.uniform(end, end + config.horizon_days * DAY, size=n_future),
        ]
    )
    durations = rng.choice(DURATIONS, size=n, p=DURATION_SHARE)
    # Between 07:00 and 22:00 local time, on the half hour.
    starts = _local_midnight(moments) + 7 * HOUR + rng.integers(0, 31, size=n) * 30 * MINUTE
    past = np.arange(n) < n - n_future
    starts[past & (starts + durations * MINUTE > end - 30 * MINUTE)] -= DAY
    starts[~past & (starts < end + 30 * MINUTE)] += DAY
    published = starts - rng.uniform(2.0, 21.0, size=n) * DAY
    published[~past] = np.minimum(published[~past], end - rng.uniform(0.1, 72.0, size=n_future) * HOUR)
    published = np.round(published)
    return starts, durations, published


def _describe(rng, names, category, level, duration, capacity):
    """A readable title and a short description from the session's skills and level."""
    a = names[0]
    pair = a if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    templates = TITLE_TEMPLATES[level]
    title = templates[int(rng.integers(len(templates)))].format(a=a, pair=pair)
    closing = CLOSINGS[int(rng.integers(len(CLOSINGS)))]
    if capacity <= 4:
        closing = "A small group, so everyone gets time to ask and practise."
    description = (
        f"A {duration}-minute live session on {pair} for {LEVEL_AUDIENCE[level]}. "
        f"{CATEGORY_PITCH[category]} {closing}"
    )
    return title[:120], description


def _make_sessions(rng, config, vocab, mentors, start, end):
    starts, durations, published = _session_times(rng, config, start, end)
    order = np.argsort(published, kind="stable")
    starts, durations, published = starts[order], durations[order], published[order]
    n = config.sessions
    mentor = rng.choice(config.mentors, size=n, p=mentors["output"])
    level = rng.choice(len(LEVELS), size=n, p=LEVEL_SHARE)
    language = rng.choice(len(LANGUAGES), size=n, p=SESSION_LANGUAGE_SHARE)
    price = rng.choice(PRICES_RUPEES, size=n, p=PRICE_SHARE) * 100
    price[rng.random(n) < 0.3] = 0
    capacity = np.where(rng.random(n) < 0.15, 1, rng.integers(2, 21, size=n))
    category = np.empty(n, dtype=np.int64)
    skills, titles, descriptions = [], [], []
    for session in range(n):
        own = mentors["categories"][mentor[session]]
        code = own[int(rng.integers(len(own)))]
        pool = [s for s in mentors["skills"][mentor[session]] if vocab.category[s] == code]
        count = min(len(pool), 1 + int(rng.choice(3, p=[0.5, 0.35, 0.15])))
        chosen = [int(s) for s in rng.choice(pool, size=count, replace=False)]
        title, description = _describe(
            rng,
            [vocab.names[s] for s in chosen],
            CATEGORIES[code],
            LEVELS[level[session]],
            int(durations[session]),
            int(capacity[session]),
        )
        category[session] = code
        skills.append(sorted(chosen))
        titles.append(title)
        descriptions.append(description)
    return {
        "mentor": mentor.astype(np.int64),
        "category": category,
        "skills": skills,
        "title": titles,
        "description": descriptions,
        "level": [LEVELS[code] for code in level],
        "language": language,
        "language_name": [LANGUAGES[code] for code in language],
        "price": price.astype(np.int64),
        "capacity": capacity.astype(np.int64),
        "duration": durations.astype(np.int64),
        "starts": starts,
        "published": published,
    }


# Behaviour ----------------------------------------------------------------------------------------


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


class _Market:
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


def simulate(config=None):
    """Build the world and run it: a ``Platform``."""
    config = config or SimulationConfig()
    end = float(config.end) if config.end is not None else _default_end()
    start = float(_local_midnight(end - config.months * MONTH_DAYS * DAY))
    rng = np.random.default_rng(config.seed)
    vocab = _Vocabulary(CATEGORIES)
    learners = _make_learners(rng, config, vocab, len(CATEGORIES))
    mentors = _make_mentors(rng, config, vocab, len(CATEGORIES))
    sessions = _make_sessions(rng, config, vocab, mentors, start, end)
    market = _Market(rng, config, start, end, learners, mentors, sessions, len(vocab.names)).run()
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


# Writing to the database --------------------------------------------------------------------------


class SimulationExists(ValueError):
    """The database already holds simulated accounts, and replacing them was not asked for."""


def _moment(epoch_seconds):
    return datetime.fromtimestamp(float(epoch_seconds), UTC)


def _batches(rows, size=BATCH_SIZE):
    for begin in range(0, len(rows), size):
        yield begin, rows[begin : begin + size]


def simulated_user_count():
    return db.session.scalar(
        select(func.count()).select_from(User).where(User.email.like(f"%@{EMAIL_DOMAIN}"))
    )


def delete_simulated():
    """Remove every simulated account and what hangs off it (in the caller's transaction)."""
    simulated = select(User.id).where(User.email.like(f"%@{EMAIL_DOMAIN}"))
    their_sessions = select(LearningSession.id).where(LearningSession.mentor_id.in_(simulated))
    # The big tables first, by their indexed columns; the database's cascades take care of the rest.
    db.session.execute(
        delete(Interaction).where(
            or_(Interaction.user_id.in_(simulated), Interaction.mentor_id.in_(simulated))
        )
    )
    db.session.execute(
        delete(Booking).where(or_(Booking.learner_id.in_(simulated), Booking.session_id.in_(their_sessions)))
    )
    db.session.execute(delete(LearningSession).where(LearningSession.mentor_id.in_(simulated)))
    db.session.execute(delete(User).where(User.email.like(f"%@{EMAIL_DOMAIN}")))


def write_to_database(platform, progress=None, *, replace=False):
    """Insert ``platform`` into the database of the current app context, in one transaction.

    Refuses (``SimulationExists``) when simulated accounts are already there, unless ``replace``
    deletes them first. Calls ``progress(label, done, total)`` as it goes. Returns the counts inserted.
    """
    tick = progress or (lambda label, done, total: None)
    existing = simulated_user_count()
    if existing and not replace:
        raise SimulationExists(
            f"The database already holds {existing} simulated accounts (@{EMAIL_DOMAIN}); "
            "pass replace=True to delete them first."
        )
    try:
        if existing:
            tick("deleting the previous simulation", 0, 1)
            delete_simulated()
            tick("deleting the previous simulation", 1, 1)
        skill_ids, created_skills = _skill_ids(platform.skill_names)

        password_hash = hash_password(SIM_PASSWORD)
        created = [_moment(t) for t in platform.user_created_at]
        users = [
            {
                "email": platform.user_email[u],
                "name": platform.user_name[u],
                "password_hash": password_hash,
                "is_admin": False,
                "teaching_enabled_at": created[u] if platform.user_role[u] == "mentor" else None,
                "email_verified_at": created[u],
                "timezone": platform.user_timezone[u],
                "headline": _headline(platform, u),
                "hourly_rate_paise": _hourly_rate(platform, u),
                "created_at": created[u],
                "updated_at": created[u],
            }
            for u in range(platform.n_users)
        ]
        _insert(User.__table__, users, "users", tick)
        by_email = dict(
            db.session.execute(select(User.email, User.id).where(User.email.like(f"%@{EMAIL_DOMAIN}"))).all()
        )
        user_id = np.array([by_email[email] for email in platform.user_email], dtype=np.int64)
        mentor_id = user_id[platform.mentor_user]

        stated = (
            (user_skills, platform.user_skills, "user skills"),
            (user_interests, platform.user_interests, "user interests"),
        )
        for table, lists, label in stated:
            rows = [
                {"user_id": int(user_id[u]), "skill_id": skill_ids[s]}
                for u, items in enumerate(lists)
                for s in items
            ]
            _insert(table, rows, label, tick)

        sessions = [
            _session_row(platform, s, int(mentor_id[platform.session_mentor[s]]))
            for s in range(platform.n_sessions)
        ]
        session_id = np.zeros(platform.n_sessions, dtype=np.int64)
        table = LearningSession.__table__
        for begin, chunk in _batches(sessions):
            inserted = db.session.execute(
                insert(table).returning(table.c.id, sort_by_parameter_order=True), chunk
            )
            session_id[begin : begin + len(chunk)] = inserted.scalars().all()
            tick("sessions", begin + len(chunk), len(sessions))
        rows = [
            {"session_id": int(session_id[s]), "skill_id": skill_ids[k]}
            for s, items in enumerate(platform.session_skills)
            for k in items
        ]
        _insert(session_skills, rows, "session skills", tick)

        booked_at = [_moment(t) for t in platform.booking_time]
        price = platform.session_price_paise
        bookings = [
            {
                "session_id": int(session_id[s]),
                "learner_id": int(user_id[u]),
                "status": status,
                "amount_paise": int(price[s]),
                "currency": "INR",
                "confirmed_at": moment,
                "created_at": moment,
                "updated_at": moment,
            }
            for u, s, status, moment in zip(
                platform.booking_learner.tolist(),
                platform.booking_session.tolist(),
                platform.booking_status,
                booked_at,
                strict=True,
            )
        ]
        _insert(Booking.__table__, bookings, "bookings", tick)

        n_events = platform.n_interactions
        event_user = user_id[platform.event_user].tolist()
        event_session = np.where(platform.event_session >= 0, session_id[platform.event_session], -1).tolist()
        event_mentor = np.where(platform.event_mentor >= 0, mentor_id[platform.event_mentor], -1).tolist()
        event_kind = [KINDS[code] for code in platform.event_kind.tolist()]
        event_value = [None if math.isnan(v) else v for v in platform.event_value.tolist()]
        event_time = platform.event_time.tolist()
        searches = iter(platform.search_text)
        table = Interaction.__table__
        for begin in range(0, n_events, BATCH_SIZE):
            chunk = []
            for e in range(begin, min(begin + BATCH_SIZE, n_events)):
                kind = event_kind[e]
                chunk.append(
                    {
                        "user_id": event_user[e],
                        "kind": kind,
                        "session_id": event_session[e] if event_session[e] >= 0 else None,
                        "mentor_id": event_mentor[e] if event_mentor[e] >= 0 else None,
                        "query": next(searches) if kind == "search" else "",
                        "value": event_value[e],
                        "created_at": datetime.fromtimestamp(event_time[e], UTC),
                    }
                )
            db.session.execute(insert(table), chunk)
            tick("interactions", begin + len(chunk), n_events)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return {
        "users": platform.n_users,
        "learners": platform.n_learners,
        "mentors": platform.n_mentors,
        "skills_created": created_skills,
        "sessions": platform.n_sessions,
        "bookings": len(bookings),
        "interactions": n_events,
    }


def _insert(table, rows, label, tick):
    for begin, chunk in _batches(rows):
        db.session.execute(insert(table), chunk)
        tick(label, begin + len(chunk), len(rows))


def _skill_ids(names):
    """Database ids of the vocabulary, creating the skills that are missing (by slug)."""
    cleaned = [clean_skill_name(name) for name in names]
    slugs = [skill_slug(name) for name in cleaned]
    existing = dict(db.session.execute(select(Skill.slug, Skill.id).where(Skill.slug.in_(slugs))).all())
    missing = [
        {"name": name, "slug": slug}
        for name, slug in zip(cleaned, slugs, strict=True)
        if slug not in existing
    ]
    if missing:
        db.session.execute(insert(Skill.__table__), missing)
        existing = dict(db.session.execute(select(Skill.slug, Skill.id).where(Skill.slug.in_(slugs))).all())
    return [existing[slug] for slug in slugs], len(missing)


def _headline(platform, user):
    mentor = platform.user_mentor[user]
    if mentor < 0:
        return ""
    names = [platform.skill_names[s] for s in platform.user_skills[user][:3]]
    return (", ".join(names[:-1]) + " and " + names[-1] + " mentor")[:120]


def _hourly_rate(platform, user):
    mentor = platform.user_mentor[user]
    if mentor < 0:
        return 0
    # From ₹500 to ₹3,000 an hour, the better mentors asking more.
    return int(round(500 + 2500 * platform.mentor_quality[mentor], -2)) * 100


def _session_row(platform, s, mentor_id):
    starts = platform.session_starts_at[s]
    duration = int(platform.session_duration[s])
    finished = starts + duration * MINUTE <= platform.end
    published = _moment(platform.session_published_at[s])
    return {
        "mentor_id": mentor_id,
        "title": platform.session_title[s],
        "description": platform.session_description[s],
        "category": CATEGORIES[platform.session_category[s]],
        "level": platform.session_level[s],
        "language": platform.session_language[s],
        "starts_at": _moment(starts),
        "duration_minutes": duration,
        "capacity": int(platform.session_capacity[s]),
        "seats_taken": int(platform.session_seats_taken[s]),
        "price_paise": int(platform.session_price_paise[s]),
        "currency": "INR",
        "status": "completed" if finished else "scheduled",
        "published_at": published,
        "started_at": _moment(starts) if finished else None,
        "ended_at": _moment(starts + duration * MINUTE) if finished else None,
        "created_at": published,
        "updated_at": published,
    }
