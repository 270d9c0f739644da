"""Email through a real SMTP server on loopback, and what happens when it is unreachable."""

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from peerlearn.extensions import db
from peerlearn.models import OutboundEmail
from tests.conftest import free_port
from tests.support.mail import Inbox


@pytest.fixture
def smtp_server(app):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    from peerlearn.extensions import mail

    mail.init_app(app)
    yield inbox
    controller.stop()


def test_verification_email_is_delivered_over_smtp(client, smtp_server):
    response = client.post(
        "/api/register/",
        json={"email": "smtp@example.com", "password": "correct-horse-battery", "name": "Smtp Person"},
    )
    assert response.status_code == 201
    assert smtp_server.arrived.wait(5)
    recipients, message = smtp_server.messages[0]
    assert recipients == ["smtp@example.com"]
    assert message["Subject"] == "Confirm your email for PeerLearn"
    assert "no-reply@peerlearn.local" in message["From"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Hi Smtp," in text and "http://localhost/auth/verify/" in text
    assert "Confirm my email" in html and "http://localhost/auth/verify/" in html
    row = db.session.scalar(select(OutboundEmail))
    assert row.status == "sent" and row.attempts == 1


def test_unreachable_mail_server_does_not_fail_the_sign_up(app, client, runner):
    from peerlearn.extensions import mail

    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())
    mail.init_app(app)
    response = client.post(
        "/api/register/",
        json={"email": "later@example.com", "password": "correct-horse-battery", "name": "Later"},
    )
    assert response.status_code == 201  # the account exists; the email waits
    row = db.session.scalar(select(OutboundEmail))
    assert row.status == "queued" and row.attempts == 1 and "ConnectionRefused" in row.last_error

    # The mail server comes back: the queued email is sent by the sweep command, once.
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        app.config["MAIL_PORT"] = controller.port
        mail.init_app(app)
        result = runner.invoke(args=["emails", "send-queued"])
        assert result.exit_code == 0 and "1 queued email(s)" in result.output
        assert inbox.arrived.wait(5)
        db.session.refresh(row)
        assert row.status == "sent" and row.attempts == 2
        runner.invoke(args=["emails", "send-queued"])
        assert len(inbox.messages) == 1
    finally:
        controller.stop()
