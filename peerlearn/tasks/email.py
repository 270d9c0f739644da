"""Email jobs. They take ids, never ORM objects, and are safe to run twice."""

import logging
from datetime import timedelta

from flask import current_app
from flask_mail import Message
from sqlalchemy import or_, select, update

from ..extensions import db, mail
from ..models import EmailStatus, OutboundEmail, utcnow
from ..services import mail as mail_service
from ..services import notifications

log = logging.getLogger(__name__)


# After this many failed tries an email is marked failed and no sweep picks it up again.
MAX_ATTEMPTS = 8


def send_email(email_id):
    """Send one recorded email unless it has already gone out, has failed for good or been
    dropped, is held until later (``send_after``: the queued-email sweep sends it then), or another
    run holds a fresh claim on it (that run sends it; if its worker died, the claim lapses and the
    queued-email sweep enqueues it again). A social email over an hourly cap is dropped instead of
    sent (``notifications.cap_reason``)."""
    email = db.session.get(OutboundEmail, email_id)
    if email is None or email.status != EmailStatus.QUEUED:
        return
    if email.send_after is not None and email.send_after > utcnow():
        return
    if email.attempts >= MAX_ATTEMPTS:
        email.status = EmailStatus.FAILED.value
        db.session.commit()
        log.error("giving up on email %s to %s after %s attempts", email.id, email.to_address, email.attempts)
        return
    # Claim it: of runs that overlap, only the one whose update lands sends.
    now = utcnow()
    claimed = db.session.execute(
        update(OutboundEmail)
        .where(
            OutboundEmail.id == email_id,
            OutboundEmail.status == EmailStatus.QUEUED.value,
            _unclaimed(now),
        )
        .values(attempts=OutboundEmail.attempts + 1, claimed_at=now)
    ).rowcount
    if not claimed:
        db.session.commit()
        log.info("email %s is claimed by another run; not sending it again", email_id)
        return
    # Counted in the claim's transaction, so the claim is what the next count sees.
    over = notifications.cap_reason(email, now)
    if over is not None:
        email.status = EmailStatus.DROPPED.value
        email.drop_reason = over.value
        email.claimed_at = None
    db.session.commit()
    if over is not None:
        log.info("email %s to user %s dropped: %s", email.id, email.user_id, over.value)
        return
    try:
        _deliver(email)
    except Exception as exc:
        # Not sent: let go of the claim so the retry (or the sweep) can send it.
        email.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        email.claimed_at = None
        db.session.commit()
        raise
    # Conditional update: only the first successful run marks the email sent.
    db.session.execute(
        update(OutboundEmail)
        .where(OutboundEmail.id == email_id, OutboundEmail.status != EmailStatus.SENT.value)
        .values(status=EmailStatus.SENT.value, sent_at=utcnow(), last_error="")
    )
    db.session.commit()


def _unclaimed(now):
    """No run holds a fresh claim on the email."""
    lapsed = now - timedelta(seconds=current_app.config["EMAIL_CLAIM_SECONDS"])
    return or_(OutboundEmail.claimed_at.is_(None), OutboundEmail.claimed_at < lapsed)


def _deliver(email):
    if current_app.config["MAIL_BACKEND"] == "log":
        log.info(
            "email to=%s subject=%r attachments=%s (MAIL_BACKEND=log; see /dev/outbox)\n%s",
            email.to_address,
            email.subject,
            [attachment["filename"] for attachment in email.attachments] or "none",
            email.text_body,
        )
        return
    mail.send(build_message(email))


def build_message(email):
    """The Flask-Mail message for a recorded email: text and HTML alternatives, its attachments,
    a Message-ID that is the same on every try, and one-click unsubscribe headers when it has them."""
    headers = {}
    if email.unsubscribe_url:
        # RFC 8058: mail clients offer "unsubscribe" and POST this body to the URL themselves.
        headers["List-Unsubscribe"] = f"<{email.unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message = Message(
        subject=mail_service.clean_subject(email.subject),  # recorded before subjects were cleaned
        recipients=[email.to_address],
        body=email.text_body,
        html=email.html_body,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
        extra_headers=headers,
    )
    message.msgId = mail_service.message_id(email)
    for attachment in email.attachments:
        message.attach(
            attachment["filename"], attachment["content_type"], mail_service.attachment_bytes(attachment)
        )
    return message


def dispatch_queued(limit=500):
    """Enqueue emails still queued (Redis was down, the process stopped before enqueuing, the
    worker sending it died, or it was held until now), except those a run is sending right now
    and those held until later."""
    from . import enqueue

    now = utcnow()
    ids = list(
        db.session.scalars(
            select(OutboundEmail.id)
            .where(
                OutboundEmail.status == EmailStatus.QUEUED.value,
                _unclaimed(now),
                or_(OutboundEmail.send_after.is_(None), OutboundEmail.send_after <= now),
            )
            .order_by(OutboundEmail.id)
            .limit(limit)
        )
    )
    for email_id in ids:
        if not enqueue("emails", send_email, email_id, job_id=f"email-{email_id}"):
            break
    return len(ids)
