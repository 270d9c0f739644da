"""What a request costs outside its view: the web process's CPU per request for pages whose
content is already cached, for a visitor and for a signed-in learner.

    .venv/bin/python bench/overhead.py                          # this tree
    .venv/bin/python bench/overhead.py --baseline HEAD~3        # that commit beside this tree
    .venv/bin/python bench/overhead.py --profile                # cProfile in-process as well

A scratch PostgreSQL database (created beside --database-url, dropped at the end) gets the demo
catalog and the load bench's accounts (bench/load.py's seed). Each tree is served as in
production, ``gunicorn -k gevent -w 1 wsgi:app`` (bench/roomkit.py's Server) with Redis at
--redis-url for the caches, and asked for each page --requests times, one request after
another over one keep-alive connection, after a warm-up. Pages: the landing page and the
catalog, both served from the kept fragments, so what is measured is what every request pays:
the hooks before and after the view, the session cookie, the sign-in's lookup, the layout and
the header.

Viewers: a first visit (no cookie at all), a visitor whose browser kept what the site set, and
a learner signed in through the login form. Printed per page and viewer: the worker's CPU
milliseconds per request (user + system, from /proc/<pid>/stat: a busy machine distorts it
less than the wall clock), the median wall time, and the statements per request (from
PostgreSQL's pg_stat_database transaction counters: commits + rollbacks per request). With
--baseline the same rows for the other tree come from a `git archive` of that commit, served
alternately with this one in the same run.

--profile runs the same requests in this process through the test client (production config,
threading Socket.IO) under cProfile and prints the top functions by own time.
"""

import argparse
import cProfile
import io
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests

from bench.load import seed
from bench.roomkit import (
    CSRF_META,
    PASSWORD,
    ROOT,
    TIMEOUT,
    Server,
    cpu_seconds,
    new_secret_key,
    scratch_database,
    server_environment,
)

PAGES = ("/", "/sessions")
VIEWERS = ("first visit", "visitor", "learner")
WARM_UP = 30


def build_tree(commit, folder):
    """The tree of ``commit`` in ``folder`` (git archive), with this tree's built assets."""
    archive = subprocess.run(  # noqa: S603 - a fixed argument list of our own
        [shutil.which("git") or "git", "archive", "--format=tar", commit],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    folder.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)  # noqa: S603,S607
    dist = ROOT / "peerlearn" / "static" / "dist"
    if dist.is_dir():
        shutil.copytree(dist, folder / "peerlearn" / "static" / "dist")
    return folder


def signed_in(base, email):
    http = requests.Session()
    page = http.get(f"{base}/auth/login", timeout=TIMEOUT)
    token = CSRF_META.search(page.text).group(1)
    form = {"email": email, "password": PASSWORD, "csrf_token": token}
    response = http.post(f"{base}/auth/login", data=form, allow_redirects=False, timeout=TIMEOUT)
    if response.status_code != 302:
        raise SystemExit(f"sign-in failed: {response.status_code}")
    return http


def client_for(base, viewer, email):
    if viewer == "learner":
        return signed_in(base, email)
    return requests.Session()


def transactions(admin, name):
    """Commits + rollbacks of database ``name`` so far (statements are counted by PostgreSQL per
    transaction; every request's statements run in its own)."""
    from sqlalchemy import text

    with admin.connect() as connection:
        connection.execute(text("SELECT pg_stat_clear_snapshot()"))
        row = connection.execute(
            text("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = :name"),
            {"name": name},
        ).one()
    return row[0]


def measure(server, page, viewer, email, count, statements):
    http = client_for(server.url, viewer, email)
    url = f"{server.url}{page}"

    def ask():
        if viewer == "first visit":
            http.cookies.clear()
        response = http.get(url, timeout=TIMEOUT)
        if response.status_code != 200:
            raise SystemExit(f"{page} answered {response.status_code}")
        return response

    for _ in range(WARM_UP):
        ask()
    pid = server.worker_pid()
    walls = []
    xacts_before = statements()
    cpu_before = cpu_seconds(pid)
    for _ in range(count):
        started = time.perf_counter()
        response = ask()
        walls.append(time.perf_counter() - started)
    cpu = cpu_seconds(pid) - cpu_before
    time.sleep(0.6)  # PostgreSQL reports its counters every half second
    xacts = statements() - xacts_before
    http.close()
    return {
        "cpu": cpu * 1000 / count,
        "wall": statistics.median(walls) * 1000,
        "xacts": xacts / count,
        "set_cookie": "Set-Cookie" in response.headers,
    }


def profile(env, email, count):
    """The same requests in this process under cProfile; prints the top functions."""
    os.environ.update({**env, "SOCKETIO_ASYNC_MODE": "threading", "PUBLIC_BASE_URL": "http://localhost"})
    from peerlearn import create_app

    app = create_app("production")
    for viewer in ("visitor", "learner"):
        client = app.test_client()
        if viewer == "learner":
            page = client.get("/auth/login")
            token = CSRF_META.search(page.text).group(1)
            client.post("/auth/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
        for page in PAGES:
            for _ in range(WARM_UP):
                client.get(page)
            profiler = cProfile.Profile()
            started = time.perf_counter()
            profiler.enable()
            for _ in range(count):
                client.get(page)
            profiler.disable()
            elapsed = (time.perf_counter() - started) * 1000 / count
            print(f"\n-- profile: {viewer} {page}: {elapsed:.2f} ms per request in-process (under cProfile)")
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(18)
            print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per page and viewer")
    parser.add_argument("--rounds", type=int, default=2, help="alternations of the trees")
    parser.add_argument("--baseline", help="a commit to measure beside this tree")
    parser.add_argument("--profile", action="store_true", help="also profile in-process")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5")
    args = parser.parse_args()

    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from peerlearn.config import normalise_database_url

    secret_key = new_secret_key()
    with (
        scratch_database(args.database_url) as database_url,
        tempfile.TemporaryDirectory(prefix="peerlearn-overhead-") as folder,
    ):
        workdir = Path(folder)
        env = server_environment(database_url, secret_key, workdir, message_queue=args.redis_url)
        env.update(REDIS_URL=args.redis_url, ROOM_MEDIA="mesh")
        print("seeding ...", flush=True)
        plan = seed(database_url, secret_key, env, 0)
        email = plan["learners"][0]
        admin = create_engine(normalise_database_url(args.database_url), isolation_level="AUTOCOMMIT")
        name = make_url(database_url).database
        trees = {"this tree": ROOT}
        if args.baseline:
            trees = {args.baseline: build_tree(args.baseline, workdir / "baseline"), **trees}
        results = {}
        for _ in range(args.rounds):
            for label, tree in trees.items():
                server = Server(env, workdir / "server.log", cwd=tree)
                try:
                    server.wait_until_healthy()
                    for page in PAGES:
                        for viewer in VIEWERS:
                            row = measure(
                                server, page, viewer, email, args.requests, lambda: transactions(admin, name)
                            )
                            results.setdefault((label, page, viewer), []).append(row)
                finally:
                    server.stop()
        admin.dispose()
        print(
            f"\n{args.requests} requests per row and round, {args.rounds} rounds (the lower CPU figure"
            " of the rounds); one keep-alive client"
        )
        header = (
            f"{'tree':<12} {'page':<10} {'viewer':<12} {'cpu ms/req':>10} {'wall ms':>8} {'xacts/req':>9}"
        )
        print(f"{header} set-cookie")
        for (label, page, viewer), rows in results.items():
            best = min(rows, key=lambda row: row["cpu"])
            print(
                f"{label:<12} {page:<10} {viewer:<12} {best['cpu']:>10.2f} {best['wall']:>8.2f}"
                f" {best['xacts']:>9.2f} {'yes' if best['set_cookie'] else 'no'}"
            )
        if args.profile:
            profile(env, email, args.requests)


if __name__ == "__main__":
    main()
