"""Recommendations at scale: a full rebuild's time and peak memory, and the server time of
`GET /api/recommendations/` against the original system's approach, side by side, on a simulated
platform written into a scratch database.

    .venv/bin/python bench/recommendations.py [--learners 10000] [--mentors 2000] [--sessions 10000]
        [--requests 200] [--seed 16] [--sqlite]
        [--admin-database-url postgresql://postgres@127.0.0.1:5432/postgres]

1. Simulates the platform (`peerlearn/ml/simulate.py`, seeded) and writes it into a new scratch
   database (PostgreSQL, created through the admin URL and dropped afterwards; or a temporary
   SQLite file with --sqlite).
2. Runs the full rebuild (`services.recommendations.rebuild()`, what `flask ml rebuild` and the
   scheduled job run) in a child process of its own, and reports its wall time, its stages, and
   the child's peak resident memory (ru_maxrss): the memory of the rebuild alone.
3. Draws ``--requests`` learners from all the platform's learners (a seeded shuffle: every one a
   different learner while there are enough, so no learner's caches are warm from an earlier
   request of theirs), signs each in through `POST /api/login/` (not timed), and for each in turn
   times one request of both approaches through the app's WSGI interface in this process, which
   goes first alternating from one learner to the next:
   - ours: `GET /api/recommendations/` (10 per page);
   - the original's: each request loads every learner and upcoming session through the ORM and
     loops over them in Python (user-user similarity, then a score per session), served by the
     bench at /bench/original-recommendations/ behind the same bearer sign-in and JSON envelope.
   Warm-up requests by other learners come first (20 of ours, 3 of the original's, which has no
   cache to warm). No network is involved, so the time from request to response is the server's.
   Prints p50/p95/max and the statements sent to the database per request for both, and the
   speed-up (the original's p50 and p95 over ours). ``--requests`` sets both counts; the
   original's requests take most of the run's time (about its p50 times ``--requests``: seconds
   each at 10,000 learners), so raise it for steadier tails when there is time.
4. `GET /api/trending/` (anonymous), 200 requests: p50/p95/p99/max.
"""

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from sqlalchemy import event

from bench import httpkit, roomkit
from peerlearn import create_app
from peerlearn.extensions import db
from peerlearn.ml.simulate import SimulationConfig, simulate
from peerlearn.services.simulated_platform import SIM_PASSWORD, write_to_database

# Requests by learners not timed afterwards, before the timing: ours warms its caches; the
# original keeps none, a few warm the process.
WARMUP = {"ours": 20, "original": 3}
PER_PAGE = 10  # what GET /api/recommendations/ answers by default
ORIGINAL_URL = "/bench/original-recommendations/"

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


def sample_learners(app, count, seed):
    """``count`` learners (id, email) drawn from every learner of the platform in a seeded shuffle,
    each once while there are enough, so the requests spread over the whole population."""
    from sqlalchemy import select

    from peerlearn.models import User

    with app.app_context():
        everyone = db.session.execute(
            select(User.id, User.email).where(User.teaching_enabled_at.is_(None)).order_by(User.id)
        ).all()
        db.session.remove()
    random.Random(seed).shuffle(everyone)  # noqa: S311 - random for load shape, not a secret
    return [tuple(everyone[number % len(everyone)]) for number in range(count)], len(everyone)


def sign_in(client, learners):
    """Bearer tokens by learner id, through POST /api/login/ (not timed)."""
    tokens = {}
    for learner_id, email in learners:
        if learner_id in tokens:
            continue
        response = client.post("/api/login/", json={"email": email, "password": SIM_PASSWORD})
        if response.status_code != 200:
            raise SystemExit(f"sign-in of {email} failed: {response.get_json()}")
        tokens[learner_id] = response.get_json()["data"]["token"]
    return tokens


class QueryCounter:
    """Counts the statements sent to the database while it is listening."""

    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def __enter__(self):
        self.count = 0
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc):
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args):
        self.count += 1


def time_side_by_side(app, client, learners, tokens, approaches):
    """For each learner in turn, one request of every approach (alternating which goes first);
    returns {approach: {"ms": [...], "queries": [...], "items": [...]}}."""
    with app.app_context():
        engine = db.engine
    figures = {name: {"ms": [], "queries": [], "items": []} for name in approaches}
    names = list(approaches)
    for number, (learner_id, _email) in enumerate(learners):
        headers = {"Authorization": f"Bearer {tokens[learner_id]}"}
        for name in names if number % 2 == 0 else reversed(names):
            with QueryCounter(engine) as queries:
                started = time.perf_counter()
                response = client.get(approaches[name], headers=headers)
                elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise SystemExit(f"GET {approaches[name]} answered {response.status_code}")
            figures[name]["ms"].append(elapsed * 1000)
            figures[name]["queries"].append(queries.count)
            figures[name]["items"].append(len(response.get_json()["data"]["items"]))
    return figures


def time_trending(client, count=200):
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get("/api/trending/")
        timings.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"GET /api/trending/ answered {response.status_code}")
    return timings


def original_recommendations(me):
    """The original system's per-request engine, rebuilt on this schema: load every learner and
    every upcoming session through the ORM, then loop in Python: user-user similarity over skills,
    interests and booked sessions against every learner, then a score for every session (skill
    match, similar users' bookings, popularity). Returns the ten best sessions."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from peerlearn.models import Booking, LearningSession, User, utcnow

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
        scored.append((0.4 * content + 0.4 * collaborative + 0.2 * popularity, session))
    scored.sort(key=lambda pair: pair[0], reverse=True)
    return [session for _score, session in scored[:PER_PAGE]]


def add_original_endpoint(app):
    """Serve the original's engine at ORIGINAL_URL on this app, behind the same bearer sign-in
    and JSON envelope as GET /api/recommendations/, so both are timed the same way."""
    from flask_login import current_user

    from peerlearn.api_envelope import error_response, ok

    def original():
        if not current_user.is_authenticated:
            return error_response(401, "authentication_required", "Log in to continue.")
        items = [
            {"id": session.id, "title": session.title, "starts_at": session.starts_at.isoformat()}
            for session in original_recommendations(current_user)
        ]
        return ok({"items": items})

    app.add_url_rule(ORIGINAL_URL, "bench_original_recommendations", original)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--learners", type=int, default=10_000)
    parser.add_argument("--mentors", type=int, default=2_000)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=100, help="timed requests of each approach")
    parser.add_argument("--seed", type=int, default=16, help="the draw of the learners who ask")
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
        add_original_endpoint(app)
        started = time.perf_counter()
        platform = simulate(config)
        simulated = time.perf_counter() - started
        with app.app_context():
            db.create_all()
            started = time.perf_counter()
            counts = write_to_database(platform)
            written = time.perf_counter() - started
            roomkit.analyze_if_postgres()
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

        client = app.test_client()
        warmups = max(WARMUP.values())
        drawn, population = sample_learners(app, warmups + args.requests, args.seed)
        warmup, learners = drawn[:warmups], drawn[warmups:]
        tokens = sign_in(client, drawn)
        approaches = {"ours": "/api/recommendations/", "original": ORIGINAL_URL}
        for name, count in WARMUP.items():
            time_side_by_side(app, client, warmup[:count], tokens, {name: approaches[name]})
        figures = time_side_by_side(app, client, learners, tokens, approaches)
        print(
            f"side by side, {args.requests} requests of each approach, one per learner in turn (which goes "
            f"first alternates): {len({learner_id for learner_id, _ in learners})} distinct learners drawn "
            f"from all {population} (seed {args.seed}), after {WARMUP['ours']} and {WARMUP['original']} "
            "warm-up requests by other learners; "
            "in-process WSGI, so the time is the server's"
        )
        for name, label in (("ours", "GET /api/recommendations/"), ("original", "the original's approach")):
            print(
                f"  {label:27} p50 {np.percentile(figures[name]['ms'], 50):8.1f} ms, "
                f"p95 {np.percentile(figures[name]['ms'], 95):8.1f} ms, "
                f"max {max(figures[name]['ms']):8.1f} ms; "
                f"{np.mean(figures[name]['queries']):.1f} queries and "
                f"{np.mean(figures[name]['items']):.1f} items per request"
            )
        for point in (50, 95):
            ratio = np.percentile(figures["original"]["ms"], point) / np.percentile(
                figures["ours"]["ms"], point
            )
            print(f"  speed-up at p{point}: {ratio:.0f}x")
        trending = percentiles(time_trending(client))
        print(
            "GET /api/trending/ (200 requests, anonymous): "
            + ", ".join(f"{name} {value:.2f} ms" for name, value in trending.items())
        )
        print(
            f"load average: {httpkit.load_average()}; bench process peak RSS "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
        )
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
