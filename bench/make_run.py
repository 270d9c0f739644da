"""Wall time of `make run` from a fresh clone: cold (nothing installed) and warm (a restart).

    python3 bench/make_run.py [--keep]

Clones this repository's HEAD into a temporary folder, runs `make run` on a free port and times
it until GET /healthz answers, stops it, then times a second `make run` in the same clone.
Package downloads come from pip's and npm's caches when they are warm, as they are on a developer
machine; the figure says which. Prints both times and the server's idle RSS.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 900


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def timed_run(clone, port, log_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "REDIS_", "PEERLEARN_", "TEST_"))
    }
    env.update(PORT=str(port), HOST="127.0.0.1")
    log = open(log_path, "w")  # noqa: SIM115 - closed after the server stops
    start = time.monotonic()
    process = subprocess.Popen(
        ["make", "run"],  # noqa: S607 - a Debian-installed program found on PATH
        cwd=clone,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"make run exited with {process.returncode}; see {log_path}")
            if time.monotonic() - start > TIMEOUT:
                raise RuntimeError(f"not ready after {TIMEOUT} s; see {log_path}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        elapsed = time.monotonic() - start
        time.sleep(2)
        rss = server_rss_kib(process.pid)
        return elapsed, rss
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def server_rss_kib(make_pid):
    """RSS of the Python server under `make` (make execs it, so it is usually the same pid)."""
    for pid in [make_pid, *child_pids(make_pid)]:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        if "flask" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
            return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))
    return None


def child_pids(pid):
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def main():
    keep = "--keep" in sys.argv
    workdir = Path(tempfile.mkdtemp(prefix="peerlearn-bench-"))
    clone = workdir / "peerlearn"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)  # noqa: S603, S607 - a fixed argument list of our own, no shell; a Debian-installed program found on PATH
    try:
        port = free_port()
        cold, _ = timed_run(clone, port, workdir / "cold.log")
        warm, rss = timed_run(clone, port, workdir / "warm.log")
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"make run, fresh clone (cold): {cold:6.1f} s until /healthz answered")
    print(f"make run, restart (warm):     {warm:6.1f} s")
    if rss:
        print(f"idle server RSS after start:  {rss / 1024:6.1f} MiB")
    print("(pip and npm caches on this machine were used as they are; a first-ever install downloads more)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
