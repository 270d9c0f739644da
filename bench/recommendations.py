"""Recommendations at scale: a full rebuild's time and peak memory, and the server time of
`GET /api/recommendations/`, on a simulated platform written into a scratch database.

    .venv/bin/python bench/recommendations.py [--learners 10000] [--mentors 2000] [--sessions 10000]
        [--requests 1000] [--sqlite] [--admin-database-url postgresql://postgres@127.0.0.1:5432/postgres]
        [--original 20]

1. Simulates the platform (`peerlearn/ml/simulate.py`, seeded) and writes it into a new scratch
   database (PostgreSQL, created through the admin URL and dropped afterwards; or a temporary
   SQLite file with --sqlite).
2. Runs the full rebuild (`services.recommendations.rebuild()`, what `flask ml rebuild` and the
   scheduled job run) in a child process of its own, and reports its wall time, its stages, and
   the child's peak resident memory (ru_maxrss): the memory of the rebuild alone.
3. Signs 50 learners in through `POST /api/login/` and sends ``--requests`` requests to
   `GET /api/recommendations/` (and `GET /api/trending/`) through the app's WSGI interface in
   this process, round-robin over the learners: the time from request to response with no
   network, i.e. the server time, p50/p95/p99, and the database queries per request.
4. With ``--original N``: the original system's approach on the same data, for comparison: each
   request loads every learner and upcoming session through the ORM and loops over them in
   Python (user-user similarity, then a score per session); N requests timed.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import roomkit
from sqlalchemy import event

from peerlearn import create_app
from peerlearn.extensions import db
from peerlearn.ml.simulate import SimulationConfig, simulate
from peerlearn.services.simulated_platform import SIM_PASSWORD, write_to_database

LOGINS = 50

CHILD = """
import json, resource, sys, time
from peerlearn import create_app
from peerlearn.services import recommendations

settings = json.loads(sys.argv[1])
app = create_app("testing", settings)
stages = []  # [label, seconds]: each stage lasts until the next one starts

def progress(label, done=None, total=None):
    now = time.perf_counter()
    if stages and stages[-1][0] == label:
        return
    if stages:
        stages[-1][1] = round(now - stages[-1][1], 2)
    stages.append([label, now])

with app.app_context():
    summary = recommendations.rebuild(progress=progress)
stages[-1][1] = round(time.perf_counter() - stages[-1][1], 2)
summary["stages"] = stages
summary["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
print(json.dumps(summary))
"""


def app_settings(database_url, workdir):
    return {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "INSTANCE_DIR": str(workdir),
        "LOG_LEVEL": "WARNING",
        "RATELIMIT_ENABLED": False,
    }


def percentiles(values):
    values = np.array(values) * 1000
    return {name: float(np.percentile(values, q)) for name, q in (("p50", 50), ("p95", 95), ("p99", 99))} | {
        "max": float(values.max())
    }


def rebuild_in_child(settings):
    started = time.perf_counter()
    result = subprocess.run(  # noqa: S603 - a fixed argument list of our own, no shell
        [sys.executable, "-c", CHILD, json.dumps(settings)],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"the rebuild failed:\n{result.stderr[-4000:]}")
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    return summary, elapsed


def time_requests(app, learners, count):
    client = app.test_client()
    tokens = []
    for email in learners[:LOGINS]:
        response = client.post("/api/login/", json={"email": email, "password": SIM_PASSWORD})
        if response.status_code != 200:
            raise SystemExit(f"sign-in of {email} failed: {response.get_json()}")
        tokens.append(response.get_json()["data"]["token"])
    queries = []
    with app.app_context():
        engine = db.engine

    def count_query(*_args):
        queries[-1] += 1

    event.listen(engine, "before_cursor_execute", count_query)
    timings, shown = [], []
    try:
        for number in range(count + 20):
            token = tokens[number % len(tokens)]
            queries.append(0)
            started = time.perf_counter()
            response = client.get("/api/recommendations/", headers={"Authorization": f"Bearer {token}"})
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise SystemExit(f"GET /api/recommendations/ answered {response.status_code}")
            if number >= 20:  # the first few warm the caches
                timings.append(elapsed)
                shown.append(len(response.get_json()["data"]["items"]))
        trending = []
        for _ in range(200):
            started = time.perf_counter()
            client.get("/api/trending/")
            trending.append(time.perf_counter() - started)
    finally:
        event.remove(engine, "before_cursor_execute", count_query)
    return timings, queries[20 : 20 + count], shown, trending


def original_style(app, user_ids):
    """The original system's per-request engine, rebuilt on this schema: load every learner and
    every upcoming session through the ORM, then loop in Python: user-user similarity over skills,
    interests and booked sessions against every learner, then a score for every session (skill
    match, similar users' bookings, popularity)."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from peerlearn.models import Booking, LearningSession, User, utcnow

    timings = []
    with app.app_context():
        for user_id in user_ids:
            started = time.perf_counter()
            db.session.expire_all()
            me = db.session.get(User, int(user_id))
            learners = db.session.scalars(
                select(User)
                .where(User.teaching_enabled_at.is_(None))
                .options(selectinload(User.skills), selectinload(User.interests))
            ).all()
            booked = {}
            for booking in db.session.scalars(select(Booking)):
                booked.setdefault(booking.learner_id, set()).add(booking.session_id)
            mine = {s.name for s in me.skills} | {s.name for s in me.interests}
            my_booked = booked.get(me.id, set())
            similar = []
            for other in learners:  # every learner
                if other.id == me.id:
                    continue
                theirs = {s.name for s in other.skills} | {s.name for s in other.interests}
                union = (mine | theirs) or {""}
                sessions_union = (my_booked | booked.get(other.id, set())) or {0}
                score = 0.5 * len(mine & theirs) / len(union) + 0.5 * len(
                    my_booked & booked.get(other.id, set())
                ) / len(sessions_union)
                similar.append((score, other.id))
            similar.sort(reverse=True)
            neighbour_bookings = [s for _score, other in similar[:20] for s in booked.get(other, ())]
            sessions = db.session.scalars(
                select(LearningSession)
                .where(LearningSession.status == "scheduled", LearningSession.starts_at > utcnow())
                .options(selectinload(LearningSession.skills))
            ).all()
            scored = []
            for session in sessions:  # every session
                if session.id in my_booked or session.seats_taken >= session.capacity:
                    continue
                names = {s.name for s in session.skills}
                content = len(mine & names) / max(1, len(names))
                collaborative = neighbour_bookings.count(session.id)
                popularity = session.seats_taken / session.capacity
                scored.append((0.4 * content + 0.4 * collaborative + 0.2 * popularity, session.id))
            scored.sort(reverse=True)
            timings.append(time.perf_counter() - started)
        db.session.remove()
    return timings


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--learners", type=int, default=10_000)
    parser.add_argument("--mentors", type=int, default=2_000)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--original", type=int, default=0, help="time N requests of the original's approach")
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--admin-database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    config = SimulationConfig(learners=args.learners, mentors=args.mentors, sessions=args.sessions)
    with (
        tempfile.TemporaryDirectory(prefix="peerlearn-recbench-") as folder,
        roomkit.scratch_database(None if args.sqlite else args.admin_database_url) as database_url,
    ):
        workdir = Path(folder)
        settings = app_settings(database_url, workdir)
        app = create_app("testing", settings)
        started = time.perf_counter()
        platform = simulate(config)
        simulated = time.perf_counter() - started
        with app.app_context():
            db.create_all()
            started = time.perf_counter()
            counts = write_to_database(platform)
            written = time.perf_counter() - started
        print(f"database: {database_url.split('://')[0]}; machine: {os.cpu_count()} cores")
        print(
            f"simulated {args.learners} learners, {args.mentors} mentors, {args.sessions} sessions, "
            f"{platform.n_interactions} interactions in {simulated:.1f} s; "
            f"written in {written:.1f} s ({counts})"
        )

        summary, elapsed = rebuild_in_child(settings)
        print(
            f"full rebuild: {elapsed:.1f} s wall (process start included; rebuild itself "
            f"{summary['total_seconds']} s), peak RSS {summary['peak_rss_mib']} MiB"
        )
        print("  stages: " + ", ".join(f"{label} {seconds} s" for label, seconds in summary["stages"]))
        print(
            f"  {summary['learners']} users, {summary['open_sessions']} open sessions, "
            f"{summary['interactions']} interactions"
        )

        timings, queries, shown, trending = time_requests(app, _learner_emails(app), args.requests)
        figures = percentiles(timings)
        print(
            f"GET /api/recommendations/ ({len(timings)} requests, {LOGINS} learners, 10 per page): "
            + ", ".join(f"{name} {value:.2f} ms" for name, value in figures.items())
            + f"; {np.mean(queries):.1f} queries per request; {np.mean(shown):.1f} items per page"
        )
        trending_figures = percentiles(trending)
        print(
            "GET /api/trending/ (200 requests): "
            + ", ".join(f"{name} {value:.2f} ms" for name, value in trending_figures.items())
        )
        print(
            f"load average: {os.getloadavg()}; bench process peak RSS "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
        )

        if args.original:
            from sqlalchemy import select

            from peerlearn.models import User

            with app.app_context():
                ids = list(
                    db.session.scalars(
                        select(User.id).where(User.teaching_enabled_at.is_(None)).limit(args.original)
                    )
                )
            original = percentiles(original_style(app, ids))
            print(
                f"the original's approach (ORM loads and Python loops over every learner and upcoming "
                f"session per request, {args.original} requests): "
                + ", ".join(f"{name} {value:.0f} ms" for name, value in original.items())
            )
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _learner_emails(app):
    from sqlalchemy import select

    from peerlearn.models import User

    with app.app_context():
        return list(
            db.session.scalars(
                select(User.email).where(User.teaching_enabled_at.is_(None)).order_by(User.id).limit(LOGINS)
            )
        )


if __name__ == "__main__":
    main()
