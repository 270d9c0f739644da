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
4. With ``--original N``: the original system's approach on the same data, for comparison: for
   each request, a Python loop over every learner (overlap of booked sessions) and then over
   every upcoming session (skill match, neighbours' bookings, mentor); N requests timed.
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
from peerlearn.ml.simulate import SimulationConfig, simulate, write_to_database

PASSWORD = "simulated-passphrase"  # noqa: S105 - the simulated accounts' shared password
LOGINS = 50

CHILD = """
import json, resource, sys, time
from peerlearn import create_app
from peerlearn.services import recommendations

settings = json.loads(sys.argv[1])
app = create_app("testing", settings)
stages = []
last = [time.perf_counter()]

def progress(label, done=None, total=None):
    now = time.perf_counter()
    if done is None or done == total:
        stages.append((label, round(now - last[0], 2)))
        last[0] = now

with app.app_context():
    summary = recommendations.rebuild(progress=progress)
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
    result = subprocess.run(
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
        response = client.post("/api/login/", json={"email": email, "password": PASSWORD})
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


def original_style(ds, users, sessions_open):
    """The original's per-request loops over every learner and every session."""
    booked = [
        set(ds.excluded.indices[ds.excluded.indptr[u] : ds.excluded.indptr[u + 1]]) for u in range(ds.n_users)
    ]
    skills = [
        set(ds.user_skills.indices[ds.user_skills.indptr[u] : ds.user_skills.indptr[u + 1]])
        | set(ds.user_interests.indices[ds.user_interests.indptr[u] : ds.user_interests.indptr[u + 1]])
        for u in range(ds.n_users)
    ]
    session_skills = [
        set(ds.session_skills.indices[ds.session_skills.indptr[s] : ds.session_skills.indptr[s + 1]])
        for s in range(ds.n_sessions)
    ]
    timings = []
    for user in users:
        started = time.perf_counter()
        neighbours = []
        for other in range(ds.n_users):  # every learner
            if other == user:
                continue
            union = booked[user] | booked[other]
            if union:
                neighbours.append((len(booked[user] & booked[other]) / len(union), other))
        neighbours.sort(reverse=True)
        near = [other for score, other in neighbours[:50] if score > 0]
        near_mentors = {int(ds.session_mentor[s]) for other in near for s in booked[other]}
        scores = []
        for session in sessions_open:  # every session
            if session in booked[user]:
                continue
            match = len(skills[user] & session_skills[session]) / max(1, len(session_skills[session]))
            social = 1.0 if int(ds.session_mentor[session]) in near_mentors else 0.0
            scores.append((0.6 * match + 0.4 * social, session))
        scores.sort(reverse=True)
        timings.append(time.perf_counter() - started)
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
            from peerlearn.services.recommendations import load_dataset

            with app.app_context():
                ds = load_dataset()
            open_sessions = np.flatnonzero(ds.session_open)
            users = np.random.default_rng(1).choice(ds.n_users, size=args.original, replace=False)
            original = percentiles(original_style(ds, users, open_sessions))
            print(
                f"original approach (Python loops over {ds.n_users} users and {len(open_sessions)} open "
                f"sessions, {args.original} requests): "
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
                select(User.email).where(User.role == "learner").order_by(User.id).limit(LOGINS)
            )
        )


if __name__ == "__main__":
    main()
