"""Whether work under gevent leaves the event loop free: a script in a fresh interpreter, because
gevent has to patch the process before anything else is imported, which the test process cannot
allow.

The test side calls run_script(); the script, once patched, calls count_ticks() from this module
(which imports only the standard library at its top, so importing it after the patch is safe)
and prints its figures as JSON on its last line.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_script(script, *arguments, timeout):
    """Run ``script`` with ``arguments`` in a fresh interpreter from the repository root and
    return the JSON of its last line (skip without gevent)."""
    import pytest  # here, so that the scripts importing count_ticks do not import pytest

    pytest.importorskip("gevent")
    result = subprocess.run(  # noqa: S603 - a fixed argument list of our own, no shell
        [sys.executable, "-c", script, *map(str, arguments)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def count_ticks(interval, *work):
    """Run each callable of ``work`` in a greenlet of its own while another greenlet ticks every
    ``interval`` seconds; return (the callables' results, ticks counted meanwhile, seconds taken).
    Call only in a process gevent has patched."""
    import time

    import gevent

    ticks = 0
    running = True

    def ticker():
        nonlocal ticks
        while running:
            gevent.sleep(interval)
            ticks += 1

    clock = gevent.spawn(ticker)
    gevent.sleep(0.05)  # the ticker is running
    ticks = 0
    started = time.perf_counter()
    workers = [gevent.spawn(function) for function in work]
    gevent.joinall(workers, raise_error=True)
    elapsed = time.perf_counter() - started
    counted = ticks
    running = False
    clock.join()
    return [worker.value for worker in workers], counted, elapsed
