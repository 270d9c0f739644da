"""The email that goes with a notification, and the rules that keep social email in proportion
(docs/notifications.md#email-caps): a repeat within ``REPEAT_WINDOW`` sends nothing, an email about
something undone in time is dropped, and ``cap_reason()`` counts, when an email is about to be
sent, what the recipient was sent in the last hour, in all and from the same sender.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, or_, select, update

from ...exceptions import ValidationError
from ...extensions import db
from ...models import (
    User,
    utcnow,
)
from ...models.email import DropReason, EmailStatus, OutboundEmail
from ...models.notification import CAPPED_EMAIL_KINDS
from .preferences import read_unsubscribe_token

# A repeat of the same thing (the same person following again) within this long tells no one again.
REPEAT_WINDOW = timedelta(hours=24)
CAP_WINDOW = timedelta(hours=1)


@dataclass
class Email:
    """The email that goes with a notification: a template under templates/emails/ and its context."""

    template: str
    subject: str
    context: dict = field(default_factory=dict)
    attachments: list = field(default_factory=list)  # [(filename, content_type, bytes)]


def label_email(message, kind, *, sender=None, collapse_key=None, now=None):
    """Mark a composed email with what the caps and ``retract()`` go by."""
    message.kind = str(kind)
    message.sender_id = getattr(sender, "id", sender)
    message.collapse_key = collapse_key
    if collapse_key:
        hold = current_app.config["EMAIL_HOLD_SECONDS"]
        message.send_after = (now or utcnow()) + timedelta(seconds=hold) if hold > 0 else None
    return message


def recent_email(user_id, collapse_key, now):
    """Whether an email about ``collapse_key`` is waiting to go, or went in the repeat window."""
    return (
        db.session.scalar(
            select(OutboundEmail.id)
            .where(
                OutboundEmail.user_id == user_id,
                OutboundEmail.collapse_key == collapse_key,
                or_(
                    OutboundEmail.status == EmailStatus.QUEUED.value,
                    (OutboundEmail.status == EmailStatus.SENT.value)
                    & (OutboundEmail.created_at >= now - REPEAT_WINDOW),
                ),
            )
            .limit(1)
        )
        is not None
    )


def drop_waiting_email(user_id, collapse_key, reason):
    """In the caller's transaction: emails about ``collapse_key`` still waiting to go (no send job
    holds them) are dropped for ``reason``. Returns how many."""
    return db.session.execute(
        update(OutboundEmail)
        .where(
            OutboundEmail.user_id == user_id,
            OutboundEmail.collapse_key == collapse_key,
            OutboundEmail.status == EmailStatus.QUEUED.value,
            OutboundEmail.claimed_at.is_(None),
        )
        .values(status=EmailStatus.DROPPED.value, drop_reason=DropReason(reason).value)
        .execution_options(synchronize_session=False)
    ).rowcount


def _sent_within_hour(email, now):
    """Capped-kind emails to ``email``'s recipient claimed for sending in the last hour (sent, or
    being sent now), other than ``email`` itself."""
    return select(func.count(OutboundEmail.id)).where(
        OutboundEmail.user_id == email.user_id,
        OutboundEmail.id != email.id,
        OutboundEmail.kind.in_([kind.value for kind in CAPPED_EMAIL_KINDS]),
        OutboundEmail.status.in_([EmailStatus.QUEUED.value, EmailStatus.SENT.value]),
        OutboundEmail.claimed_at >= now - CAP_WINDOW,
    )


def cap_reason(email, now):
    """Why ``email`` must not be sent now (a ``DropReason``), or None. Called by the send job in
    the transaction that claims the email, before that commits: the recipient's row is locked
    (PostgreSQL; SQLite has one writer at a time, and the claim made this transaction it), so
    send jobs for one recipient on any number of workers count one after another, each seeing
    the claims committed before it."""
    if email.user_id is None or email.kind not in CAPPED_EMAIL_KINDS:
        return None
    config = current_app.config
    per_sender = config["EMAIL_CAP_PER_SENDER_PER_HOUR"]
    per_recipient = config["EMAIL_CAP_PER_RECIPIENT_PER_HOUR"]
    if per_sender <= 0 and per_recipient <= 0:
        return None
    db.session.execute(
        select(User.id).where(User.id == email.user_id).with_for_update(key_share=True)  # FOR NO KEY UPDATE
    )
    sent = _sent_within_hour(email, now)
    from_sender = sent.where(OutboundEmail.sender_id == email.sender_id)
    if per_sender > 0 and email.sender_id is not None and db.session.scalar(from_sender) >= per_sender:
        return DropReason.SENDER_CAP
    if per_recipient > 0 and db.session.scalar(sent) >= per_recipient:
        return DropReason.RECIPIENT_CAP
    return None


def unsubscriber(token):
    """``(user, kind)`` for an email's signed unsubscribe link, or None when the link was not made
    here or the person it names is gone (anyone may follow the link, signed in or not)."""
    try:
        user_id, kind = read_unsubscribe_token(token)
    except ValidationError:
        return None
    user = db.session.get(User, user_id)
    return (user, kind) if user is not None else None
