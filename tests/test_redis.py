"""With Redis configured: shared rate-limit counters, and emails sent through RQ by a worker."""

import contextvars

import pytest
from sqlalchemy import select

from peerlearn import create_app
from peerlearn.extensions import db
from peerlearn.models import OutboundEmail
from tests.conftest import AuthActions, IsolatedClient
from tests.factories import UserFactory

pytestmark = pytest.mark.redis


def test_rate_limits_are_shared_between_processes(redis_app, redis_url, make_user):
    """Two app instances (two server processes) count logins against the same Redis."""
    make_user(email="a@example.com")
    other = create_app("testing", {"RATELIMIT_STORAGE_URI": redis_url})
    other.test_client_class = IsolatedClient
    if other.config["SQLALCHEMY_DATABASE_URI"] == "sqlite://":  # its own in-memory database
        with contextvars.Context().run(other.app_context):
            db.create_all()
            UserFactory(email="a@example.com")
    first, second = AuthActions(redis_app.test_client()), AuthActions(other.test_client())
    statuses = []
    for i in range(11):
        actions = first if i % 2 else second
        statuses.append(actions.login("a@example.com", "wrong-password-here").status_code)
    with contextvars.Context().run(other.app_context):
        db.engine.dispose()
    assert statuses == [401] * 10 + [429]


def test_emails_go_through_the_emails_queue_to_a_worker(redis_app, client):
    from rq import SimpleWorker

    from peerlearn.tasks import get_queue, redis_connection

    response = client.post(
        "/api/register/",
        json={"email": "q@example.com", "password": "correct-horse-battery", "name": "Queued"},
    )
    assert response.status_code == 201
    email = db.session.scalar(select(OutboundEmail).where(OutboundEmail.to_address == "q@example.com"))
    assert email.status == "queued"
    queue = get_queue("emails")
    assert queue.count == 1

    worker = SimpleWorker([queue], connection=redis_connection())
    assert worker.work(burst=True)
    db.session.refresh(email)
    assert email.status == "sent" and email.attempts == 1

    # Enqueued again (a retry, a duplicate): it is not sent twice.
    from peerlearn.tasks.email import send_email

    queue.enqueue(send_email, email.id)
    worker.work(burst=True)
    db.session.refresh(email)
    assert email.attempts == 1


def test_registration_succeeds_with_redis_down_and_mail_follows(redis_app, client, redis_url):
    from rq import SimpleWorker

    from peerlearn.tasks import get_queue, redis_connection
    from peerlearn.tasks.email import dispatch_queued

    redis_app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.post(
        "/api/register/", json={"email": "d@example.com", "password": "correct-horse-battery", "name": "Down"}
    )
    assert response.status_code == 201
    email = db.session.scalar(select(OutboundEmail).where(OutboundEmail.to_address == "d@example.com"))
    assert email.status == "queued"

    redis_app.extensions.pop("peerlearn_redis").close()
    redis_app.config["REDIS_URL"] = redis_url  # Redis is back
    assert dispatch_queued() == 1
    SimpleWorker([get_queue("emails")], connection=redis_connection()).work(burst=True)
    db.session.refresh(email)
    assert email.status == "sent"


def test_cron_enqueues_the_periodic_jobs_and_a_worker_runs_them(redis_app, make_user, time_machine):
    """What `python worker.py cron` and `python worker.py` do, with real Redis and RQ."""
    from datetime import timedelta

    from rq import SimpleWorker
    from rq.cron import CronScheduler

    from peerlearn.models import Booking, utcnow
    from peerlearn.services import booking as booking_service
    from peerlearn.tasks import get_queue, redis_connection
    from peerlearn.tasks.periodic import register_cron
    from tests import factories

    time_machine.move_to(utcnow())
    session = factories.make_session(make_user(role="mentor"), price_paise=10000)
    hold, _ = booking_service.book(session.id, make_user())
    hold_id = hold.id
    time_machine.shift(timedelta(minutes=20))

    scheduler = register_cron(CronScheduler(connection=redis_connection(), name="test-cron"))
    enqueued = scheduler.enqueue_jobs()
    assert {job.func.__name__ for job in enqueued} == {
        "expire_holds",
        "complete_sessions",
        "close_media_rooms",
        "reconcile_payments",
        "send_queued_emails",
        "send_reminders",
        "expire_requests",
        "rebuild_if_stale",
        "delete_expired_recordings",
        "queue_stalled_recordings",
        "retry_due_webhooks",
        "remove_expired_exports",
        "expire_packs",
        "release_coupon_holds",
    }
    queues = [get_queue("default"), get_queue("emails"), get_queue("recommendations")]
    assert sum(queue.count for queue in queues) == 14
    SimpleWorker(queues, connection=redis_connection()).work(burst=True)
    db.session.expire_all()
    assert db.session.get(Booking, hold_id).status == "expired"
    assert sum(queue.count for queue in queues) == 0
