"""Mentor directory speed: /mentors and GET /api/mentors/ over 2,000 mentors, 20,000 sessions and
30,000 reviews.

    .venv/bin/python bench/mentors.py                       # a temporary SQLite file
    .venv/bin/python bench/mentors.py --database-url postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/mentors.py --baseline bfae8ce   # also the directory query of bfae8ce

With a PostgreSQL URL the data goes into a scratch database created beside the one named (and
dropped afterwards), so the named database is never touched. Each mentor has skills, held
sessions with attended bookings and reviews, and sessions ahead (some full); a few mentors are
suspended and some accounts only learn. All of it is inserted in bulk with SQLAlchemy Core.

Each request goes through the Flask test client in this process, anonymously, after a warm-up.
Prints p50/p95/max server time in milliseconds over ``--requests`` requests of each, and the SQL
statements per request (the same whatever the number of mentors). With ``--baseline`` every
request is measured a second time, on the same data, with ``search_mentors`` as it was at that
commit (its module read with ``git show``), so old and new query shapes are compared side by side.
"""

import argparse
import random
import statistics
import subprocess
import sys
import time
import types
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest.mock import patch

# Run as a file, not a module: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, insert, select

from bench.roomkit import analyze_if_postgres, scratch_database, testing_app
from peerlearn.extensions import db
from peerlearn.models import (
    LANGUAGES,
    Booking,
    LearningSession,
    Review,
    Skill,
    User,
    user_skills,
)
from peerlearn.services import mentors as directory

SKILLS = [f"Skill {n}" for n in range(200)] + ["Python", "SQL", "Figma", "Pandas", "React"]
PATHS = [
    "/mentors",
    "/mentors?q=python&sort=reviews",
    "/mentors?sort=soonest",
    "/mentors?available=1&sort=soonest&min_rating=4",
    "/api/mentors/",
    "/api/mentors/?skills=Python,SQL&price_max=100000&sort=price_asc",
    "/api/mentors/?language=Hindi&page=20",
]


def build(rng, now, *, mentors, sessions_each, reviews_each, learners):
    def users(rows):
        return list(db.session.scalars(insert(User).returning(User.id), rows))

    learner_ids = users(
        [
            {"email": f"learner{n}@example.com", "name": f"Learner {n}", "password_hash": "x"}
            for n in range(learners)
        ]
    )
    mentor_ids = users(
        [
            {
                "email": f"mentor{n}@example.com",
                "name": f"Mentor {n}",
                "password_hash": "x",
                "teaching_enabled_at": now - timedelta(days=rng.randint(1, 900)),
                "headline": rng.choice(["Data engineer", "Product designer", "Python developer", "Teacher"]),
                "hourly_rate_paise": rng.choice([0, 30_000, 50_000, 80_000, 150_000]),
                "suspended_at": now if n % 97 == 0 else None,
            }
            for n in range(mentors)
        ]
    )
    skill_ids = list(
        db.session.scalars(
            insert(Skill).returning(Skill.id),
            [{"name": s, "slug": s.lower().replace(" ", "-")} for s in SKILLS],
        )
    )
    db.session.execute(
        insert(user_skills),
        [{"user_id": m, "skill_id": s} for m in mentor_ids for s in rng.sample(skill_ids, 4)],
    )
    sessions = []
    for mentor_id in mentor_ids:
        for n in range(sessions_each):
            held = n < sessions_each // 2
            capacity = rng.randint(1, 8)
            sessions.append(
                {
                    "mentor_id": mentor_id,
                    "title": f"Session {n}",
                    "category": "Programming",
                    "language": rng.choice(LANGUAGES),
                    "starts_at": now
                    + timedelta(hours=rng.randint(-2000, -2) if held else rng.randint(2, 600)),
                    "capacity": capacity,
                    "seats_taken": capacity if rng.random() < 0.2 else 0,
                    "price_paise": rng.choice([0, 20_000, 50_000]),
                    "status": "completed" if held else "scheduled",
                }
            )
    session_rows = db.session.execute(
        insert(LearningSession).returning(
            LearningSession.id, LearningSession.mentor_id, LearningSession.status
        ),
        sessions,
    ).all()
    held = [row for row in session_rows if row.status == "completed"]
    bookings, reviews = [], []
    for n in range(reviews_each * mentors):
        session = held[n % len(held)]
        bookings.append(
            {"session_id": session.id, "learner_id": learner_ids[n % learners], "status": "attended"}
        )
    in_order = insert(Booking).returning(Booking.id, sort_by_parameter_order=True)
    booking_ids = list(db.session.scalars(in_order, bookings))
    mentor_of = {row.id: row.mentor_id for row in held}
    for booking_id, booking in zip(booking_ids, bookings, strict=True):
        reviews.append(
            {
                "booking_id": booking_id,
                "session_id": booking["session_id"],
                "mentor_id": mentor_of[booking["session_id"]],
                "learner_id": booking["learner_id"],
                "rating": rng.choice([3, 4, 4, 5, 5]),
                "minutes_attended": rng.randint(40, 60),
                "created_at": now - timedelta(days=rng.randint(1, 300)),
            }
        )
    db.session.execute(insert(Review), reviews)
    db.session.commit()
    return {"mentors": mentors, "sessions": len(sessions), "reviews": len(reviews), "learners": learners}


def measure(app, path, requests, warmup):
    client = app.test_client()
    for _ in range(warmup):
        if (status := client.get(path).status_code) != 200:
            raise SystemExit(f"{path} answered {status}")
    counts, timings, statements = [], [], [0]

    def count(*_args):
        statements[0] += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(requests):
            statements[0] = 0
            before = time.perf_counter()
            response = client.get(path)
            timings.append((time.perf_counter() - before) * 1000)
            counts.append(statements[0])
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code}")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return timings, counts


def search_mentors_at(revision):
    """``search_mentors`` from peerlearn/services/mentors.py at ``revision``, importing the
    current package's other modules."""
    root = Path(__file__).resolve().parent.parent
    source = subprocess.run(  # noqa: S603 - git with a fixed argument list, no shell
        ["git", "show", f"{revision}:peerlearn/services/mentors.py"],  # noqa: S607 - git from PATH
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    module = types.ModuleType("peerlearn.services._mentors_baseline")
    module.__package__ = "peerlearn.services"
    exec(compile(source, f"{revision}:peerlearn/services/mentors.py", "exec"), module.__dict__)  # noqa: S102
    return module.search_mentors


def report(app, requests, warmup):
    print(f"{'request':<66} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'statements':>11}")
    for path in PATHS:
        timings, counts = measure(app, path, requests, warmup)
        ordered = sorted(timings)
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        spread = f"{min(counts)}" if min(counts) == max(counts) else f"{min(counts)}-{max(counts)}"
        p50 = statistics.median(timings)
        print(f"GET {path:<62} {p50:>8.1f} {p95:>8.1f} {max(timings):>8.1f} {spread:>11}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL server to use (default: a temporary SQLite file)")
    parser.add_argument("--mentors", type=int, default=2000)
    parser.add_argument("--sessions-each", type=int, default=10)
    parser.add_argument("--reviews-each", type=int, default=15)
    parser.add_argument("--learners", type=int, default=3000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--baseline", metavar="COMMIT", help="also measure search_mentors as of this commit")
    args = parser.parse_args(argv)

    baseline = search_mentors_at(args.baseline) if args.baseline else None
    postgres = bool(args.database_url and args.database_url.startswith(("postgres://", "postgresql")))
    with scratch_database(args.database_url if postgres else None) as url:
        app = testing_app(url)
        now = datetime.now(UTC)
        with app.app_context():
            db.create_all()
            started = time.perf_counter()
            made = build(
                random.Random(args.seed),  # noqa: S311 - random for load shape, not a secret
                now,
                mentors=args.mentors,
                sessions_each=args.sessions_each,
                reviews_each=args.reviews_each,
                learners=args.learners,
            )
            built = time.perf_counter() - started
            analyze_if_postgres()
            listed = db.session.scalar(select(db.func.count(User.id)).where(User.is_mentor))
            db.session.remove()
        label = "PostgreSQL" if postgres else "SQLite (file, WAL)"
        print(f"{label}, built in {built:.1f} s: " + ", ".join(f"{v:,} {k}" for k, v in made.items()))
        print(f"({listed:,} accounts teach)")
        shapes = [("current query", nullcontext())]
        if baseline is not None:
            shapes.insert(
                0, (f"query of {args.baseline}", patch.object(directory, "search_mentors", baseline))
            )
        for name, shape in shapes:
            print(f"\n{name}:")
            with shape:
                report(app, args.requests, args.warmup)


if __name__ == "__main__":
    main()
