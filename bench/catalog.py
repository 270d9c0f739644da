"""Catalog search speed: GET /api/sessions/ and the catalog page (GET /sessions) over a catalog
of 10,000 sessions from 2,000 mentors, in-process and over HTTP.

    .venv/bin/python bench/catalog.py                       # a temporary SQLite file
    .venv/bin/python bench/catalog.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
        [--requests 500] [--warmup 60] [--http-requests 1000] [--clients 8] [--processes 2]

With a PostgreSQL URL the catalog goes into a scratch database created through the one named
(and dropped afterwards), so the named database is never touched. The catalog mixes categories,
skills, languages, prices and start times the way a live marketplace does, including drafts,
cancelled and completed sessions that the search must skip. Every query mix (text + filters +
sorts, see query_mixes) is asked of both the API and the catalog page (prices in rupees there).

In-process: the Flask test client in one thread, ``--requests`` requests of each kind cycling
through the mixes after ``--warmup`` warm-up requests: the server's own time, no network.

Over HTTP: one production server process on the same database (gunicorn -k gevent -w 1 wsgi:app,
settings in bench/httpkit.py and bench/roomkit.py), warmed up with every mix (the API's totals
must match the in-process ones), then ``--clients`` clients at once in ``--processes`` client
processes (bench/httpkit.py), each with its own keep-alive connection sending its share of
``--http-requests`` requests one after the other (closed loop), first the API, then the page.
A request that does not answer 200 stops the bench. The clients share the machine with the
server, as the load average printed shows.

Prints p50/p95 per mix for both kinds and both ways, then per kind requests per second (in-process:
one thread's; over HTTP: all the clients' requests over the time from the first send to the last
answer) and p50/p95/max. The target is p95 <= 50 ms for GET /api/sessions/ in-process, which sets
the exit status; the HTTP p95 is printed beside it. ``--suggested-indexes`` adds the indexes
proposed for the search (see SUGGESTED_INDEXES) before measuring, to show what they change.
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

# Run as a file, not a module: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text

from bench import httpkit, roomkit
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


KINDS = {"api": "GET /api/sessions/", "page": "GET /sessions (page)"}


def page_query(query):
    """The catalog page's query for an API query: the page takes prices in rupees."""
    return {
        key: str(int(value) // 100) if key in ("price_min", "price_max") else value
        for key, value in query.items()
    }


def targets(mixes):
    """{kind: {mix name: path}}: every mix as an API request and as the catalog page."""
    return {
        "api": {name: "/api/sessions/?" + urlencode(query) for name, query in mixes.items()},
        "page": {name: "/sessions?" + urlencode(page_query(query)) for name, query in mixes.items()},
    }


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(app, paths, requests, warmup):
    """One thread, the Flask test client, the mixes in turn: ({mix: [ms]}, seconds in all)."""
    client = app.test_client()
    names = list(paths)
    for index in range(warmup):
        response = client.get(paths[names[index % len(names)]])
        if response.status_code != 200:
            raise SystemExit(
                f"warm-up request {paths[names[index % len(names)]]} answered {response.status_code}"
            )
    timings = {name: [] for name in names}
    started = time.perf_counter()
    for index in range(requests):
        name = names[index % len(names)]
        before = time.perf_counter()
        response = client.get(paths[name])
        timings[name].append((time.perf_counter() - before) * 1000)
        if response.status_code != 200:
            raise RuntimeError(
                f"{paths[name]} answered {response.status_code}: {response.get_data(as_text=True)}"
            )
    return timings, time.perf_counter() - started


def matches(app, api_paths):
    """How many sessions each mix finds, from the API's pagination."""
    client = app.test_client()
    return {
        name: client.get(path).get_json()["data"]["pagination"]["total"] for name, path in api_paths.items()
    }


def measure_http(base_url, paths, *, clients, processes, requests):
    """``clients`` clients at once, each with its own keep-alive connection, each sending
    ``requests // clients`` requests one after the other through the mixes (each client starting
    at a different one): ({mix: [ms]}, seconds from the first send to the last answer)."""
    names = list(paths)

    def client_loop(http, first):
        return [
            httpkit.request(
                http,
                "GET",
                base_url + paths[names[(first + n) % len(names)]],
                names[(first + n) % len(names)],
            )
            for n in range(requests // clients)
        ]

    hits = [
        hit
        for hits in httpkit.run_together(
            list(range(clients)), client_loop, base_url=base_url, processes=processes
        )
        for hit in hits
    ]
    failed = [hit for hit in hits if hit.status != 200]
    if failed:
        raise SystemExit(
            f"{len(failed)} of {len(hits)} HTTP requests failed, the first: {failed[0].label} "
            f"{failed[0].status} {failed[0].error or ''}"
        )
    timings = {name: [hit.milliseconds for hit in hits if hit.label == name] for name in names}
    return timings, max(hit.finished for hit in hits) - min(hit.started for hit in hits)


def warm_and_check_http(base_url, paths, expected, rounds):
    """Send every path ``rounds`` times from one client (not timed); the API's totals must be
    those the in-process client found, on the same database."""
    import requests as http_client

    with http_client.Session() as http:
        for _ in range(rounds):
            for kind, named in paths.items():
                for name, path in named.items():
                    response = http.get(base_url + path, timeout=roomkit.TIMEOUT)
                    if response.status_code != 200:
                        raise SystemExit(f"warm-up over HTTP: {path} answered {response.status_code}")
                    if kind == "api" and response.json()["data"]["pagination"]["total"] != expected[name]:
                        raise SystemExit(f"{path} over HTTP found a different number of sessions")


def print_results(mixes, totals, in_process, http, args):
    """The per-mix table and the summary, in-process and over HTTP side by side."""
    sent = args.http_requests // args.clients * args.clients
    print(
        f"in-process: the Flask test client, one thread, {args.requests} requests of each kind after "
        f"{args.warmup} warm-up. HTTP: gunicorn -k gevent -w 1 (production config), {args.clients} "
        f"clients at once over {args.processes} client processes, {sent} requests of each kind after a "
        "warm-up; times in ms"
    )
    header = f"{'mix':<24} {'matches':>8}"
    for kind in KINDS:
        header += f" {kind + ' in-proc p50/p95':>22} {kind + ' HTTP p50/p95':>19}"
    print(header)
    for name in mixes:
        row = f"{name:<24} {totals[name]:>8,}"
        for kind in KINDS:
            for source, width in ((in_process, 22), (http, 19)):
                values = source[kind][0][name]
                row += f" {f'{statistics.median(values):.1f} / {percentile(values, 0.95):.1f}':>{width}}"
        print(row)
    print(f"{'':<34} {'req/s':>6} {'p50':>8} {'p95':>8} {'max':>8}")
    for kind, label in KINDS.items():
        for source, how in ((in_process, "in-process"), (http, "HTTP")):
            timings, elapsed = source[kind]
            values = [ms for per_mix in timings.values() for ms in per_mix]
            print(
                f"{label + ', ' + how:<34} {len(values) / elapsed:>6.0f} {statistics.median(values):>8.1f} "
                f"{percentile(values, 0.95):>8.1f} {max(values):>8.1f}"
            )


def open_database(database_url):
    """A context manager yielding (url, label): a scratch database beside a PostgreSQL URL's,
    the given database for any other URL, else a temporary SQLite file."""
    if database_url and not database_url.startswith(("postgres://", "postgresql")):
        return nullcontext((database_url, "given database"))

    @contextmanager
    def scratch():
        with roomkit.scratch_database(database_url) as url:
            yield url, "PostgreSQL" if database_url else "SQLite (file, WAL)"

    return scratch()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL server to use (default: a temporary SQLite file)")
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--mentors", type=int, default=2_000)
    parser.add_argument("--requests", type=int, default=500, help="in-process requests of each kind")
    parser.add_argument("--warmup", type=int, default=60)
    parser.add_argument("--http-requests", type=int, default=1000, help="HTTP requests of each kind")
    parser.add_argument("--clients", type=int, default=8, help="HTTP clients at once")
    parser.add_argument("--processes", type=int, default=2, help="client processes the HTTP clients run in")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--suggested-indexes", action="store_true", help="add SUGGESTED_INDEXES first")
    args = parser.parse_args(argv)

    with (
        tempfile.TemporaryDirectory(prefix="peerlearn-catalog-") as folder,
        open_database(args.database_url) as (
            url,
            label,
        ),
    ):
        app = roomkit.testing_app(url)
        now = datetime.now(UTC)
        with app.app_context():
            db.create_all()
            if args.suggested_indexes:
                for statement in SUGGESTED_INDEXES:
                    db.session.execute(text(statement))
            started = time.perf_counter()
            build_catalog(random.Random(args.seed), args.sessions, args.mentors, now)  # noqa: S311 - random for load shape, not a secret
            built = time.perf_counter() - started
            roomkit.analyze_if_postgres()
            db.session.remove()
        label += " + suggested indexes" if args.suggested_indexes else ""
        print(f"{label}: {args.sessions:,} sessions from {args.mentors:,} mentors, built in {built:.1f} s")

        mixes = query_mixes(now)
        paths = targets(mixes)
        totals = matches(app, paths["api"])
        in_process = {kind: measure(app, paths[kind], args.requests, args.warmup) for kind in KINDS}
        with app.app_context():
            db.session.remove()
            db.engine.dispose()

        with httpkit.production_server(url, Path(folder), tag="catalog") as server:
            warm_and_check_http(server.url, paths, totals, rounds=max(1, args.warmup // len(mixes)))
            load_before = httpkit.load_average()
            http = {
                kind: measure_http(
                    server.url,
                    paths[kind],
                    clients=args.clients,
                    processes=args.processes,
                    requests=args.http_requests,
                )
                for kind in KINDS
            }
            tracebacks = server.output().count("Traceback")
        print_results(mixes, totals, in_process, http, args)
        print(f"load average before the HTTP runs: {load_before}; after: {httpkit.load_average()}")
        if tracebacks:
            print(f"the server logged {tracebacks} tracebacks")
        p95 = percentile([ms for values in in_process["api"][0].values() for ms in values], 0.95)
        http_p95 = percentile([ms for values in http["api"][0].values() for ms in values], 0.95)
        print(
            f"GET /api/sessions/ p95 {p95:.1f} ms in-process: {'within' if p95 <= TARGET_P95_MS else 'OVER'} "
            f"the {TARGET_P95_MS} ms target (over HTTP, {args.clients} clients at once: {http_p95:.1f} ms)"
        )
        return 0 if p95 <= TARGET_P95_MS and not tracebacks else 1


if __name__ == "__main__":
    sys.exit(main())
