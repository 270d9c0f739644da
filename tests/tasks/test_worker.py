"""The worker classes `worker.py` runs: each job gets a fresh app context, so nothing one job
leaves in the database session reaches the next; the forking variant sends from its work-horse.
Needs TEST_REDIS_URL."""

import pytest
from sqlalchemy import func, select

from peerlearn.extensions import db
from peerlearn.models import OutboundEmail
from peerlearn.tasks import get_queue, redis_connection
from peerlearn.tasks.email import send_email
from peerlearn.tasks.worker import AppWorker, ForkingAppWorker
from tests.factories import queued_email

pytestmark = pytest.mark.redis


@pytest.fixture
def worker_app(threaded_app, redis_url):
    """Jobs on the test Redis; a database the forked work-horse shares (PostgreSQL or a SQLite file)."""
    threaded_app.config.update(REDIS_URL=redis_url, JOBS_INLINE=False)
    yield threaded_app
    client = threaded_app.extensions.pop("peerlearn_redis", None)
    if client is not None:
        client.close()


def leave_a_row_unsaved():
    """A job that adds a row and returns without committing (a bug in some job)."""
    db.session.add(
        OutboundEmail(
            to_address="stray@example.com", subject="Stray", template="notice", text_body="", html_body=""
        )
    )


def count(address):
    db.session.expire_all()
    return db.session.scalar(select(func.count(OutboundEmail.id)).where(OutboundEmail.to_address == address))


@pytest.mark.parametrize("worker_class", [AppWorker, ForkingAppWorker], ids=["in-process", "forking"])
def test_each_job_starts_with_a_clean_session(worker_app, worker_class):
    email_id = queued_email(to_address="worker@example.com", subject="Hi")
    queue = get_queue("emails")
    queue.enqueue(leave_a_row_unsaved)
    queue.enqueue(send_email, email_id)

    assert worker_class([queue], connection=redis_connection()).work(burst=True)

    # The second job committed its own work only: the first job's stray row was rolled back.
    row = db.session.get(OutboundEmail, email_id)
    db.session.refresh(row)
    assert row.status == "sent" and row.attempts == 1
    assert count("stray@example.com") == 0
    assert queue.finished_job_registry.count == 2
