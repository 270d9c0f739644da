"""Jobs that failed for good stay in RQ's failed registry: counted on the admin home and put back
on their queues with `flask jobs requeue-failed`. Needs TEST_REDIS_URL."""

import pytest
from aiosmtpd.controller import Controller
from rq import SimpleWorker

from peerlearn.extensions import db, mail
from peerlearn.models import OutboundEmail
from peerlearn.tasks import failed_job_count, get_queue, redis_connection
from peerlearn.tasks.email import send_email
from tests.conftest import free_port
from tests.support.mail import Inbox

pytestmark = pytest.mark.redis


def failing_email(app):
    """An email whose job fails now: nothing listens on the mail port, and no retries are left."""
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())
    mail.init_app(app)
    row = OutboundEmail(
        to_address="late@example.com",
        subject="Late",
        template="notice",
        text_body="Hi",
        html_body="<p>Hi</p>",
    )
    db.session.add(row)
    db.session.commit()
    get_queue("emails").enqueue(send_email, row.id, job_id=f"email-{row.id}")
    SimpleWorker([get_queue("emails")], connection=redis_connection()).work(burst=True)
    return row


def test_failed_jobs_are_counted_on_the_admin_home(redis_app, client, auth, make_user):
    make_user(role="admin", email="admin@example.com")
    auth.login("admin@example.com")
    page = client.get("/admin").get_data(as_text=True)
    assert 'data-figure="failed-jobs"' in page and "Failed jobs: <span" in page
    assert "flask jobs requeue-failed" not in page  # nothing to requeue

    failing_email(redis_app)
    assert failed_job_count() == 1
    assert failed_job_count(["default"]) == 0
    page = client.get("/admin").get_data(as_text=True)
    assert '<span class="font-semibold text-red-700">1</span>' in page
    assert "flask jobs requeue-failed" in page


def test_no_failed_figure_when_jobs_run_inline(app, client, auth, make_user):
    make_user(role="admin", email="admin@example.com")
    auth.login("admin@example.com")
    assert failed_job_count() is None
    assert 'data-figure="failed-jobs"' not in client.get("/admin").get_data(as_text=True)


def test_requeue_failed_puts_the_job_back_and_the_email_goes_out(redis_app, runner):
    row = failing_email(redis_app)
    assert failed_job_count() == 1

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        redis_app.config["MAIL_PORT"] = controller.port  # the mail server is back
        mail.init_app(redis_app)
        assert runner.invoke(args=["jobs", "requeue-failed", "--queue", "default"]).output == (
            "0 failed job(s) requeued.\n"
        )
        result = runner.invoke(args=["jobs", "requeue-failed"])
        assert result.exit_code == 0 and result.output == "1 failed job(s) requeued.\n"
        assert failed_job_count() == 0 and get_queue("emails").count == 1
        SimpleWorker([get_queue("emails")], connection=redis_connection()).work(burst=True)
    finally:
        controller.stop()
    db.session.refresh(row)
    assert row.status == "sent" and row.attempts == 2
    assert [recipients for recipients, _message in inbox.messages] == [["late@example.com"]]


def test_requeue_failed_refuses_without_a_queue(runner):
    result = runner.invoke(args=["jobs", "requeue-failed"])
    assert result.exit_code != 0 and "jobs run inline" in result.output
    result = runner.invoke(args=["jobs", "requeue-failed", "--queue", "nope"])
    assert result.exit_code != 0 and "nope" in result.output
