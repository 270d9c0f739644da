"""The simulated world before anything happens in it: its vocabulary (categories, skills, titles,
prices, names), its size and habits (``SimulationConfig``), and the learners, mentors and sessions
drawn from them. ``market`` makes the days go by; ``simulate`` puts the two together."""

import math
import time
from dataclasses import dataclass

import numpy as np

from .recommender import indicator, indicator_rows

DAY = 86400.0
HOUR = 3600.0
MINUTE = 60.0
MONTH_DAYS = 30.44
IST_OFFSET = 5.5 * HOUR  # the simulated platform lives in India: days start at IST midnight

EMAIL_DOMAIN = "sim.peerlearn.test"

# The app's categories and languages, in its order (tests hold them to ``models``; ``ml`` reads no
# models, so the simulated world names them itself).
CATEGORIES = (
    "Programming",
    "Data & AI",
    "Design",
    "Product & Business",
    "Career",
    "Languages",
    "Music & Arts",
    "Science & Maths",
    "Other",
)
LANGUAGES = ("English", "Hindi", "Bengali", "Tamil", "Telugu", "Marathi", "Kannada", "Malayalam", "Gujarati")

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


def _csr_rows(matrix):
    return [matrix.indices[matrix.indptr[r] : matrix.indptr[r + 1]].tolist() for r in range(matrix.shape[0])]


def local_midnight(moment):
    return np.floor((moment + IST_OFFSET) / DAY) * DAY - IST_OFFSET


def default_end():
    return math.floor(time.time() / HOUR) * HOUR


class Vocabulary:
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


def make_learners(rng, config, vocab, n_categories):
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


def make_mentors(rng, config, vocab, n_categories):
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
    starts = local_midnight(moments) + 7 * HOUR + rng.integers(0, 31, size=n) * 30 * MINUTE
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


def make_sessions(rng, config, vocab, mentors, start, end):
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
