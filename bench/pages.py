"""What each page of bench/load.py's mix costs the web process: SQL statements and CPU time per
request, for a visitor, a signed-in learner and a signed-in mentor.

    .venv/bin/python bench/pages.py
    .venv/bin/python bench/pages.py --database-url postgresql://postgres@127.0.0.1:5432/postgres \\
        --redis-url redis://127.0.0.1:6379/8 --requests 40

The data is bench/load.py's (``seed()``: the demo catalog, 400 learners, the live rooms' mentors
and learners, the large free sessions) in a scratch PostgreSQL database created beside the one
named and dropped at the end. The app runs in this process under the production config, as
bench/load.py's servers do (Redis for the fragment version, rate limits and the Socket.IO queue;
the same bench-only settings: login limits per IP raised, a cheap Argon2 cost), except the
threading Socket.IO mode (no gevent patching in a measuring process). Requests go through the
Flask test client; each person signs in through the login form.

For each page and person: the statements a request runs (a ``before_cursor_execute`` listener)
and the median CPU milliseconds of this process per request (``time.process_time``), twice:
"cold", each page drawn with the fragment cache emptied first (what a request costs right after
a change to the catalog), and "warm", the steady state between changes. Pages with an id cycle
over the first sessions of the catalog and the first mentors of the directory. CPU time is the
figure a shared machine distorts least; a busy machine still adds to it, so compare runs made
one after the other.

Figures (PostgreSQL, warm medians; the same tree without and with the change that keeps what no
one owns on the signed-in session page and mentor profile and loads a person's skill lists only
when read; two runs each, on a shared 2-core machine):

    page              person   statements     CPU ms
    /sessions/<id>    visitor  3 -> 1         2.9-3.3 -> 1.9-2.1
    /sessions/<id>    learner  16 -> 6        16.3-16.6 -> 7.7-7.9
    /mentors/<id>     visitor  3 -> 1         2.9-3.1 -> 1.9-2.0
    /mentors/<id>     learner  9-15 -> 4      12.3-12.6 -> 4.1-4.5
    /mentors/<id>     mentor   9-15 -> 4      11.5-12.1 -> 4.2-4.9
"""

import argparse
import cProfile
import os
import pstats
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
from bench.roomkit import PASSWORD, new_secret_key, scratch_database, server_environment

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
SESSION_LINK = re.compile(r'href="/sessions/(\d+)"')
MENTOR_LINK = re.compile(r'href="/mentors/(\d+)"')
IDS = 8  # sessions and mentors each page with an id cycles over
PAGES = (
    "/",
    "/sessions",
    "/sessions/<id>",
    "/mentors",
    "/mentors/<id>",
    "/learn",
    "/teach",
    "/api/notifications/",
    "/api/notifications/?unread=1",
)
# Who may open what (a visitor is sent to sign in, a learner has no /teach).
ALLOWED = {
    "visitor": {"/", "/sessions", "/sessions/<id>", "/mentors", "/mentors/<id>"},
    "learner": set(PAGES) - {"/teach"},
    "mentor": set(PAGES),
}


def production_app(env):
    """The app under the production config read from ``env`` (as the bench's servers get it)."""
    from peerlearn import create_app

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        return create_app("production")
    finally:
        os.environ.clear()
        os.environ.update(saved)


def sign_in(client, email):
    page = client.get("/auth/login").get_data(as_text=True)
    token = CSRF_META.search(page).group(1)
    response = client.post("/auth/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    if response.status_code != 302:
        raise RuntimeError(f"signing in {email} answered {response.status_code}")


def discover(client):
    catalog = client.get("/sessions").get_data(as_text=True)
    directory = client.get("/mentors").get_data(as_text=True)
    sessions = list(dict.fromkeys(int(i) for i in SESSION_LINK.findall(catalog)))[:IDS]
    mentors = list(dict.fromkeys(int(i) for i in MENTOR_LINK.findall(directory)))[:IDS]
    if not sessions or not mentors:
        raise SystemExit("the catalog or the directory shows nothing to visit")
    return sessions, mentors


class Counter:
    """Statements run on ``engine`` while it listens."""

    def __init__(self, engine):
        self.engine = engine
        self.count = 0
        self.trace = None

    def __call__(self, _connection, _cursor, statement, *_args):
        self.count += 1
        if self.trace is not None:
            self.trace.append(" ".join(statement.split())[:160])

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *_exc):
        event.remove(self.engine, "before_cursor_execute", self)


def run(client, counter, urls):
    """Statements and CPU ms of each GET of ``urls``."""
    statements, cpu = [], []
    for url in urls:
        counter.count = 0
        before = time.process_time()
        response = client.get(url)
        response.close()  # runs what the request left for after its response, as a server does
        cpu.append((time.process_time() - before) * 1000)
        statements.append(counter.count)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")
    return statements, cpu


def spread(values):
    low, high = min(values), max(values)
    return f"{low}" if low == high else f"{low}-{high}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/8")
    parser.add_argument("--rooms", type=int, default=2, help="live rooms, as bench/load.py seeds them")
    parser.add_argument("--requests", type=int, default=40, help="warm requests of each page and person")
    parser.add_argument("--trace", action="store_true", help="print the statements of each warm request")
    parser.add_argument("--only", action="append", help="measure only this page (repeatable), as listed")
    parser.add_argument("--profile", action="store_true", help="print where the warm requests' CPU went")
    args = parser.parse_args(argv)

    from peerlearn.extensions import db

    secret_key = new_secret_key()
    with (
        scratch_database(args.database_url) as database_url,
        tempfile.TemporaryDirectory(prefix="peerlearn-pages-") as folder,
    ):
        workdir = Path(folder)
        env = server_environment(database_url, secret_key, workdir, message_queue=args.redis_url)
        env.update(REDIS_URL=args.redis_url, ROOM_MEDIA="mesh", SOCKETIO_ASYNC_MODE="threading")
        print("seeding ...", flush=True)
        plan = seed(database_url, secret_key, env, args.rooms)
        app = production_app({**env, "PUBLIC_BASE_URL": "http://localhost"})
        fragments = app.extensions["fragments"]
        with app.app_context():
            engine = db.engine
        people = {"visitor": app.test_client(), "learner": app.test_client(), "mentor": app.test_client()}
        sign_in(people["learner"], plan["learners"][0])
        sign_in(people["mentor"], plan["mentors"][0])
        sessions, mentors = discover(people["visitor"])

        def urls(page):
            if page == "/sessions/<id>":
                return [f"/sessions/{i}" for i in sessions]
            if page == "/mentors/<id>":
                return [f"/mentors/{i}" for i in mentors]
            return [page]

        print(
            f"PostgreSQL, production config; {len(sessions)} sessions and {len(mentors)} mentors "
            f"cycled over; cold: each URL once after emptying the fragment cache; warm: "
            f"{args.requests} requests after a warm-up pass"
        )
        header = f"{'page':<30} {'person':<8} {'stmts cold':>10} {'stmts warm':>10} {'cpu ms cold':>11}"
        print(header + f" {'cpu ms warm':>11}")
        totals = {}
        with Counter(engine) as counter:
            for page in args.only or PAGES:
                for person, client in people.items():
                    if page not in ALLOWED[person]:
                        continue
                    cycle = urls(page)
                    cold_statements, cold_cpu = [], []
                    for url in cycle:
                        fragments.clear()
                        statements, cpu = run(client, counter, [url])
                        cold_statements += statements
                        cold_cpu += cpu
                    run(client, counter, cycle)  # warm-up
                    warm = [cycle[n % len(cycle)] for n in range(args.requests)]
                    profiler = cProfile.Profile() if args.profile else None
                    if profiler is not None:
                        profiler.enable()
                    warm_statements, warm_cpu = run(client, counter, warm)
                    if profiler is not None:
                        profiler.disable()
                        print(f"--- {page} as {person}: {args.requests} warm requests")
                        pstats.Stats(profiler).sort_stats("tottime").print_stats(18)
                    if args.trace:
                        counter.trace = []
                        run(client, counter, cycle[:1])
                        print("\n".join(f"    {line}" for line in counter.trace))
                        counter.trace = None
                    totals[(page, person)] = statistics.median(warm_cpu)
                    print(
                        f"{page:<30} {person:<8} {spread(cold_statements):>10} "
                        f"{spread(warm_statements):>10} {statistics.median(cold_cpu):>11.2f} "
                        f"{statistics.median(warm_cpu):>11.2f}",
                        flush=True,
                    )
        print(f"sum of the warm medians: {sum(totals.values()):.1f} CPU ms")
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
