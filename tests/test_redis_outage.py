"""Redis going away and coming back, with a throwaway redis-server of the test's own (stopping it
disturbs nobody): sign-in, sign-up and password reset keep answering with the rate limits counted
in memory meanwhile, and `python worker.py cron` and `python worker.py` outlive the outage."""

import logging
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from redis import Redis
from sqlalchemy import select

from peerlearn.exceptions import RateLimited
from peerlearn.extensions import db, limiter
from peerlearn.models import OutboundEmail
from peerlearn.sockets import validation
from tests import processes
from tests.processes import ROOT
from tests.support.redis_server import own_redis_server

pytestmark = pytest.mark.redis

UNREACHABLE = "Rate-limit storage unreachable"
REACHABLE = "Rate-limit storage reachable again"


@pytest.fixture
def redis_server():
    yield from own_redis_server(started=False)


@pytest.fixture
def outage_app(app, redis_server):
    """The test app with jobs and rate limits on the throwaway Redis."""
    redis_server.start()
    app.config.update(
        REDIS_URL=redis_server.url,
        RATELIMIT_STORAGE_URI=redis_server.url,
        JOBS_INLINE=False,
        LOGIN_LIMIT_PER_ACCOUNT="3 per 15 minutes",
        RATELIMIT_RECHECK_SECONDS=0,  # ask Redis again on every call while it is away
    )
    limiter.init_app(app)
    yield app
    client = app.extensions.pop("peerlearn_redis", None)
    if client is not None:
        client.close()
    limiter.storage.storage.close()


def limit_keys(server):
    client = Redis.from_url(server.url)
    try:
        return client.keys("LIMITS:*")
    finally:
        client.close()


def login(client, password):
    return client.post("/api/login/", json={"email": "ana@example.com", "password": password})


def messages(caplog, text):
    return [record for record in caplog.records if text in record.getMessage()]


def test_sign_in_works_while_redis_is_down_and_limits_go_back_to_redis(
    outage_app, redis_server, client, make_user, caplog
):
    make_user(email="ana@example.com")
    assert login(client, "wrong-password-here").status_code == 401
    assert limit_keys(redis_server)  # counted in Redis

    redis_server.stop()
    caplog.set_level(logging.WARNING, logger="peerlearn.services.ratelimit")
    assert login(client, "correct-horse-battery").status_code == 200
    # The right password cleared the account's count; the limit still applies, in memory.
    statuses = [login(client, "wrong-password-here").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert len(messages(caplog, UNREACHABLE)) == 1  # once per outage, not per request

    registered = client.post(
        "/api/register/",
        json={"email": "new@example.com", "password": "correct-horse-battery", "name": "New Learner"},
    )
    assert registered.status_code == 201, registered.get_json()
    reset = client.post("/api/password-reset/", json={"email": "ana@example.com"})
    assert reset.status_code == 200, reset.get_json()
    # Neither email could reach the queue; both wait in the database for the periodic dispatch.
    waiting = db.session.scalars(select(OutboundEmail.to_address).where(OutboundEmail.status == "queued"))
    assert {"new@example.com", "ana@example.com"} <= set(waiting)

    redis_server.start()  # the same port, empty
    assert not limit_keys(redis_server)
    assert login(client, "wrong-password-here").status_code == 401  # counts in Redis again
    assert limit_keys(redis_server)
    assert len(messages(caplog, REACHABLE)) == 1
    assert len(messages(caplog, UNREACHABLE)) == 1


def test_a_down_redis_is_asked_again_only_after_the_recheck_interval(
    outage_app, redis_server, client, make_user
):
    make_user(email="ana@example.com")
    outage_app.config["RATELIMIT_RECHECK_SECONDS"] = 3600
    redis_server.stop()
    assert login(client, "wrong-password-here").status_code == 401
    redis_server.start()
    assert login(client, "wrong-password-here").status_code == 401
    assert not limit_keys(redis_server)  # still counting in memory: Redis is not asked per request


def test_socket_event_limits_count_in_memory_while_redis_is_down(outage_app, redis_server, make_user):
    user = make_user(email="ana@example.com")
    outage_app.config["ROOM_RATE_LIMITS"] = {"chat": "2 per 10 seconds"}
    redis_server.stop()
    validation.rate_limit("chat", user.id)
    validation.rate_limit("chat", user.id)
    with pytest.raises(RateLimited):
        validation.rate_limit("chat", user.id)


# --- `python worker.py cron` and `python worker.py` as their own processes -------------------------

DEADLINE = 90  # seconds; generous, as a loaded machine starts the app slowly


@pytest.fixture
def process_env(threaded_app, redis_server, tmp_path):
    return processes.process_env(
        PEERLEARN_ENV="development",
        PEERLEARN_INSTANCE_DIR=str(tmp_path),
        DATABASE_URL=threaded_app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=redis_server.url,
    )


class Process:
    """A process of ours whose output goes to a file the test can read while it runs."""

    def __init__(self, args, env, log_path):
        self.log_path = log_path
        self.log_file = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(  # noqa: S603 - a fixed argument list of our own, no shell
            args, cwd=ROOT, env=env, start_new_session=True, stdout=self.log_file, stderr=subprocess.STDOUT
        )

    def output(self):
        return self.log_path.read_text(errors="replace")

    def alive(self):
        return self.popen.poll() is None

    def wait_for(self, what, check):
        deadline = time.monotonic() + DEADLINE
        while not check():
            if not self.alive():
                pytest.fail(
                    f"the process ended (status {self.popen.returncode}) before {what}:\n{self.output()}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} within {DEADLINE} s:\n{self.output()}")
            time.sleep(0.2)

    def stop(self):
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self.log_file.close()


@pytest.fixture
def start_process(process_env, tmp_path):
    processes = []

    def start(*args):
        process = Process([sys.executable, *args], process_env, tmp_path / f"process-{len(processes)}.log")
        processes.append(process)
        return process

    yield start
    for process in processes:
        process.stop()


def queued_job_count(server, queue="default"):
    client = Redis.from_url(server.url, socket_connect_timeout=1)
    try:
        return client.llen(f"rq:queue:{queue}")
    except Exception:  # down at this moment
        return 0
    finally:
        client.close()


# worker.py itself, with the periodic jobs every 2 seconds instead of every minute or five.
FAST_CRON = (
    "import runpy, sys; import peerlearn.tasks.periodic as periodic; "
    "periodic.PERIODIC_JOBS = tuple((func, queue, 2) for func, queue, _ in periodic.PERIODIC_JOBS); "
    "sys.argv = ['worker.py', 'cron']; runpy.run_path('worker.py', run_name='__main__')"
)


def test_cron_keeps_scheduling_through_a_redis_outage(redis_server, start_process):
    redis_server.start()
    cron = start_process("-c", FAST_CRON)
    cron.wait_for("jobs enqueued", lambda: queued_job_count(redis_server) > 0)

    redis_server.stop()
    cron.wait_for("the outage noticed", lambda: "periodic jobs wait until it answers" in cron.output())
    cron.wait_for("a retry during the outage", lambda: "Redis still unreachable" in cron.output())
    assert cron.alive()

    redis_server.start()  # empty: whatever is queued now was enqueued after the outage
    cron.wait_for("jobs enqueued again", lambda: queued_job_count(redis_server) > 0)
    assert "periodic jobs are enqueued again" in cron.output()
    assert cron.alive()


def test_cron_started_while_redis_is_down_waits_for_it(redis_server, start_process):
    cron = start_process("worker.py", "cron")
    cron.wait_for("the outage noticed", lambda: "periodic jobs wait until it answers" in cron.output())

    redis_server.start()
    # Every job is due at the first start: each queue gets its share.
    cron.wait_for("jobs enqueued", lambda: queued_job_count(redis_server) > 0)
    cron.wait_for("emails enqueued", lambda: queued_job_count(redis_server, "emails") > 0)
    assert cron.alive()


def finished_jobs(server):
    client = Redis.from_url(server.url, socket_connect_timeout=1)
    try:
        return [key for key in client.keys("rq:job:*") if client.hget(key, "status") == b"finished"]
    except Exception:
        return []
    finally:
        client.close()


def enqueue_expire_holds(server):
    from rq import Queue

    from peerlearn.tasks.periodic import expire_holds

    client = Redis.from_url(server.url)
    try:
        return Queue("default", connection=client).enqueue(expire_holds).id
    finally:
        client.close()


def test_worker_started_while_redis_is_down_waits_then_works(redis_server, start_process):
    worker = start_process("worker.py", "default")
    worker.wait_for(
        "the outage noticed", lambda: re.search(r"worker stopped: Redis unreachable", worker.output())
    )

    redis_server.start()
    worker.wait_for("the worker started again", lambda: "starting the worker again" in worker.output())
    enqueue_expire_holds(redis_server)
    worker.wait_for("the job done", lambda: finished_jobs(redis_server))

    redis_server.stop()  # an outage while it waits for jobs
    worker.wait_for("the outage noticed", lambda: "could not connect to Redis" in worker.output())
    redis_server.start()
    enqueue_after = None
    deadline = time.monotonic() + DEADLINE
    while enqueue_after is None:  # the server may take a moment to accept connections again
        try:
            enqueue_after = enqueue_expire_holds(redis_server)
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    worker.wait_for("a job done after the outage", lambda: finished_jobs(redis_server))
    assert worker.alive()
