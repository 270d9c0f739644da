"""An email job that runs twice sends one email: a retry after success, or two workers at once."""

import threading

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import update

from peerlearn.extensions import db, mail
from peerlearn.models import OutboundEmail
from peerlearn.services import mail as mail_service
from peerlearn.tasks import email as email_tasks
from tests.conftest import free_port
from tests.support.mail import Inbox


@pytest.fixture
def inbox(threaded_app):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    threaded_app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    mail.init_app(threaded_app)
    yield inbox
    controller.stop()


def queued_email(to="once@example.com"):
    row = OutboundEmail(
        to_address=to, subject="Hello once", template="notice", text_body="Hi", html_body="<p>Hi</p>"
    )
    db.session.add(row)
    db.session.commit()
    return row.id


def test_running_the_job_again_after_it_sent_sends_nothing(inbox):
    email_id = queued_email()
    email_tasks.send_email(email_id)
    email_tasks.send_email(email_id)
    assert len(inbox.messages) == 1
    row = db.session.get(OutboundEmail, email_id)
    db.session.refresh(row)
    assert row.status == "sent" and row.attempts == 1


def test_two_runs_at_once_send_one_email(threaded_app, inbox, monkeypatch):
    """Both runs read the row as queued before either claims it; only one sends."""
    email_id = queued_email()
    both_have_read = threading.Barrier(2, timeout=10)
    claimed_once = threading.local()
    real_update = update

    def update_after_both_read(table):
        if not getattr(claimed_once, "done", False):  # the claim, the first update of a run
            claimed_once.done = True
            both_have_read.wait()
        return real_update(table)

    monkeypatch.setattr(mail_service, "update", update_after_both_read)
    errors = []

    def run():
        try:
            with threaded_app.app_context():
                email_tasks.send_email(email_id)
                db.session.remove()
        except Exception as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert not errors
    assert len(inbox.messages) == 1
    row = db.session.get(OutboundEmail, email_id)
    db.session.refresh(row)
    assert row.status == "sent" and row.attempts == 1


def test_a_failed_try_is_counted_and_the_retry_sends(threaded_app, inbox):
    email_id = queued_email()
    port = threaded_app.config["MAIL_PORT"]
    threaded_app.config["MAIL_PORT"] = free_port()  # nothing listens: the first try fails
    mail.init_app(threaded_app)
    with pytest.raises(ConnectionRefusedError):
        email_tasks.send_email(email_id)
    row = db.session.get(OutboundEmail, email_id)
    db.session.refresh(row)
    assert row.status == "queued" and row.attempts == 1 and "ConnectionRefused" in row.last_error

    threaded_app.config["MAIL_PORT"] = port
    mail.init_app(threaded_app)
    email_tasks.send_email(email_id)  # RQ's retry
    db.session.refresh(row)
    assert row.status == "sent" and row.attempts == 2 and row.last_error == ""
    assert len(inbox.messages) == 1


def test_a_fresh_claim_keeps_other_runs_and_the_sweep_off_until_it_lapses(app, inbox):
    """A run is sending (or its worker died mid-send): a retry and the sweep leave the email alone
    while the claim is fresh, and send it once the claim has lapsed."""
    from datetime import timedelta

    from peerlearn.models import utcnow

    email_id = queued_email()
    claimed_at = utcnow()
    db.session.execute(
        update(OutboundEmail).where(OutboundEmail.id == email_id).values(attempts=1, claimed_at=claimed_at)
    )
    db.session.commit()
    app.config["JOBS_INLINE"] = True

    assert email_tasks.dispatch_queued() == 0
    email_tasks.send_email(email_id)
    assert inbox.messages == []

    lapsed = claimed_at - timedelta(seconds=app.config["EMAIL_CLAIM_SECONDS"] + 1)
    db.session.execute(update(OutboundEmail).where(OutboundEmail.id == email_id).values(claimed_at=lapsed))
    db.session.commit()
    assert email_tasks.dispatch_queued() == 1  # inline: enqueuing sends it
    assert len(inbox.messages) == 1
    row = db.session.get(OutboundEmail, email_id)
    db.session.refresh(row)
    assert row.status == "sent" and row.attempts == 2


def test_a_failed_send_lets_go_of_its_claim(inbox, monkeypatch):
    email_id = queued_email()

    def refuse(email):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr(email_tasks, "_deliver", refuse)
    with pytest.raises(ConnectionRefusedError):
        email_tasks.send_email(email_id)
    row = db.session.get(OutboundEmail, email_id)
    db.session.refresh(row)
    assert row.status == "queued" and row.claimed_at is None and "mail server down" in row.last_error

    monkeypatch.undo()
    email_tasks.send_email(email_id)  # the retry sends it at once
    assert len(inbox.messages) == 1
