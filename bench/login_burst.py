"""Login burst: what many people signing in at the same moment do to everyone else on the server.

    .venv/bin/python bench/login_burst.py [--logins 40] [--rounds 3] [--page /healthz]
        [--database-url postgresql://postgres@127.0.0.1:5432/postgres] [--concurrency N]

Starts the production server (gunicorn -k gevent -w 1, production config) on a scratch database
with ``--logins`` confirmed accounts whose passwords are hashed at the production Argon2 cost, and
in each round has every account sign in (POST /api/login/) at the same moment while another
client, in a process of its own, asks for ``--page`` again and again.

It does so three times in the same run, on the same code: with password hashing in the pool of OS
threads at a lower CPU priority (services/offload.py, what production does), in those threads at
the loop's own priority (OFFLOAD_NICENESS=0, the behaviour before) and, as the first baseline,
hashing on the event loop (the bench-only setting PASSWORD_HASH_OFFLOAD=False). Prints, per round
and over all rounds: the page's latency while idle and during the burst (p50, p95, max: every
request sent while logins were in flight), and the logins' latency and answers. The target is the
other requests' p95 at most 200 ms during a burst of 40 logins.

--database-url names a PostgreSQL server (and a database there to connect to for CREATE
DATABASE); each server gets a database of its own, dropped at the end. Without it, a SQLite file.
--concurrency sets PASSWORD_HASH_CONCURRENCY (default: the app's, one slot per two CPUs).
Login rate limits are raised for the run (every login comes from 127.0.0.1).
"""

import argparse
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

# Run as a file, not a module: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.roomkit import (
    BurstRounds,
    new_secret_key,
    percentile,
    scratch_database,
    server_environment,
    servers,
)
from bench.roomkit import latency_summary as summary

PASSWORD = "bench-login-passphrase"  # noqa: S105 - the scratch database's own accounts
TIMEOUT = 300
IDLE_CHECKS = 50
TARGET_MS = 200
# The production config's Argon2 cost (config.py), which roomkit's bench settings lower.
PRODUCTION_ARGON2 = {"ARGON2_TIME_COST": "3", "ARGON2_MEMORY_COST": "65536"}
MODES = {  # label: (mode, config overrides)
    "hashing in threads, nice": ("threads", {"PASSWORD_HASH_OFFLOAD": True}),
    "hashing in threads, same priority (old)": (
        "threads",
        {"PASSWORD_HASH_OFFLOAD": True, "OFFLOAD_NICENESS": 0},
    ),
    "hashing on the loop (old)": ("loop", {"PASSWORD_HASH_OFFLOAD": False}),
}


def seed(database_url, accounts):
    """``accounts`` confirmed accounts sharing one password hash at the production cost."""
    from peerlearn import create_app
    from peerlearn.config import Config, normalise_database_url
    from peerlearn.extensions import db
    from peerlearn.models import User, utcnow
    from peerlearn.services.passwords import hash_password

    app = create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
            "SQLALCHEMY_ENGINE_OPTIONS": Config.engine_options(database_url),
            "ARGON2_TIME_COST": int(PRODUCTION_ARGON2["ARGON2_TIME_COST"]),
            "ARGON2_MEMORY_COST": int(PRODUCTION_ARGON2["ARGON2_MEMORY_COST"]),
        },
    )
    with app.app_context():
        db.create_all()
        password_hash = hash_password(PASSWORD)
        for number in range(accounts):
            db.session.add(
                User(
                    email=f"signer{number}@bench.test",
                    name=f"Signer {number}",
                    password_hash=password_hash,
                    email_verified_at=utcnow(),
                )
            )
        db.session.commit()
        db.engine.dispose()


def server(database_url, workdir, *, overrides, concurrency):
    """gunicorn -k gevent -w 1 serving create_app() with the mode's ``overrides``: gunicorn's
    gevent worker patches the process before it loads the app, as wsgi.py does."""
    env = server_environment(database_url, new_secret_key(), workdir)
    env.update(PRODUCTION_ARGON2)
    overrides = dict(overrides)
    if concurrency:
        overrides["PASSWORD_HASH_CONCURRENCY"] = concurrency
    app = f"peerlearn:create_app(overrides={overrides!r})"
    tag = "server-" + "-".join(f"{value}" for value in overrides.values())
    return servers(env, 1, workdir, tag=tag, app=app)


def poll(url, started, stop, results):
    """In a process of its own, so the login threads' Python never delays its requests: ask for
    ``url`` again and again from ``started`` until ``stop``; (sent, done, status) on the clock
    every process shares (CLOCK_MONOTONIC)."""
    answers = []
    with requests.Session() as http:
        started.wait(TIMEOUT)
        while not stop.is_set():
            sent = time.monotonic()
            status = http.get(url, timeout=TIMEOUT).status_code
            answers.append((sent, time.monotonic(), status))
    results.put(answers)


def idle_latencies(url, count):
    with requests.Session() as http:
        latencies = []
        for _ in range(count):
            sent = time.monotonic()
            http.get(url, timeout=TIMEOUT).raise_for_status()
            latencies.append(time.monotonic() - sent)
        return latencies


def burst(base, page, accounts):
    """Every account in ``accounts`` signs in at once while ``page`` is polled. Returns (logins,
    checks): (sent, done, status) of each."""
    context = multiprocessing.get_context("spawn")
    started, stop, results = context.Event(), context.Event(), context.Queue()
    poller = context.Process(target=poll, args=(f"{base}{page}", started, stop, results))
    poller.start()
    start = threading.Barrier(len(accounts) + 1)
    logins = []

    def sign_in(number):
        start.wait(TIMEOUT)
        sent = time.monotonic()
        response = requests.post(
            f"{base}/api/login/",
            json={"email": f"signer{number}@bench.test", "password": PASSWORD},
            timeout=TIMEOUT,
        )
        logins.append((sent, time.monotonic(), response.status_code))

    threads = [threading.Thread(target=sign_in, args=(number,)) for number in accounts]
    for thread in threads:
        thread.start()
    started.set()
    time.sleep(0.2)  # the poller is asking before the logins go
    start.wait(TIMEOUT)
    for thread in threads:
        thread.join(TIMEOUT)
    stop.set()
    checks = results.get(timeout=TIMEOUT)
    poller.join(TIMEOUT)
    return logins, checks


def p95_ms(seconds):
    return percentile(seconds, 0.95) * 1000 if seconds else float("nan")


def measure(label, args, overrides):
    with tempfile.TemporaryDirectory(prefix="peerlearn-logins-") as folder:
        accounts = args.logins * args.rounds + 1
        with scratch_database(args.database_url) as database_url:
            seed(database_url, accounts)
            with server(database_url, Path(folder), overrides=overrides, concurrency=args.concurrency) as (
                running,
            ):
                # One login first, so what the first one loads once (the hasher) is not counted.
                requests.post(
                    f"{running.url}/api/login/",
                    json={"email": f"signer{accounts - 1}@bench.test", "password": PASSWORD},
                    timeout=TIMEOUT,
                ).raise_for_status()
                idle = idle_latencies(f"{running.url}{args.page}", IDLE_CHECKS)
                print(f"\n{label}: idle {args.page} {summary(idle)}")
                rounds = BurstRounds(args.page, "logins")
                for round_number in range(args.rounds):
                    numbers = range(round_number * args.logins, (round_number + 1) * args.logins)
                    rounds.record(*burst(running.url, args.page, numbers))
    return {"idle": idle, "during": rounds.during, "logins": rounds.times, "statuses": rounds.statuses}


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--logins", type=int, default=40, help="accounts signing in at once")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--page", default="/healthz", help="the page the other client asks for")
    parser.add_argument("--database-url", help="a PostgreSQL server for the scratch databases")
    parser.add_argument("--concurrency", type=int, help="PASSWORD_HASH_CONCURRENCY")
    parser.add_argument(
        "--only", choices=["threads", "loop"], help="measure one mode only (default: all, side by side)"
    )
    args = parser.parse_args()

    load = os.getloadavg()
    print(
        f"login burst: {args.logins} logins at once, {args.rounds} rounds, to gunicorn -k gevent -w 1 "
        f"(production config, Argon2 t={PRODUCTION_ARGON2['ARGON2_TIME_COST']} "
        f"m={PRODUCTION_ARGON2['ARGON2_MEMORY_COST']} KiB, "
        f"{'PostgreSQL' if args.database_url else 'SQLite'}); "
        f"PASSWORD_HASH_CONCURRENCY={args.concurrency or 'default'}; {os.cpu_count()} CPUs; "
        f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    modes = {label: overrides for label, (mode, overrides) in MODES.items() if args.only in (None, mode)}
    results = {label: measure(label, args, overrides) for label, overrides in modes.items()}

    print(f"\nover all rounds (other requests: {args.page} sent while logins were in flight):")
    width = max(len(label) for label in results)
    for label, result in results.items():
        answers = {status: result["statuses"].count(status) for status in sorted(set(result["statuses"]))}
        print(f"  {label:<{width}}  other requests idle    {summary(result['idle'])}")
        print(f"  {'':<{width}}  other requests burst   {summary(result['during'])}")
        print(f"  {'':<{width}}  logins                 {summary(result['logins'])}; answers {answers}")
    for label, result in results.items():
        p95 = p95_ms(result["during"])
        verdict = "met" if p95 <= TARGET_MS else "NOT met"
        print(f"target: other requests' p95 <= {TARGET_MS} ms in a burst, {label}: {p95:.0f} ms, {verdict}")
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
