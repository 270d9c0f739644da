"""Email jobs under faults, with a real Redis server and real `python worker.py` processes: a worker
killed with SIGKILL in the middle of sending, and Redis down while a learner books. Each test
starts its own throwaway redis-server, so stopping it disturbs nobody."""

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from aiosmtpd.controller import Controller
from rq.registry import StartedJobRegistry
from sqlalchemy import select

from peerlearn.extensions import db, mail
from peerlearn.models import Booking, OutboundEmail
from peerlearn.services import booking as booking_service
from peerlearn.tasks import enqueue, get_queue, redis_connection
from peerlearn.tasks.email import send_email
from peerlearn.tasks.periodic import send_queued_emails
from tests.conftest import free_port
from tests.factories import make_session, queued_email
from tests.processes import ROOT, process_env
from tests.support.mail import Inbox
from tests.support.redis_server import own_redis_server

pytestmark = pytest.mark.redis


# A send's claim on an email lapses after this long here (minutes in production), so the test can
# wait for a dead worker's claim to lapse.
CLAIM_SECONDS = 2


@pytest.fixture
def redis_server():
    yield from own_redis_server()


class HoldingInbox(Inbox):
    """An SMTP server that holds the first message it is sent without answering (the worker is
    mid-send), and accepts the later ones. The held message never gets its "250": not delivered."""

    def __init__(self):
        super().__init__()
        self.holding = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        if not self.holding.is_set():
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 Try again later"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def inbox(threaded_app):
    inbox = HoldingInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    threaded_app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    mail.init_app(threaded_app)
    yield inbox
    inbox.release.set()
    controller.stop()


@pytest.fixture
def jobs_app(threaded_app, redis_server):
    """The test app with jobs on the throwaway Redis (the worker processes share its database)."""
    threaded_app.config.update(
        REDIS_URL=redis_server.url, JOBS_INLINE=False, EMAIL_CLAIM_SECONDS=CLAIM_SECONDS
    )
    yield threaded_app
    client = threaded_app.extensions.pop("peerlearn_redis", None)
    if client is not None:
        client.close()


@pytest.fixture
def start_worker(jobs_app, tmp_path):
    """Start `python worker.py emails` against the test's database, Redis and mail server."""
    workers = []
    env = process_env(
        PEERLEARN_ENV="development",
        PEERLEARN_INSTANCE_DIR=str(tmp_path),
        DATABASE_URL=jobs_app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=jobs_app.config["REDIS_URL"],
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(jobs_app.config["MAIL_PORT"]),
        EMAIL_CLAIM_SECONDS=str(CLAIM_SECONDS),
    )

    def start():
        # Its own process group: SIGKILL reaches the worker and the work-horse it forked.
        worker = subprocess.Popen(
            [sys.executable, "worker.py", "emails"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
        worker.stdout.close()


def wait_until_sent(email_id, worker, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        db.session.expire_all()
        row = db.session.get(OutboundEmail, email_id)
        if row.status == "sent":
            return row
        if worker.poll() is not None or time.monotonic() > deadline:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
            pytest.fail(
                f"email {email_id} still {row.status}:\n{worker.stdout.read().decode(errors='replace')}"
            )
        time.sleep(0.1)


def accepted(inbox):
    return [recipients for recipients, _message in inbox.messages]


def test_enqueued_email_is_delivered_by_a_worker_process(jobs_app, inbox, start_worker):
    inbox.holding.set()  # nothing to hold here: accept every message
    email_id = queued_email(to_address="kill@example.com")
    assert enqueue("emails", send_email, email_id, job_id=f"email-{email_id}")
    row = wait_until_sent(email_id, start_worker())
    assert row.attempts == 1
    assert accepted(inbox) == [["kill@example.com"]]


def test_worker_killed_mid_send_is_retried_and_the_email_goes_out_once(jobs_app, inbox, start_worker):
    email_id = queued_email(to_address="kill@example.com")
    assert enqueue("emails", send_email, email_id, job_id=f"email-{email_id}")
    worker = start_worker()
    assert inbox.holding.wait(30), "the worker never reached the mail server"
    os.killpg(worker.pid, signal.SIGKILL)  # the machine dies mid-send: worker and work-horse
    worker.wait(10)

    row = db.session.get(OutboundEmail, email_id)
    db.session.refresh(row)
    assert row.status == "queued" and row.attempts == 1 and not inbox.messages

    # RQ sees the job as abandoned once the dead worker's heartbeat lapses (about a minute; the
    # cutoff is moved forward here instead of waiting) and schedules a retry, since it has retries left.
    registry = StartedJobRegistry("emails", connection=redis_connection())
    registry.cleanup(timestamp=time.time() + 3600)
    job = get_queue("emails").fetch_job(f"email-{email_id}")
    assert job.get_status() == "scheduled" and job.retries_left == 2

    # Nobody knows whether the dead worker's send went through, so while its claim is fresh the
    # periodic dispatcher (`worker.py cron`) leaves the email alone; once it lapses, it hands the
    # still-queued email on and a new worker sends it.
    assert send_queued_emails() == 0
    time.sleep(CLAIM_SECONDS + 0.5)
    assert send_queued_emails() == 1
    row = wait_until_sent(email_id, start_worker())
    assert row.attempts == 2
    inbox.release.set()  # the held delivery is answered now, to a connection that is long gone
    time.sleep(0.3)
    assert accepted(inbox) == [["kill@example.com"]]

    # The scheduled retry runs later too, and sends nothing: the email is already sent.
    send_email(email_id)
    assert accepted(inbox) == [["kill@example.com"]]


def test_booking_succeeds_with_redis_down_and_the_email_follows(
    jobs_app, inbox, redis_server, start_worker, make_user
):
    inbox.holding.set()  # accept every message
    learner = make_user(email="learner@example.com")
    session = make_session(make_user(role="mentor"), price_paise=0)
    redis_server.stop()

    booking, created = booking_service.book(session.id, learner)
    assert created and db.session.get(Booking, booking.id).status == "confirmed"
    [row] = db.session.scalars(select(OutboundEmail).where(OutboundEmail.to_address == "learner@example.com"))
    assert row.status == "queued" and row.attempts == 0

    redis_server.start()  # Redis is back (empty: it kept nothing)
    assert send_queued_emails() == 1
    row = wait_until_sent(row.id, start_worker())
    assert row.attempts == 1
    assert accepted(inbox) == [["learner@example.com"]]
