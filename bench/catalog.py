"""Catalog search speed: GET /api/sessions/ over a catalog of 10,000 sessions from 2,000 mentors.

    .venv/bin/python bench/catalog.py                       # a temporary SQLite file
    .venv/bin/python bench/catalog.py --database-url postgresql://postgres@127.0.0.1:5432/test

With a PostgreSQL URL the catalog goes into a scratch database created next to the one named
(and dropped afterwards), so the named database is never touched. The catalog mixes categories,
skills, languages, prices and start times the way a live marketplace does, including drafts,
cancelled and completed sessions that the search must skip. Requests run in this process through
the Flask test client, cycling through realistic query mixes (text + filters + sorts), after a
warm-up. Prints p50/p95/max request time in milliseconds and requests per second, overall and per
mix. The target is p95 <= 50 ms. ``--suggested-indexes`` adds the indexes proposed for the
search (see SUGGESTED_INDEXES) before measuring, to show what they change.
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

# Run as a file, not a module: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from peerlearn import create_app
from peerlearn.config import Config, normalise_database_url
from peerlearn.extensions import db
from peerlearn.ml.text import skill_slug
from peerlearn.models import LearningSession, Skill, User, session_skills

TARGET_P95_MS = 50
# Proposed for the models; the bench can add them to measure their effect.
SUGGESTED_INDEXES = ("CREATE INDEX ix_session_skills_skill_id ON session_skills (skill_id)",)

# Per category: (topic, skills it teaches). Titles and descriptions are built from these.
TOPICS = {
    "Programming": [
        ("Python", ["Python", "Testing", "Asyncio", "Type hints"]),
        ("Django", ["Django", "Python", "PostgreSQL", "REST APIs"]),
        ("Flask", ["Flask", "Python", "SQLAlchemy", "REST APIs"]),
        ("JavaScript", ["JavaScript", "TypeScript", "DOM", "Node.js"]),
        ("React", ["React", "JavaScript", "React hooks", "Next.js"]),
        ("Go", ["Go", "Concurrency", "Microservices"]),
        ("Rust", ["Rust", "Ownership", "Systems programming"]),
        ("Java", ["Java", "Spring Boot", "JVM"]),
        ("Kotlin", ["Kotlin", "Android", "Coroutines"]),
        ("C++", ["C++", "STL", "Competitive programming"]),
        ("Git", ["Git", "GitHub", "Code review"]),
        ("Docker", ["Docker", "Kubernetes", "DevOps", "Linux"]),
        ("System design", ["System design", "Scalability", "Caching", "Databases"]),
        ("Data structures", ["Data structures", "Algorithms", "Interview prep"]),
    ],
    "Data & AI": [
        ("Pandas", ["Pandas", "Python", "Data analysis"]),
        ("SQL", ["SQL", "PostgreSQL", "Data analysis"]),
        ("Machine learning", ["Machine learning", "scikit-learn", "Python", "Statistics"]),
        ("Deep learning", ["Deep learning", "PyTorch", "Neural networks"]),
        ("LLM apps", ["LLMs", "Prompt engineering", "Python", "RAG"]),
        ("Power BI", ["Power BI", "Data visualisation", "Excel"]),
        ("Data engineering", ["Airflow", "Spark", "Data pipelines", "SQL"]),
        ("Statistics", ["Statistics", "Probability", "A/B testing"]),
    ],
    "Design": [
        ("Figma", ["Figma", "UI design", "Prototyping"]),
        ("UX research", ["UX research", "User interviews", "Usability testing"]),
        ("Design systems", ["Design systems", "Figma", "Accessibility"]),
        ("Illustration", ["Illustration", "Procreate", "Colour theory"]),
        ("Typography", ["Typography", "Branding", "Layout"]),
    ],
    "Product & Business": [
        ("Product management", ["Product management", "Roadmaps", "User stories"]),
        ("Startup fundraising", ["Fundraising", "Pitch decks", "Startups"]),
        ("Digital marketing", ["SEO", "Content marketing", "Google Ads"]),
        ("Financial modelling", ["Excel", "Financial modelling", "Valuation"]),
        ("Sales", ["B2B sales", "Negotiation", "CRM"]),
    ],
    "Career": [
        ("Interview prep", ["Interview prep", "Resume writing", "Communication"]),
        ("Resume review", ["Resume writing", "LinkedIn", "Career change"]),
        ("Public speaking", ["Public speaking", "Communication", "Storytelling"]),
        ("Freelancing", ["Freelancing", "Pricing", "Client management"]),
    ],
    "Languages": [
        ("Spoken English", ["Spoken English", "Pronunciation", "Grammar"]),
        ("Hindi", ["Hindi", "Conversation", "Grammar"]),
        ("German", ["German", "Goethe A1", "Conversation"]),
        ("Japanese", ["Japanese", "JLPT N5", "Hiragana"]),
        ("IELTS", ["IELTS", "Academic writing", "Spoken English"]),
    ],
    "Music & Arts": [
        ("Guitar", ["Guitar", "Chords", "Music theory"]),
        ("Carnatic vocals", ["Carnatic music", "Vocals", "Ragas"]),
        ("Hindustani vocals", ["Hindustani music", "Vocals", "Ragas"]),
        ("Digital painting", ["Digital painting", "Procreate", "Colour theory"]),
        ("Photography", ["Photography", "Lightroom", "Composition"]),
    ],
    "Science & Maths": [
        ("Calculus", ["Calculus", "JEE", "Problem solving"]),
        ("Physics", ["Physics", "JEE", "Mechanics"]),
        ("Organic chemistry", ["Organic chemistry", "NEET", "Reaction mechanisms"]),
        ("Linear algebra", ["Linear algebra", "Matrices", "Machine learning"]),
    ],
    "Other": [
        ("Chess", ["Chess", "Openings", "Endgames"]),
        ("Personal finance", ["Personal finance", "Mutual funds", "Budgeting"]),
        ("Yoga for desk workers", ["Yoga", "Posture", "Wellbeing"]),
    ],
}
TITLES = [
    "{topic} for beginners",
    "Hands-on {topic}: build something real",
    "{topic} office hours",
    "{topic} interview prep",
    "Intermediate {topic} workshop",
    "Advanced {topic} patterns",
    "{topic} from zero to confident",
    "Fix your {topic} mistakes",
    "{topic} project review",
    "Weekend {topic} bootcamp",
    "{topic} Q&A with a practitioner",
    "Getting unstuck with {topic}",
]
SENTENCES = [
    "We start from what you already know about {topic} and work through real examples together.",
    "Bring your questions: half of the session is open discussion.",
    "You will leave with a short checklist and the notes from the session.",
    "Screen sharing is encouraged, so you can get feedback on your own work.",
    "Suitable if you have tried {topic} on your own and want someone to review your approach.",
    "We cover {skill_a} and {skill_b}, with exercises between the explanations.",
    "I have used {topic} at work for years and will share what actually matters day to day.",
    "Small group, so everyone gets time to ask about their own situation.",
]
FIRST_NAMES = """
    Aarav Aditi Akash Ananya Arjun Asha Bhavna Chetan Deepa Devika Farhan Gaurav Harini Ishaan Jaya Kabir
    Kavya Lakshmi Manish Meera Mohan Naina Neha Nikhil Pooja Pranav Priya Rahul Ravi Riya Rohan Sakshi
    Sameer Sana Shreya Siddharth Sneha Tanvi Tarun Uma Varun Vidya Vikram Yash Zoya Anil Divya Kiran
    Leela Mira Nandini Omkar Parth Radhika Sunil Tara Usha Vivek Wasim Yamini
"""
LAST_NAMES = """
    Sharma Iyer Patel Reddy Nair Gupta Mehta Rao Das Kulkarni Banerjee Chatterjee Menon Pillai Joshi
    Singh Khan Verma Bose Desai Shetty Kapoor Agarwal Mishra Ghosh Naidu Bhat Hegde Saxena Thomas
    Fernandes Kaur Mukherjee Chopra Malhotra Krishnan Subramanian Varghese Qureshi Sinha
"""
HEADLINES = ["Senior engineer", "Data scientist", "Product designer", "Founder", "Teacher", "Consultant"]
LANGUAGE_WEIGHTS = {
    "English": 60,
    "Hindi": 20,
    "Tamil": 4,
    "Telugu": 3,
    "Bengali": 3,
    "Marathi": 3,
    "Kannada": 3,
    "Malayalam": 2,
    "Gujarati": 2,
}
PRICES = [9900, 19900, 29900, 49900, 79900, 99900, 149900, 199900]


def build_catalog(rng, sessions, mentors, now):
    """Insert skills, mentors and sessions in bulk; returns nothing, commits."""
    skill_names = sorted({skill for topics in TOPICS.values() for _, skills in topics for skill in skills})
    db.session.execute(insert(Skill), [{"name": name, "slug": skill_slug(name)} for name in skill_names])
    skill_ids = {name: skill_id for skill_id, name in db.session.execute(text("SELECT id, name FROM skills"))}

    first_names, last_names = FIRST_NAMES.split(), LAST_NAMES.split()
    users = []
    for index in range(mentors):
        first, last = rng.choice(first_names), rng.choice(last_names)
        users.append(
            {
                "email": f"mentor{index}@example.com",
                "name": f"{first} {last}",
                "password_hash": "bench-not-a-real-hash",
                "teaching_enabled_at": now,
                "timezone": "Asia/Kolkata",
                "headline": rng.choice(HEADLINES),
                "email_verified_at": now - timedelta(days=rng.randint(1, 700)),
                # A few suspended mentors, whose sessions the catalog must hide.
                "suspended_at": now if index % 400 == 0 else None,
            }
        )
    db.session.execute(insert(User), users)
    mentor_ids = list(db.session.scalars(text("SELECT id FROM users ORDER BY id")))

    india = ZoneInfo("Asia/Kolkata")
    categories = list(TOPICS)
    category_weights = [30, 20, 10, 10, 10, 8, 5, 5, 2]
    languages, language_weights = list(LANGUAGE_WEIGHTS), list(LANGUAGE_WEIGHTS.values())
    rows, links = [], []
    for _ in range(sessions):
        category = rng.choices(categories, category_weights)[0]
        topic, skills = rng.choice(TOPICS[category])
        chosen = rng.sample(skills, k=min(len(skills), rng.randint(2, 4)))
        day = rng.randint(-30, 90)
        local = datetime.combine(
            (now + timedelta(days=day)).astimezone(india).date(),
            datetime.min.time(),
            tzinfo=india,
        ) + timedelta(minutes=30 * rng.randint(14, 44))
        starts_at = local.astimezone(UTC)
        roll = rng.random()
        if starts_at < now:
            status = "completed" if roll > 0.05 else "cancelled"
        elif roll < 0.05:
            status = "draft"
        elif roll < 0.08:
            status = "cancelled"
        else:
            status = "scheduled"
        capacity = rng.choice([1, 1, 2, 4, 6, 8, 10, 15, 20, 30])
        seats_taken = 0 if status in ("draft", "cancelled") else rng.randint(0, capacity)
        description = " ".join(
            sentence.format(topic=topic, skill_a=chosen[0], skill_b=chosen[-1])
            for sentence in rng.sample(SENTENCES, k=rng.randint(2, 4))
        )
        level = rng.choice(["all", "beginner", "beginner", "intermediate", "advanced"])
        rows.append(
            {
                "mentor_id": rng.choice(mentor_ids),
                "title": rng.choice(TITLES).format(topic=topic),
                "description": description,
                "category": category,
                "level": level,
                "language": rng.choices(languages, language_weights)[0],
                "starts_at": starts_at,
                "duration_minutes": rng.choice([30, 45, 60, 60, 90, 120]),
                "capacity": capacity,
                "seats_taken": seats_taken,
                "price_paise": 0 if rng.random() < 0.35 else rng.choice(PRICES),
                "status": status,
                "published_at": None if status == "draft" else now - timedelta(days=40),
            }
        )
        links.append(chosen)
    db.session.execute(insert(LearningSession), rows)
    session_ids = list(db.session.scalars(text("SELECT id FROM learning_sessions ORDER BY id")))
    db.session.execute(
        insert(session_skills),
        [
            {"session_id": session_id, "skill_id": skill_ids[name]}
            for session_id, names in zip(session_ids, links, strict=True)
            for name in names
        ],
    )
    db.session.commit()


def query_mixes(now):
    """What people type and click, as API query strings (prices in paise)."""
    today = now.astimezone(ZoneInfo("Asia/Kolkata")).date()
    week = (today + timedelta(days=7)).isoformat(), (today + timedelta(days=21)).isoformat()
    return {
        "text": {"q": "python"},
        "text+category": {"q": "data", "category": "Data & AI"},
        "two words, price sort": {"q": "interview prep", "sort": "price_asc"},
        "mentor name": {"q": "sharma"},
        "skill+level+seats": {"skills": "SQL", "level": "beginner", "has_seats": "1"},
        "free+language": {"free": "1", "language": "Hindi"},
        "price range, popular": {"price_min": "10000", "price_max": "100000", "sort": "popular"},
        "text+dates": {"q": "design", "date_from": week[0], "date_to": week[1]},
        "browse page 3": {"page": "3"},
        "text, price high-low": {"q": "react hooks", "sort": "price_desc"},
        "no match": {"q": "underwater basket weaving"},
        "everything": {
            "q": "python",
            "category": "Programming",
            "level": "beginner",
            "language": "English",
            "price_max": "99900",
            "has_seats": "1",
            "sort": "soonest",
            "per_page": "24",
        },
    }


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(app, mixes, requests, warmup):
    client = app.test_client()
    names = list(mixes)
    urls = {name: "/api/sessions/?" + urlencode(mixes[name]) for name in names}
    totals = {}
    for index in range(warmup):
        response = client.get(urls[names[index % len(names)]])
        if response.status_code != 200:
            raise SystemExit(f"warm-up request failed: {response.get_json()}")
    for name in names:
        totals[name] = client.get(urls[name]).get_json()["data"]["pagination"]["total"]
    timings = {name: [] for name in names}
    started = time.perf_counter()
    for index in range(requests):
        name = names[index % len(names)]
        before = time.perf_counter()
        response = client.get(urls[name])
        timings[name].append((time.perf_counter() - before) * 1000)
        if response.status_code != 200:
            raise RuntimeError(
                f"{urls[name]} answered {response.status_code}: {response.get_data(as_text=True)}"
            )
    elapsed = time.perf_counter() - started
    return timings, totals, elapsed


def scratch_postgres(url):
    """Create a scratch database beside ``url``'s; returns (scratch_url, drop)."""
    base = normalise_database_url(url)
    name = f"peerlearn_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(base).set(database=name).render_as_string(hide_password=False), drop


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL server to use (default: a temporary SQLite file)")
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--mentors", type=int, default=2_000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--suggested-indexes", action="store_true", help="add SUGGESTED_INDEXES first")
    args = parser.parse_args(argv)

    cleanup = []
    if args.database_url and args.database_url.startswith(("postgres://", "postgresql")):
        url, drop = scratch_postgres(args.database_url)
        cleanup.append(drop)
        label = "PostgreSQL"
    elif args.database_url:
        url, label = args.database_url, "given database"
    else:
        folder = tempfile.TemporaryDirectory(prefix="peerlearn-bench-")
        cleanup.append(folder.cleanup)
        url, label = f"sqlite:///{Path(folder.name) / 'catalog.sqlite3'}", "SQLite (file, WAL)"

    try:
        app = create_app(
            "testing",
            {
                "SQLALCHEMY_DATABASE_URI": normalise_database_url(url),
                "SQLALCHEMY_ENGINE_OPTIONS": Config.engine_options(url),
                "RATELIMIT_ENABLED": False,
            },
        )
        now = datetime.now(UTC)
        with app.app_context():
            db.create_all()
            if args.suggested_indexes:
                for statement in SUGGESTED_INDEXES:
                    db.session.execute(text(statement))
            started = time.perf_counter()
            build_catalog(random.Random(args.seed), args.sessions, args.mentors, now)  # noqa: S311 - random for load shape, not a secret
            built = time.perf_counter() - started
            if db.engine.dialect.name == "postgresql":
                with db.engine.connect() as connection:
                    connection.execute(text("ANALYZE"))
                    connection.commit()
            db.session.remove()
        label += " + suggested indexes" if args.suggested_indexes else ""
        print(f"{label}: {args.sessions:,} sessions from {args.mentors:,} mentors, built in {built:.1f} s")

        mixes = query_mixes(now)
        timings, totals, elapsed = measure(app, mixes, args.requests, args.warmup)
        everything = [ms for values in timings.values() for ms in values]
        print(f"GET /api/sessions/ x {args.requests} (after {args.warmup} warm-up), in-process test client")
        print(f"{'mix':<24} {'matches':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        for name, values in timings.items():
            print(
                f"{name:<24} {totals[name]:>8,} {statistics.median(values):>8.1f} "
                f"{percentile(values, 0.95):>8.1f} {max(values):>8.1f}"
            )
        p95 = percentile(everything, 0.95)
        print(
            f"{'all':<24} {'':>8} {statistics.median(everything):>8.1f} {p95:>8.1f} {max(everything):>8.1f}"
        )
        print(f"throughput: {args.requests / elapsed:.0f} requests/s (one thread)")
        print(
            f"p95 {p95:.1f} ms: {'within' if p95 <= TARGET_P95_MS else 'OVER'} the {TARGET_P95_MS} ms target"
        )
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        return 0 if p95 <= TARGET_P95_MS else 1
    finally:
        for step in reversed(cleanup):
            step()


if __name__ == "__main__":
    sys.exit(main())
