"""Upload burst: what a burst of large photo uploads does to everyone else on the server.

    .venv/bin/python bench/uploads.py [--uploads 8] [--size 5000] [--rounds 3]
        [--compare-with REV] [--concurrency N]

Starts the production server (gunicorn -k gevent -w 1 wsgi:app, production config) on a scratch
SQLite database with ``--uploads`` verified accounts, and in each round has every account upload
a ``--size``×``--size`` PNG profile photo at the same moment (random 8-pixel blocks: a full
decode's work in a file of a few MB) while one client asks GET /healthz again and again.

Prints, per round and over all rounds: /healthz latency while idle and during the burst (p50,
p95, max: the checks answered while uploads were in flight), each upload's answer and latency,
and the worker's resident memory before the burst and at its peak (VmRSS and VmHWM in
/proc/<pid>/status). The target is /healthz at most 200 ms during the burst.

--dev measures the embedded mode's server instead (`flask serve`, threading: a thread per
request, so decodes were never on an event loop there, but all ran at once).

--compare-with REV runs the same burst against the code of a git revision (exported with
git archive into a temporary folder, on its own scratch database), e.g. the commit before the
uploads moved off the event loop, and prints both side by side. --concurrency sets
IMAGE_DECODE_CONCURRENCY for this tree's server (default: the app's, half the CPUs, at most 2).

Accounts are created with the test settings' cheap password hash; uploads are each account's
first of the hour, well under UPLOAD_LIMIT, so the rate limit never answers for the server.
"""

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import requests
from PIL import Image

# Run as a file, not a module: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.roomkit import (
    SERVE_SETTINGS,
    BurstRounds,
    new_secret_key,
    server_environment,
    servers,
)
from bench.roomkit import latency_summary as summary

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-upload-passphrase"  # noqa: S105 - the scratch database's own accounts
TIMEOUT = 120
IDLE_CHECKS = 50
# Run in the tree under test, so the accounts match that tree's models.
SEED = """
import sys
from peerlearn import create_app
from peerlearn.extensions import db
from peerlearn.models import User, utcnow
from peerlearn.services.passwords import hash_password

url, password, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, "SQLALCHEMY_ENGINE_OPTIONS": {}})
with app.app_context():
    db.create_all()
    password_hash = hash_password(password)
    for number in range(count):
        db.session.add(User(email=f"uploader{number}@bench.test", name=f"Uploader {number}",
                            password_hash=password_hash, email_verified_at=utcnow()))
    db.session.commit()
"""


def noisy_png(side):
    blocks = -(-side // 8)
    noise = Image.frombytes("RGB", (blocks, blocks), os.urandom(blocks * blocks * 3))
    out = io.BytesIO()
    noise.resize((blocks * 8, blocks * 8), Image.Resampling.NEAREST).crop((0, 0, side, side)).save(
        out, format="PNG", compress_level=1
    )
    return out.getvalue()


@contextmanager
def server(tree, workdir, accounts, extra_env, *, dev=False):
    """gunicorn -k gevent -w 1 wsgi:app from ``tree`` (or with ``dev``, `flask serve`, the
    embedded mode's threading server), on its own scratch database."""
    database_url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    subprocess.run(  # noqa: S603 - a fixed argument list of our own, no shell
        [sys.executable, "-c", SEED, database_url, PASSWORD, str(accounts)],
        cwd=tree,
        check=True,
        capture_output=True,
    )
    env = server_environment(database_url, new_secret_key(), workdir, settings=SERVE_SETTINGS)
    env.update(
        PEERLEARN_ENV="development" if dev else "production",
        SOCKETIO_ASYNC_MODE="threading" if dev else "gevent",
        FLASK_APP="peerlearn:create_app",
        ROOM_MEDIA="mesh",  # no local Janus for a bench
        **extra_env,
    )
    with servers(env, 1, workdir, cwd=tree, dev=dev) as (running,):
        yield running


def worker_memory_kib(server):
    """(VmRSS, VmHWM) of the process serving requests."""
    status = Path(f"/proc/{server.worker_pid()}/status").read_text().splitlines()
    values = {line.split(":")[0]: int(line.split()[1]) for line in status if line.startswith("Vm")}
    return values["VmRSS"], values["VmHWM"]


def api_token(base, number):
    response = requests.post(
        f"{base}/api/login/",
        json={"email": f"uploader{number}@bench.test", "password": PASSWORD},
        timeout=TIMEOUT,
    )
    response.raise_for_status()
    return response.json()["data"]["token"]


def health_latencies(base, count):
    with requests.Session() as http:
        latencies = []
        for _ in range(count):
            sent = time.perf_counter()
            http.get(f"{base}/healthz", timeout=TIMEOUT).raise_for_status()
            latencies.append(time.perf_counter() - sent)
        return latencies


def burst(base, tokens, png):
    """Every token uploads ``png`` at once while /healthz is polled. Returns (uploads, checks):
    (sent, done, status) of each upload, and (sent, done, status) of each health check."""
    start = threading.Barrier(len(tokens) + 1)
    uploads, checks = [], []
    finished = threading.Event()

    def upload(token):
        start.wait(TIMEOUT)
        sent = time.perf_counter()
        response = requests.post(
            f"{base}/api/profile/avatar/",
            headers={"Authorization": f"Bearer {token}"},
            files={"avatar": ("photo.png", io.BytesIO(png), "image/png")},
            timeout=TIMEOUT,
        )
        uploads.append((sent, time.perf_counter(), response.status_code))

    def poll():
        with requests.Session() as http:
            start.wait(TIMEOUT)
            while not finished.is_set():
                sent = time.perf_counter()
                status = http.get(f"{base}/healthz", timeout=TIMEOUT).status_code
                checks.append((sent, time.perf_counter(), status))

    threads = [threading.Thread(target=upload, args=(token,)) for token in tokens]
    poller = threading.Thread(target=poll)
    for thread in [*threads, poller]:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    finished.set()
    poller.join(TIMEOUT)
    return uploads, checks


def measure(label, tree, args, png, extra_env):
    accounts = args.uploads * args.rounds + 1
    with (
        tempfile.TemporaryDirectory(prefix="peerlearn-uploads-") as folder,
        server(tree, Path(folder), accounts, extra_env, dev=args.dev) as running,
    ):
        tokens = [api_token(running.url, number) for number in range(accounts)]
        # One small upload first, so what the first one loads once is not counted.
        requests.post(
            f"{running.url}/api/profile/avatar/",
            headers={"Authorization": f"Bearer {tokens.pop()}"},
            files={"avatar": ("warm.png", io.BytesIO(noisy_png(256)), "image/png")},
            timeout=TIMEOUT,
        ).raise_for_status()
        idle = health_latencies(running.url, IDLE_CHECKS)
        rss_before, _peak = worker_memory_kib(running)
        print(f"\n{label}: idle /healthz {summary(idle)}; worker RSS {rss_before / 1024:.0f} MB")
        rounds = BurstRounds("/healthz", "uploads")
        for round_number in range(args.rounds):
            round_tokens = tokens[round_number * args.uploads : (round_number + 1) * args.uploads]
            rounds.record(*burst(running.url, round_tokens, png))
        _rss, peak = worker_memory_kib(running)
    return {
        "idle": idle,
        "during": rounds.during,
        "uploads": rounds.times,
        "statuses": rounds.statuses,
        "rss_before": rss_before,
        "peak": peak,
    }


def exported_tree(revision, folder):
    """The files of ``revision`` (git archive) in ``folder``, with this tree's built assets."""
    archive = subprocess.run(["git", "archive", revision], cwd=ROOT, check=True, capture_output=True).stdout  # noqa: S603, S607 - a fixed argument list of our own, no shell; a Debian-installed program found on PATH
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)  # noqa: S603, S607 - a fixed argument list of our own, no shell; a Debian-installed program found on PATH
    dist = ROOT / "peerlearn" / "static" / "dist"
    if dist.exists():
        shutil.copytree(dist, folder / "peerlearn" / "static" / "dist", dirs_exist_ok=True)
    return folder


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--uploads", type=int, default=8, help="accounts uploading at once")
    parser.add_argument("--size", type=int, default=5000, help="width and height of the PNG")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compare-with", metavar="REV", help="also measure this git revision's code")
    parser.add_argument("--concurrency", type=int, help="IMAGE_DECODE_CONCURRENCY for this tree")
    parser.add_argument("--dev", action="store_true", help="the embedded mode's `flask serve` instead")
    args = parser.parse_args()

    png = noisy_png(args.size)
    if args.dev:
        server = "flask serve (threading, development config"
    else:
        server = "gunicorn -k gevent -w 1 wsgi:app (production config"
    load = os.getloadavg()
    print(
        f"upload burst: {args.uploads} × {args.size}×{args.size} PNG ({len(png) / 1e6:.1f} MB each) at once, "
        f"{args.rounds} rounds, to {server}, SQLite); "
        f"IMAGE_DECODE_CONCURRENCY={args.concurrency or 'default'}; {os.cpu_count()} CPUs; "
        f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    extra = {"IMAGE_DECODE_CONCURRENCY": str(args.concurrency)} if args.concurrency else {}
    results = {"this tree": measure("this tree", ROOT, args, png, extra)}
    if args.compare_with:
        with tempfile.TemporaryDirectory(prefix="peerlearn-uploads-old-") as folder:
            tree = exported_tree(args.compare_with, Path(folder))
            results[args.compare_with] = measure(args.compare_with, tree, args, png, {})

    print("\nover all rounds:")
    for label, result in results.items():
        answers = {status: result["statuses"].count(status) for status in sorted(set(result["statuses"]))}
        print(f"  {label}")
        print(f"    /healthz idle          {summary(result['idle'])}")
        print(f"    /healthz during burst  {summary(result['during'])}")
        print(f"    uploads                {summary(result['uploads'])}; answers {answers}")
        print(
            f"    worker RSS             {result['rss_before'] / 1024:.0f} MB before, "
            f"peak {result['peak'] / 1024:.0f} MB (VmHWM)"
        )
        if result["during"]:
            worst = max(result["during"]) * 1000
            verdict = "meets" if worst <= 200 else "misses"
            print(f"    target /healthz <= 200 ms during the burst: {verdict} (max {worst:.0f} ms)")
    load = os.getloadavg()
    print(f"\nload average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if any(status == 500 for result in results.values() for status in result["statuses"]):
        sys.exit("an upload got a 500")


if __name__ == "__main__":
    main()
