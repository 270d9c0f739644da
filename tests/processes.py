"""Our own programs as real processes in tests: gunicorn serving wsgi.py, worker.py, the CLI.

Each gets an environment of its own (none of the test run's settings leak in), is started with a
fixed argument list, and is stopped however it ended up.
"""

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Settings the test run itself may carry (TEST_DATABASE_URL, REDIS_URL, ...): never a child's.
OWN_PREFIXES = ("PEERLEARN_", "TEST_", "REDIS", "DATABASE", "SOCKETIO", "FLASK", "MAIL", "RATELIMIT")


def process_env(**settings):
    """This environment without the project's settings, plus ``settings``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(OWN_PREFIXES)}
    env.update(settings)
    return env


def start_gunicorn(port, env, output):
    """gunicorn with one gevent worker, as production runs wsgi:app, on 127.0.0.1:``port``."""
    return subprocess.Popen(  # noqa: S603 - a fixed argument list of our own, no shell
        [BIN / "gunicorn", "-k", "gevent", "-w", "1", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
    )


def wait_until_healthy(base, server, log, deadline_seconds=30):
    """Wait for ``base``/healthz to answer 200; fail with what the server printed (to ``log``, a
    file opened "w+b") if it exits first or never answers."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:  # noqa: S310 - an http URL on loopback built here
                if response.status == 200:
                    return
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"the server did not start:\n{log.read().decode(errors='replace')}")
            time.sleep(0.2)


def stop(process, timeout=10):
    """Ask ``process`` to stop, then make it."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
