"""Email jobs. They take ids, never ORM objects, and are safe to run twice."""

import logging

from flask import current_app
from flask_mail import Message
from sqlalchemy import select, update

from ..extensions import db, mail
from ..models import EmailStatus, OutboundEmail, utcnow

log = logging.getLogger(__name__)


# After this many failed tries an email is marked failed and no sweep picks it up again.
MAX_ATTEMPTS = 8


def send_email(email_id):
    """Send one recorded email unless it has already gone out (or has failed for good)."""
    email = db.session.get(OutboundEmail, email_id)
    if email is None or email.status != EmailStatus.QUEUED:
        return
    if email.attempts >= MAX_ATTEMPTS:
        email.status = EmailStatus.FAILED.value
        db.session.commit()
        log.error("giving up on email %s to %s after %s attempts", email.id, email.to_address, email.attempts)
        return
    email.attempts += 1
    db.session.commit()
    try:
        _deliver(email)
    except Exception as exc:
        email.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        db.session.commit()
        raise
    # Conditional update: only the first successful run marks the email sent.
    db.session.execute(
        update(OutboundEmail)
        .where(OutboundEmail.id == email_id, OutboundEmail.status != EmailStatus.SENT.value)
        .values(status=EmailStatus.SENT.value, sent_at=utcnow(), last_error="")
    )
    db.session.commit()


def _deliver(email):
    if current_app.config["MAIL_BACKEND"] == "log":
        log.info(
            "email to=%s subject=%r (MAIL_BACKEND=log; see /dev/outbox)\n%s",
            email.to_address,
            email.subject,
            email.text_body,
        )
        return
    message = Message(
        subject=email.subject,
        recipients=[email.to_address],
        body=email.text_body,
        html=email.html_body,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
    )
    mail.send(message)


def dispatch_queued(limit=500):
    """Enqueue emails still queued (Redis was down, or the process stopped before enqueuing)."""
    from . import enqueue

    ids = list(
        db.session.scalars(
            select(OutboundEmail.id)
            .where(OutboundEmail.status == EmailStatus.QUEUED.value)
            .order_by(OutboundEmail.id)
            .limit(limit)
        )
    )
    for email_id in ids:
        if not enqueue("emails", send_email, email_id, job_id=f"email-{email_id}"):
            break
    return len(ids)
