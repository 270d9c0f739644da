"""Can response times tell registered addresses apart? Reset requests, sign-ins and sign-ups.

    .venv/bin/python bench/reset_timing.py [--requests 300] [--mode queue|inline|both]
        [--database-url postgresql://…] [--skip-login] [--skip-register]

For each mode it builds the app on a scratch database (a SQLite file, or a scratch PostgreSQL
database next to ``--database-url``), with the production Argon2 cost and rate limits off, and
sends through the test client, alternating the two kinds so drift hits both alike:

- ``POST /api/password-reset/`` for a registered address and for an unknown one;
- ``POST /api/login/`` with an unknown address and with a registered one and a wrong password;
- ``POST /api/register/`` with a new address and with a taken one.

Modes: ``queue`` is the production setup (jobs go to a throwaway redis-server on a free port,
started here, and no worker runs while measuring); ``inline`` is the embedded mode, where jobs
run in the web process (emails "sent" by the log backend) once the answer has been sent: each
response is closed, as a server does, after its time is taken. Prints mean, p50 and p95 in
milliseconds for each kind, and the differences.
"""

import argparse
import logging
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.email_throughput import start_redis
from peerlearn import create_app
from peerlearn.config import normalise_database_url
from peerlearn.extensions import db
from peerlearn.models import User, utcnow
from peerlearn.services.passwords import hash_password
from tests.conftest import free_port

PASSWORD = "correct-horse-battery"  # noqa: S105 - the known accounts', in a scratch database


class ScratchDatabase:
    """A SQLite file in a temporary folder, or a PostgreSQL database next to ``base_url``."""

    def __init__(self, base_url, workdir):
        self.admin = None
        if base_url:
            self.name = f"peerlearn_timing_{uuid.uuid4().hex[:8]}"
            self.admin = create_engine(normalise_database_url(base_url), isolation_level="AUTOCOMMIT")
            with self.admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{self.name}"'))
            url = make_url(normalise_database_url(base_url)).set(database=self.name)
            self.url = url.render_as_string(hide_password=False)
        else:
            self.url = f"sqlite:///{workdir / f'timing-{uuid.uuid4().hex[:8]}.sqlite3'}"

    def drop(self):
        if self.admin is not None:
            with self.admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            self.admin.dispose()


def summary(samples):
    ordered = sorted(samples)
    return {
        "mean": statistics.fmean(ordered),
        "p50": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
    }


def measure(client, kinds, requests, warmup=20):
    """Time ``requests`` calls of each kind, alternating; ``kinds`` maps a label to
    ``call(client, i)`` returning a response. Returns milliseconds per label."""
    times = {label: [] for label in kinds}
    for i in range(warmup + requests):
        for label, call in kinds.items():
            started = time.perf_counter()
            response = call(client, i)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code >= 500:
                raise SystemExit(f"{label}: {response.status_code} {response.get_data(as_text=True)[:200]}")
            response.close()  # as a server does once the answer is out: jobs left for then run now
            if i >= warmup:
                times[label].append(elapsed)
    return times


def report(title, times):
    (first, a), (second, b) = times.items()
    sa, sb = summary(a), summary(b)
    print(f"\n{title} ({len(a)} requests each)")
    print(f"  {'':34} {'mean':>8} {'p50':>8} {'p95':>8}   (ms)")
    for label, s in ((first, sa), (second, sb)):
        print(f"  {label:34} {s['mean']:8.2f} {s['p50']:8.2f} {s['p95']:8.2f}")
    print(
        f"  {'difference (first - second)':34} {sa['mean'] - sb['mean']:8.2f} "
        f"{sa['p50'] - sb['p50']:8.2f} {sa['p95'] - sb['p95']:8.2f}"
    )


DESCRIPTIONS = {
    "queue": "jobs on a Redis queue",
    "inline": "jobs run inline, after the answer",
    "inline-before": "jobs run inline before the answer: the baseline",
}


def run(mode, args, workdir):
    redis = None
    overrides = {
        "RATELIMIT_ENABLED": False,
        "ARGON2_TIME_COST": 3,  # the production defaults: sign-in time is mostly this
        "ARGON2_MEMORY_COST": 65536,
        "JOBS_INLINE": mode != "queue",
        "JOBS_AFTER_RESPONSE": mode != "inline-before",  # true as configured outside the tests
    }
    if mode == "queue":
        port = free_port()
        redis = start_redis(port)
        overrides["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    database = ScratchDatabase(args.database_url, workdir)
    overrides["SQLALCHEMY_DATABASE_URI"] = database.url
    try:
        app = create_app("testing", overrides)
        known = args.requests + 40
        with app.app_context():
            db.create_all()
            password_hash = hash_password(PASSWORD)
            db.session.add_all(
                User(
                    email=f"known{i}@example.com",
                    name=f"Known Person{i}",
                    password_hash=password_hash,
                    timezone="Asia/Kolkata",
                    email_verified_at=utcnow(),
                )
                for i in range(known)
            )
            db.session.commit()
        client = app.test_client()
        print(
            f"\n=== mode: {mode} ({DESCRIPTIONS[mode]}), "
            f"database: {'PostgreSQL' if args.database_url else 'SQLite file'}"
        )

        def reset(prefix):
            return lambda c, i: c.post("/api/password-reset/", json={"email": f"{prefix}{i}@example.com"})

        report(
            "POST /api/password-reset/",
            measure(
                client,
                {"registered address": reset("known"), "unknown address": reset("ghost")},
                args.requests,
            ),
        )
        if not args.skip_login:

            def login(prefix, password):
                return lambda c, i: c.post(
                    "/api/login/", json={"email": f"{prefix}{i}@example.com", "password": password}
                )

            report(
                "POST /api/login/ (refused)",
                measure(
                    client,
                    {
                        "registered, wrong password": login("known", "not-the-password"),
                        "unknown address": login("ghost", "not-the-password"),
                    },
                    args.requests // 3 or 1,
                    warmup=5,
                ),
            )
        if not args.skip_register:

            def register(prefix):
                return lambda c, i: c.post(
                    "/api/register/",
                    json={
                        "email": f"{prefix}{i}@example.com",
                        "password": "a-long-new-passphrase",
                        "name": "N",
                    },
                )

            report(
                "POST /api/register/",
                measure(
                    client,
                    {"taken address": register("known"), "new address": register("fresh")},
                    args.requests // 3 or 1,
                    warmup=5,
                ),
            )
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    finally:
        database.drop()
        if redis is not None:
            redis.terminate()
            redis.wait()


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=300, help="reset requests of each kind")
    parser.add_argument(
        "--mode",
        choices=["queue", "inline", "inline-before", "both"],
        default="both",
        help="inline-before: the baseline, inline jobs run before the answer (JOBS_AFTER_RESPONSE=false)",
    )
    parser.add_argument("--database-url", help="a PostgreSQL server to make a scratch database on")
    parser.add_argument("--skip-login", action="store_true")
    parser.add_argument("--skip-register", action="store_true")
    args = parser.parse_args()
    logging.disable(logging.INFO)  # the log mail backend prints every email
    modes = ["queue", "inline", "inline-before"] if args.mode == "both" else [args.mode]
    if "queue" in modes and not shutil.which("redis-server"):
        print("redis-server is not installed: measuring the inline mode only")
        modes = [mode for mode in modes if mode != "queue"]
    workdir = Path(tempfile.mkdtemp(prefix="peerlearn-timing-"))
    try:
        for mode in modes:
            run(mode, args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
