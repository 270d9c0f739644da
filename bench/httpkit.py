"""What the HTTP benches (booking_storm.py, catalog.py) share: a production server on a scratch
database, HTTP clients in several processes released at one moment, and the figures they print.

The server is roomkit's (gunicorn -k gevent -w 1 wsgi:app under the production config, with
roomkit's bench-only settings) plus a longer keep-alive (GUNICORN_CMD_ARGS, below): gunicorn's
default closes an idle connection after 2 s, and a client opens its connection before it waits
for the others, so the wait must not cost it the connection.

Clients run in ``processes`` forked client processes, one thread and one keep-alive connection
(a requests.Session) per client. Every client first opens its connection with a GET /healthz,
then waits; once every client of every process is waiting, all are released together. Times come
from time.perf_counter(), CLOCK_MONOTONIC on Linux: one clock for every process, so the send
times of different processes compare. The clients share the machine with the server: what they
cost shows in the load average, which the benches print.
"""

import multiprocessing
import os
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import requests

from bench import roomkit

KEEP_ALIVE_SECONDS = 120


@dataclass
class Hit:
    """One HTTP request as a client saw it (times in seconds of time.perf_counter())."""

    label: str
    started: float
    finished: float
    status: int  # 0 when no answer came (the error says why)
    body: dict | None = None
    error: str | None = None

    @property
    def milliseconds(self):
        return (self.finished - self.started) * 1000


def request(http, method, url, label, *, keep_body=False, **kwargs):
    """Send one request through ``http`` and return its Hit; a refused or broken connection is a
    Hit with status 0, never an exception."""
    started = time.perf_counter()
    try:
        response = http.request(method, url, timeout=roomkit.TIMEOUT, allow_redirects=False, **kwargs)
        finished = time.perf_counter()
    except requests.RequestException as exc:
        return Hit(label, started, time.perf_counter(), 0, error=f"{type(exc).__name__}: {exc}")
    body = None
    if keep_body and response.headers.get("Content-Type", "").startswith("application/json"):
        body = response.json()
    return Hit(label, started, finished, response.status_code, body)


def run_together(clients, body, *, base_url, processes):
    """Run ``body(http, client)`` for every item of ``clients`` at the same moment.

    Each client gets a thread and its own requests.Session, whose connection is opened (GET
    /healthz) before the wait. ``body`` returns anything picklable (typically a Hit or a list of
    Hits). Returns the bodies' results in the order of ``clients``; a client whose body raised
    raises here, with its traceback.
    """
    processes = max(1, min(processes, len(clients)))
    context = multiprocessing.get_context("fork")
    everyone_ready = context.Barrier(processes + 1)
    results = context.Queue()
    shares = [list(range(first, len(clients), processes)) for first in range(processes)]
    children = [
        context.Process(
            target=_client_process,
            args=(clients, share, body, base_url, everyone_ready, results),
            daemon=True,
        )
        for share in shares
    ]
    for child in children:
        child.start()
    try:
        everyone_ready.wait(timeout=roomkit.TIMEOUT * 2)
        answers = {}
        for _ in children:
            answers.update(results.get(timeout=roomkit.TIMEOUT * 10))
    finally:
        for child in children:
            child.join(timeout=roomkit.TIMEOUT)
            if child.is_alive():
                child.kill()
    failures = [answer for answer in answers.values() if isinstance(answer, _Failure)]
    if failures:
        raise RuntimeError(f"{len(failures)} client(s) failed; the first:\n{failures[0].trace}")
    return [answers[index] for index in range(len(clients))]


@dataclass
class _Failure:
    trace: str


def _client_process(clients, share, body, base_url, everyone_ready, results):
    ready = threading.Barrier(len(share) + 1)
    go = threading.Barrier(len(share) + 1)
    answers = {}

    def client_thread(index):
        http = requests.Session()
        try:
            try:
                http.get(f"{base_url}/healthz", timeout=roomkit.TIMEOUT).raise_for_status()
            finally:  # a client that could not connect still lets the others go
                ready.wait()
                go.wait()
            answers[index] = body(http, clients[index])
        except Exception:  # reported to the parent, which raises
            answers[index] = _Failure(traceback.format_exc())
        finally:
            http.close()

    threads = [threading.Thread(target=client_thread, args=(index,)) for index in share]
    for thread in threads:
        thread.start()
    ready.wait()
    everyone_ready.wait()
    go.wait()
    for thread in threads:
        thread.join()
    results.put(answers)


def production_environment(database_url, workdir, **settings):
    """roomkit's production server settings on ``database_url``, a keep-alive long enough for the
    clients' wait, and ``settings`` on top."""
    env = roomkit.server_environment(database_url, roomkit.new_secret_key(), workdir)
    env["GUNICORN_CMD_ARGS"] = f"--keep-alive {KEEP_ALIVE_SECONDS}"
    env.update(settings)
    return env


@contextmanager
def production_server(database_url, workdir, *, tag="server", **settings):
    """One production server process on ``database_url``, stopped (with its worker) on exit."""
    env = production_environment(database_url, workdir, **settings)
    with roomkit.servers(env, 1, workdir, tag=tag) as (server,):
        yield server


def percentiles(milliseconds, points=(50, 95, 99)):
    """{"p50": ..., ...} of a list of milliseconds."""
    values = np.asarray(milliseconds, dtype=float)
    return {f"p{point}": float(np.percentile(values, point)) for point in points}


def describe(milliseconds, points=(50, 95, 99)):
    figures = percentiles(milliseconds, points)
    return ", ".join(f"{name} {value:.1f} ms" for name, value in figures.items())


def most_in_flight(hits):
    """The largest number of requests the clients had sent and not yet seen answered at once."""
    moments = sorted([(hit.started, 1) for hit in hits] + [(hit.finished, -1) for hit in hits])
    in_flight = most = 0
    for _moment, step in moments:
        in_flight += step
        most = max(most, in_flight)
    return most


def load_average():
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1, 5, 15 min; {os.cpu_count()} CPUs)"
