"""CPU and SQL statements per request of the signed-in pages in bench/load.py's mix: a learner's
/learn, a mentor's /teach, GET /api/notifications/ (all, and ``?unread=1``), the bell's unread
count, and booking a seat in a free session through the API (a first booking, and the repeat
that answers with the booking already held).

    .venv/bin/python bench/dashboards_cpu.py
    .venv/bin/python bench/dashboards_cpu.py --requests 50 --rebuild   # recommendations built too

The data is bench/load.py's own (its ``seed()``: ``flask db upgrade``, ``flask seed-demo``, its
400 learners, the free sessions they book and a live room) in a scratch PostgreSQL database
created beside --database-url and dropped at the end; the caches use Redis (--redis-url; its
database is flushed at the start and the end). The app runs in this process under its testing
config with REDIS_URL set (rate limits off), and every request goes through the Flask test
client after a warm-up. With ``--rebuild`` the recommendations are built first (``flask ml
rebuild``'s job), so /learn reads stored lists; without it, as in the load bench, every learner is
on the cold start.

Prints per request: the median CPU milliseconds of this process (``time.process_time``, which
counts every thread, so work handed to a pool is counted too), the median wall milliseconds and
the SQL statements (min-max over the requests). The CPU figure is the one to compare: the
statements and the ORM's work behind them are most of it.

Figures of 2026-12-06 on the shared 2-core machine (busy: wall times are not comparable), median
CPU ms / statements, from interleaved runs on one commit with the dashboards, notifications and
booking services as they were before the cuts of issue 16 and as they are after them:

    request                              before            after
    GET /learn (cold start)              9.7-10.6 / 12     6.5-7.1 / 8
    GET /learn (recommendations built)   13.9 / 15         11.5 / 11
    GET /teach (a room's mentor)         17.2-17.3 / 16    6.4-8.0 / 9
    GET /teach (demo mentor)             19.1-19.6 / 16    8.0-8.9 / 9
    GET /api/notifications/              3.0-3.5 / 4       2.2-2.4 / 2
    GET /api/notifications/?unread=1     2.9-3.0 / 4       1.8-2.2 / 2
    unread count (the bell)              0.67-0.76 / 1     0.05 / 0 (kept in Redis)
    POST /api/sessions/<id>/book/ new    16.3-17.3 / 18    15.0-15.3 / 17
    POST /api/sessions/<id>/book/ again  3.3-3.5 / 3       2.9 / 3
    POST /auth/login                     6.3-6.5 / 4       5.7-6.8 / 4 (not changed by these cuts)
"""

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

# Run as a file, not a module: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event

from bench.load import seed
from bench.roomkit import PASSWORD, new_secret_key, scratch_database, server_environment, testing_app
from peerlearn.demo import DEMO_PASSWORD

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


class Counter:
    """SQL statements sent on the app's engine (reset by ``timed``)."""

    def __init__(self, engine):
        self.count = 0
        self.statements = []
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _connection, _cursor, statement, *_args):
        self.count += 1
        self.statements.append(statement)


def sign_in(app, email, password=PASSWORD, counter=None, samples=None):
    """A test client signed in as ``email`` through the login form, with the CSRF token of its
    home page; the POST's figures go to ``samples`` when given."""
    client = app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    token = CSRF_META.search(page).group(1)
    form = {"email": email, "password": password, "csrf_token": token}
    if samples is None:
        response = client.post("/auth/login", data=form)
    else:
        *figures, response = timed(counter, lambda: client.post("/auth/login", data=form))
        samples.append(figures)
    if response.status_code != 302:
        raise RuntimeError(f"{email} could not sign in: {response.status_code}")
    home = client.get(response.headers["Location"]).get_data(as_text=True)
    client.csrf = CSRF_META.search(home).group(1)
    return client


def timed(counter, call):
    """(cpu ms, wall ms, statements, response) of one ``call()``."""
    counter.count = 0
    counter.statements = []
    cpu, wall = time.process_time(), time.perf_counter()
    response = call()
    cpu, wall = (time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000
    if response is not None and response.status_code >= 400:
        raise RuntimeError(f"answered {response.status_code}: {response.get_data(as_text=True)[:300]}")
    return cpu, wall, counter.count, response


SHOW_STATEMENTS = []


def row(name, samples, counter=None):
    cpus, walls, counts = zip(*[(s[0], s[1], s[2]) for s in samples], strict=True)
    spread = f"{min(counts)}" if min(counts) == max(counts) else f"{min(counts)}-{max(counts)}"
    print(
        f"{name:<34} {statistics.median(cpus):>8.2f} {statistics.median(walls):>8.2f} {spread:>11}",
        flush=True,
    )
    if SHOW_STATEMENTS and counter is not None:
        for statement in counter.statements:
            print("    " + " ".join(statement.split())[:240])


def repeat(counter, call, requests, warmup):
    for _ in range(warmup):
        timed(counter, call)
    return [timed(counter, call)[:3] for _ in range(requests)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument(
        "--bookings", type=int, default=100, help="first bookings measured (distinct learners)"
    )
    parser.add_argument("--rebuild", action="store_true", help="build the recommendations first")
    parser.add_argument("--statements", action="store_true", help="print the last request's SQL")
    args = parser.parse_args(argv)
    if args.statements:
        SHOW_STATEMENTS.append(True)

    from redis import Redis

    redis = Redis.from_url(args.redis_url)
    redis.flushdb()
    secret_key = new_secret_key()
    with (
        scratch_database(args.database_url) as database_url,
        tempfile.TemporaryDirectory(prefix="peerlearn-dash-") as folder,
    ):
        env = server_environment(database_url, secret_key, Path(folder))
        print("seeding ...", flush=True)
        plan = seed(database_url, secret_key, env, rooms=1)
        app = testing_app(
            database_url,
            REDIS_URL=args.redis_url,
            INSTANCE_DIR=folder,
            UPLOAD_DIR=str(Path(folder) / "uploads"),
            LOG_LEVEL="WARNING",
        )
        from peerlearn.extensions import db

        with app.app_context():
            engine = db.engine
            if args.rebuild:
                from peerlearn.services import recommendations

                recommendations.rebuild()
                db.session.remove()
        counter = Counter(engine)
        learners = plan["learners"]
        print(
            f"PostgreSQL and Redis, bench/load.py's data; {args.requests} requests of each after"
            f" {args.warmup} warm-up; recommendations {'built' if args.rebuild else 'not built (cold start)'}"
        )
        print(f"{'request':<34} {'cpu ms':>8} {'wall ms':>8} {'statements':>11}")

        # First bookings of a free seat, one learner each, then the repeat of the first one.
        logins = []
        clients = [
            sign_in(app, email, counter=counter, samples=logins) for email in learners[: args.bookings + 1]
        ]
        row("POST /auth/login", logins[1:])
        targets = [plan["book"][n % len(plan["book"])] for n in range(len(clients))]

        def book(client, target):
            return lambda: client.post(
                f"/api/sessions/{target}/book/", json={}, headers={"X-CSRFToken": client.csrf}
            )

        timed(counter, book(clients[-1], targets[-1]))  # warm-up of the path
        first = [timed(counter, book(c, t))[:3] for c, t in zip(clients[:-1], targets[:-1], strict=True)]
        row("POST /api/sessions/<id>/book/ new", first, counter)
        learner = clients[0]
        row(
            "POST /api/sessions/<id>/book/ again",
            repeat(counter, book(learner, targets[0]), args.requests, args.warmup),
            counter,
        )

        row("GET /learn", repeat(counter, lambda: learner.get("/learn"), args.requests, args.warmup), counter)
        row(
            "GET /api/notifications/",
            repeat(counter, lambda: learner.get("/api/notifications/"), args.requests, args.warmup),
            counter,
        )
        row(
            "GET /api/notifications/?unread=1",
            repeat(counter, lambda: learner.get("/api/notifications/?unread=1"), args.requests, args.warmup),
            counter,
        )

        with app.app_context():
            from peerlearn.models import User
            from peerlearn.services import notifications

            user_id = db.session.scalar(db.select(User.id).where(User.email == learners[0]))
            db.session.remove()

        def unread():
            with app.app_context():
                notifications.unread_count(user_id)
                db.session.remove()

        row("unread count (the bell)", repeat(counter, unread, args.requests, args.warmup), counter)

        mentor = sign_in(app, plan["mentors"][0])
        row(
            "GET /teach (a room's mentor)",
            repeat(counter, lambda: mentor.get("/teach"), args.requests, args.warmup),
            counter,
        )
        demo = sign_in(app, "mentor1@peerlearn.local", DEMO_PASSWORD)
        row(
            "GET /teach (demo mentor)",
            repeat(counter, lambda: demo.get("/teach"), args.requests, args.warmup),
            counter,
        )
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    redis.flushdb()
    return 0


if __name__ == "__main__":
    sys.exit(main())
