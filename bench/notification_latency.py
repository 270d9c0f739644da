"""Notification latency: how long from an event to its `notification` on the user's socket, on one
server process and on two that share a Redis message queue.

    .venv/bin/python bench/notification_latency.py [--events 400] [--rate 10] [--learners 20]
        [--threads 4] [--warmup 0.1] [--timeout 30] [--sqlite]
        [--admin-database-url postgresql://postgres@127.0.0.1:5432/postgres]
        [--redis-url redis://127.0.0.1:6379/12]

The event is a learner booking a free session through the API (`POST /api/sessions/<id>/book/`
with a bearer token). The booking service writes a `booking_confirmed` notification in the
booking's transaction and, once that has committed, the outbox emits it as a `notification` event
to the learner's room `user:<id>`, which every signed-in socket joins on connect.

Seeds a scratch database (PostgreSQL: created through the admin URL, dropped afterwards; or a
temporary SQLite file with --sqlite) with one mentor, ``--learners`` verified learners and enough
free published sessions starting in two days, so that every event of both scenarios is a new
(learner, session) pair: a learner holds one active booking per session. Every learner signs in
twice before anything is measured: through the login form (the cookie jar their socket connects
with, see roomkit.py) and through `POST /api/login/` (the bearer token their bookings use; bearer
requests need no CSRF token). Servers run as in production (see roomkit.py), with jobs inline
and MAIL_BACKEND=log in both scenarios: the booking email is composed in the booking's
transaction and sent to the log inside the request after the notification has been emitted, so
both scenarios do the same work and differ only in the message queue. (A gevent process emits by
queueing the frame; it leaves when the request's greenlet next waits on I/O, which the
PostgreSQL driver does cooperatively and SQLite does not.)

The bookings run on a fixed schedule (open loop), ``--rate`` per second, each (learner, session)
pair in a seeded shuffled order, sent from a pool of ``--threads`` threads, every one to the
first server process. Each learner's socket is connected from this one process, so send and
receive times come from one clock. Per event:

- action -> delivery: time.perf_counter() just before the POST to the arrival of the matching
  `notification` (kind booking_confirmed, data.session_id, on that learner's socket);
- HTTP: the POST's own round trip;
- record -> delivery: time.time() at arrival minus the payload's created_at (set when the
  notification row is flushed, before the commit), which is the same machine's clock.

The first ``--warmup`` fraction of each scenario's events is not counted. The booking API has no
rate limit (only sign-in has, raised for the bench); a refused booking would show as failed.

Scenarios: one server process, no message queue; two server processes on one Redis message queue
(SOCKETIO_MESSAGE_QUEUE on a pub/sub channel of its own, whose keys are deleted afterwards),
every booking sent to process A, half the learners' sockets on A (route "same") and half on B
("cross"). With a queue, every emit goes through Redis, even to a socket on the sending process.

Prints the setup and bench-only server settings, then one row per scenario and route: measured
events, bookings that succeeded, failed ones, deliveries, bookings whose notification had not
arrived ``--timeout`` seconds after the last request (missing), extra copies delivered, p50/p99/
max of action -> delivery and of record -> delivery and p50/p99 of the HTTP time in ms, the share
of notifications that arrived before their booking's HTTP response (ahead), the CPU seconds each
server worker used during the scenario, and the machine's 1-minute load average (other work on
the machine shows in the delays).
"""

import argparse
import math
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

# Run as a file, not a module: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests
import roomkit
import socketio

ONE, TWO = "1 process", "2 processes + Redis"
KIND = "booking_confirmed"
MAX_CAPACITY = 50  # seats of a seeded session; every learner books each session once


@dataclass(frozen=True)
class Learner:
    user_id: int
    email: str


@dataclass
class Event:
    """One booking and what came of it; times from time.perf_counter() unless named wall."""

    learner: Learner
    session_id: int
    measured: bool
    route: str
    scheduled_at: float = 0.0
    sent_at: float = 0.0
    http_seconds: float = 0.0
    status: object = None  # the HTTP status, or the exception's name
    booking_id: int | None = None
    received_at: float | None = None
    record_delay: float | None = None  # seconds, from the payload's created_at to the arrival
    delivered_booking_id: int | None = None
    deliveries: int = 0


def seed(database_url, secret_key, learner_count, session_count):
    """Create the schema, a mentor, ``learner_count`` learners and ``session_count`` free sessions
    open for booking; return the learners and the session ids."""
    from peerlearn import create_app
    from peerlearn.extensions import db
    from peerlearn.models import utcnow

    app = create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": {},
            "SECRET_KEY": secret_key,
            "LOG_LEVEL": "WARNING",
        },
    )
    with app.app_context():
        db.create_all()
        user = roomkit.account_maker()
        mentor = user("mentor@bench.test", "Bench Mentor", "mentor")
        learners = [
            user(f"learner{number}@bench.test", f"Learner {number}", "learner")
            for number in range(1, learner_count + 1)
        ]
        db.session.flush()
        starts_at = utcnow() + timedelta(days=2)
        sessions = [
            roomkit.open_session(
                mentor, f"Bench session {number}", starts_at=starts_at, capacity=MAX_CAPACITY
            )
            for number in range(1, session_count + 1)
        ]
        db.session.add_all(sessions)
        db.session.commit()
        result = [Learner(learner.id, learner.email) for learner in learners], [s.id for s in sessions]
        db.session.remove()
        db.engine.dispose()
    return result


def api_login(base_url, learner):
    response = requests.post(
        f"{base_url}/api/login/",
        json={"email": learner.email, "password": roomkit.PASSWORD},
        timeout=roomkit.TIMEOUT,
    )
    if response.status_code != 200:
        raise RuntimeError(
            f"API login of {learner.email} failed: {response.status_code} {response.text[:200]}"
        )
    return response.json()["data"]["token"]


def api_tokens(base_url, learners, threads=8):
    """Bearer tokens by user id; a token is a database record, good on every server process."""
    with ThreadPoolExecutor(threads) as pool:
        tokens = pool.map(lambda learner: api_login(base_url, learner), learners)
        return {learner.user_id: token for learner, token in zip(learners, tokens, strict=True)}


class Scenario:
    """Learners' sockets spread over server processes, the planned events, and the handler that
    matches each arriving notification to its event."""

    def __init__(self, name, learners, session_ids, server_of, args):
        self.name = name
        self.server_of = server_of  # user id -> index of the server its socket is on
        self.processes = len(set(server_of.values()))
        pairs = [(learner, session_id) for session_id in session_ids for learner in learners]
        random.Random(args.seed).shuffle(pairs)  # noqa: S311 - random for load shape, not a secret
        pairs = pairs[: args.events]
        measured_from = int(len(pairs) * args.warmup)
        self.events = [
            Event(learner, session_id, index >= measured_from, self.route(learner))
            for index, (learner, session_id) in enumerate(pairs)
        ]
        self.by_key = {(event.learner.user_id, event.session_id): event for event in self.events}
        self.unexpected = 0  # notifications that match no event of this scenario
        self.dropped = 0  # sockets that lost their connection before the bench closed them
        self.lock = threading.Lock()

    def route(self, learner):
        if self.processes == 1:
            return "all"
        return "same" if self.server_of[learner.user_id] == 0 else "cross"

    def handlers(self, learner):
        def on_notification(payload):
            received_at, received_wall = time.perf_counter(), time.time()
            data = payload.get("data") or {}
            with self.lock:
                event = self.by_key.get((learner.user_id, data.get("session_id")))
                if payload.get("kind") != KIND or event is None:
                    self.unexpected += 1
                    return
                event.deliveries += 1
                if event.deliveries == 1:
                    event.received_at = received_at
                    created = datetime.fromisoformat(payload["created_at"]).timestamp()
                    event.record_delay = received_wall - created
                    event.delivered_booking_id = data.get("booking_id")

        def on_disconnect(*_reason):
            with self.lock:
                self.dropped += 1

        return {"notification": on_notification, "disconnect": on_disconnect}

    def settled(self):
        with self.lock:
            return all(
                event.status is not None and (event.status != 201 or event.deliveries)
                for event in self.events
            )


def connect(learner, jar, server_url, handlers):
    """A signed-in socket of ``learner``; the server joins it to the learner's room on connect."""
    sio = socketio.Client(http_session=jar, reconnection=False)
    for event, handler in handlers.items():
        sio.on(event, handler)
    sio.connect(server_url, transports=["websocket"], wait_timeout=roomkit.TIMEOUT)
    identity = sio.call("whoami", timeout=roomkit.TIMEOUT)
    if not identity or identity.get("user_id") != learner.user_id:
        sio.disconnect()
        raise RuntimeError(f"the socket of {learner.email} is not signed in as them: {identity}")
    return sio


def connect_all(scenario, learners, jars, server_urls, threads=16):
    def open_one(learner):
        url = server_urls[scenario.server_of[learner.user_id]]
        return connect(learner, jars[learner.user_id], url, scenario.handlers(learner))

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(open_one, learners))


def disconnect_all(clients, threads=16):
    def close(sio):
        if sio.connected:
            sio.disconnect()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(close, clients))


class Booker:
    """Sends bookings to one server, one keep-alive HTTP session per sending thread."""

    def __init__(self, base_url, tokens):
        self.base_url = base_url
        self.tokens = tokens
        self.local = threading.local()
        self.sessions = []
        self.lock = threading.Lock()

    def http(self):
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()  # no cookies: the bearer token alone
            with self.lock:
                self.sessions.append(self.local.session)
        return self.local.session

    def book(self, event):
        http = self.http()
        url = f"{self.base_url}/api/sessions/{event.session_id}/book/"
        headers = {"Authorization": f"Bearer {self.tokens[event.learner.user_id]}"}
        event.sent_at = time.perf_counter()
        try:
            response = http.post(url, headers=headers, timeout=roomkit.TIMEOUT)
        except requests.RequestException as error:
            event.http_seconds = time.perf_counter() - event.sent_at
            event.status = type(error).__name__
            return
        event.http_seconds = time.perf_counter() - event.sent_at
        if response.status_code == 201:
            event.booking_id = response.json()["data"]["id"]
        event.status = response.status_code

    def close(self):
        for session in self.sessions:
            session.close()


def open_loop(events, booker, rate, threads):
    """Hand the bookings to the thread pool on a fixed schedule, whatever the server does."""
    started = time.perf_counter() + 0.2
    with ThreadPoolExecutor(threads) as pool:
        futures = []
        for index, event in enumerate(events):
            event.scheduled_at = started + index / rate
            wait = event.scheduled_at - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            futures.append(pool.submit(booker.book, event))
        for future in futures:
            future.result()


def run_scenario(scenario, env, server_count, workdir, learners, jars, tokens, args):
    tag = scenario.name.replace(" ", "-").replace("+", "redis")
    with roomkit.servers(env, server_count, workdir, tag=tag) as procs:
        clients = connect_all(scenario, learners, jars, [proc.url for proc in procs])
        booker = Booker(procs[0].url, tokens)
        try:
            pids = [proc.worker_pid() for proc in procs]
            cpu_before = [roomkit.cpu_seconds(pid) for pid in pids]
            client_before = time.process_time()
            started = time.perf_counter()
            open_loop(scenario.events, booker, args.rate, args.threads)
            deadline = time.monotonic() + args.timeout
            while not scenario.settled() and time.monotonic() < deadline:
                time.sleep(0.05)
            wall = time.perf_counter() - started
            phase = {
                "server_cpu": [
                    roomkit.cpu_seconds(pid) - cpu for pid, cpu in zip(pids, cpu_before, strict=True)
                ],
                "client_cpu": (time.process_time() - client_before) / wall,
                "wall": wall,
                "load": os.getloadavg()[0],
                "dropped": scenario.dropped,  # before the bench closes the sockets itself
            }
        finally:
            booker.close()
            disconnect_all(clients)
    return summarise(scenario, phase)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def milliseconds(values, fraction=None):
    if not values:
        return float("nan")
    return (max(values) if fraction is None else percentile(values, fraction)) * 1000


def summarise(scenario, phase):
    """Rows: one per route when the scenario spans processes, then all routes together."""
    measured = [event for event in scenario.events if event.measured]
    routes = ["same", "cross", "all"] if scenario.processes > 1 else ["all"]
    rows = []
    for route in routes:
        events = [event for event in measured if route in ("all", event.route)]
        booked = [event for event in events if event.status == 201]
        delivered = [event for event in booked if event.deliveries]
        action = [event.received_at - event.sent_at for event in delivered]
        record = [event.record_delay for event in delivered]
        http = [event.http_seconds for event in booked]
        ahead = sum(1 for event in delivered if event.received_at - event.sent_at < event.http_seconds)
        rows.append(
            {
                "scenario": scenario.name,
                "route": route,
                "events": len(events),
                "booked": len(booked),
                "failed": len(events) - len(booked),
                "delivered": len(delivered),
                "missing": len(booked) - len(delivered),
                "extra": sum(event.deliveries - 1 for event in delivered),
                "action": [milliseconds(action, 0.5), milliseconds(action, 0.99), milliseconds(action)],
                "record": [milliseconds(record, 0.5), milliseconds(record, 0.99), milliseconds(record)],
                "http": [milliseconds(http, 0.5), milliseconds(http, 0.99)],
                "ahead": ahead / len(delivered) if delivered else float("nan"),
                "cpu": " + ".join(f"{seconds:.1f}" for seconds in phase["server_cpu"]),
                "load": phase["load"],
            }
        )
    last = rows[-1]
    last["failures"] = Counter(str(event.status) for event in measured if event.status != 201)
    last["wrong_booking"] = sum(
        1
        for event in measured
        if event.status == 201 and event.deliveries and event.delivered_booking_id != event.booking_id
    )
    last["behind"] = max((event.sent_at - event.scheduled_at for event in scenario.events), default=0.0)
    last["unexpected"] = scenario.unexpected
    last["dropped"] = phase["dropped"]
    last["phase"] = phase
    return rows


def print_table(rows):
    header = (
        f"{'scenario':<20} {'route':<5} {'events':>6} {'booked':>6} {'failed':>6} {'deliv.':>6} "
        f"{'miss.':>5} {'extra':>5}  {'action->delivery ms':^23}  {'record->delivery ms':^23}  "
        f"{'HTTP ms':^15}  {'ahead':>5}  {'server CPU s':<12} {'load':>5}"
    )
    subheader = (
        f"{'':<20} {'':<5} {'':>6} {'':>6} {'':>6} {'':>6} {'':>5} {'':>5}  "
        f"{'p50':>7} {'p99':>7} {'max':>7}  {'p50':>7} {'p99':>7} {'max':>7}  {'p50':>7} {'p99':>7}  "
        f"{'%':>5}"
    )
    print(header)
    print(subheader)
    print("-" * len(header))
    for row in rows:
        action, record, http = row["action"], row["record"], row["http"]
        print(
            f"{row['scenario']:<20} {row['route']:<5} {row['events']:>6} {row['booked']:>6} "
            f"{row['failed']:>6} {row['delivered']:>6} {row['missing']:>5} {row['extra']:>5}  "
            f"{action[0]:>7.2f} {action[1]:>7.2f} {action[2]:>7.1f}  "
            f"{record[0]:>7.2f} {record[1]:>7.2f} {record[2]:>7.1f}  "
            f"{http[0]:>7.2f} {http[1]:>7.2f}  {row['ahead']:>5.0%}  {row['cpu']:<12} {row['load']:>5.2f}"
        )
    print()
    for row in rows:
        if "phase" not in row:
            continue
        where = f"  {row['scenario']}:"
        phase = row["phase"]
        print(
            f"{where} {phase['wall']:.1f} s from the first booking to the last delivery (or the timeout), "
            f"client process CPU {phase['client_cpu']:.0%}"
        )
        if row["failures"]:
            print(f"{where} failed bookings by status {dict(row['failures'])}")
        if row["behind"] > 0.05:
            print(f"{where} a booking left up to {row['behind'] * 1000:.0f} ms after its scheduled time")
        if row["wrong_booking"]:
            print(f"{where} {row['wrong_booking']} notifications named another booking than the POST made")
        if row["unexpected"]:
            print(f"{where} {row['unexpected']} notifications matched no booking of the scenario")
        if row["dropped"]:
            print(f"{where} {row['dropped']} sockets lost their connection during the scenario")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=400, help="bookings per scenario, warm-up included")
    parser.add_argument("--rate", type=float, default=10, help="bookings per second")
    parser.add_argument(
        "--learners", type=int, default=20, help=f"learners (sockets), at most {MAX_CAPACITY}"
    )
    parser.add_argument("--threads", type=int, default=4, help="threads sending the bookings")
    parser.add_argument("--warmup", type=float, default=0.1, help="fraction of each scenario not counted")
    parser.add_argument("--timeout", type=float, default=30, help="seconds to wait for the last deliveries")
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite file, not PostgreSQL")
    parser.add_argument("--admin-database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--seed", type=int, default=20240601, help="seed of the booking order")
    args = parser.parse_args()
    if not 2 <= args.learners <= MAX_CAPACITY:
        parser.error(f"--learners must be from 2 to {MAX_CAPACITY}")
    if args.events < 1 or args.rate <= 0 or args.threads < 1 or not 0 <= args.warmup < 1:
        parser.error("--events, --rate and --threads must be positive, --warmup in [0, 1)")

    sessions_per_scenario = math.ceil(args.events / args.learners)
    secret_key = roomkit.new_secret_key()
    with (
        tempfile.TemporaryDirectory(prefix="peerlearn-notify-") as folder,
        roomkit.scratch_database(None if args.sqlite else args.admin_database_url) as database_url,
    ):
        workdir = Path(folder)
        learners, session_ids = seed(database_url, secret_key, args.learners, 2 * sessions_per_scenario)
        print(
            f"{args.learners} learners (one socket each) and {len(session_ids)} free sessions "
            f"({sessions_per_scenario} per scenario) on "
            f"{'a SQLite file' if args.sqlite else 'a PostgreSQL scratch database'}; each server process "
            f"is gunicorn -k gevent -w 1 wsgi:app (production config); {os.cpu_count()} CPUs"
        )
        print(f"bench-only server settings: {roomkit.describe_settings()}")
        print(
            "both scenarios: JOBS_INLINE=true, MAIL_BACKEND=log, no REDIS_URL (the booking email is "
            "sent to the log inside the request, after the emit)"
        )
        print(
            "rate limits as in production: the booking API has none (sign-in's are raised above); "
            "a refused booking counts as failed"
        )
        print(
            f"per scenario: {args.events} bookings at {args.rate:g}/s from {args.threads} threads, "
            f"the first {args.warmup:.0%} not counted; missing = no notification {args.timeout:g} s after "
            f"the last booking"
        )
        load = os.getloadavg()
        print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n")

        plain = roomkit.server_environment(database_url, secret_key, workdir)
        queued = roomkit.server_environment(database_url, secret_key, workdir, message_queue=args.redis_url)
        with roomkit.servers(plain, 1, workdir, tag="sign-in") as (server,):
            jars = roomkit.sign_in_all(server.url, learners)
            tokens = api_tokens(server.url, learners)
        try:
            alone = Scenario(
                ONE,
                learners,
                session_ids[:sessions_per_scenario],
                {learner.user_id: 0 for learner in learners},
                args,
            )
            rows = run_scenario(alone, plain, 1, workdir, learners, jars, tokens, args)
            split = Scenario(
                TWO,
                learners,
                session_ids[sessions_per_scenario:],
                {learner.user_id: position % 2 for position, learner in enumerate(learners)},
                args,
            )
            try:
                rows += run_scenario(split, queued, 2, workdir, learners, jars, tokens, args)
            finally:
                roomkit.clear_channel_keys(args.redis_url, queued["SOCKETIO_CHANNEL"])
        finally:
            for jar in jars.values():
                jar.close()
        print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
