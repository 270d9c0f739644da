"""Email jobs. They take ids, never ORM objects, and are safe to run twice."""

import logging

from flask import current_app
from flask_mail import Message

from ..extensions import mail
from ..services import mail as mail_service
from ..services import notifications
from ..services.mail import Claim

log = logging.getLogger(__name__)


def send_email(email_id):
    """Send one recorded email unless it has already gone out, has failed for good or been
    dropped, is held until later (``send_after``: the queued-email sweep sends it then), or another
    run holds a fresh claim on it (that run sends it; if its worker died, the claim lapses and the
    queued-email sweep enqueues it again). A social email over an hourly cap is dropped instead of
    sent (``notifications.cap_reason``). The record's states are ``services.mail``'s to change."""
    email, claim = mail_service.claim_to_send(email_id, refusal=notifications.cap_reason)
    if claim is Claim.GAVE_UP:
        log.error("giving up on email %s to %s after %s attempts", email.id, email.to_address, email.attempts)
    elif claim is Claim.TAKEN:
        log.info("email %s is claimed by another run; not sending it again", email_id)
    elif claim is Claim.DROPPED:
        log.info("email %s to user %s dropped: %s", email.id, email.user_id, email.drop_reason)
    if claim is not Claim.SEND:
        return
    try:
        _deliver(email)
    except Exception as exc:
        mail_service.release_claim(email, exc)
        raise
    mail_service.mark_sent(email_id)


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

    ids = mail_service.sendable_ids(limit)
    for email_id in ids:
        if not enqueue("emails", send_email, email_id, job_id=f"email-{email_id}"):
            break
    return len(ids)
