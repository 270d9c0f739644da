"""Composing email: records are written in the caller's transaction and staged on the outbox,
which hands them to the `emails` queue once that transaction commits. Then the send job
(``tasks.email.send_email``) moves each record on through ``claim_to_send``, ``release_claim``
and ``mark_sent``, and the queued-email sweep finds the ones left behind with ``sendable_ids``."""

import base64
import enum
import re
from datetime import timedelta
from email.utils import parseaddr

from flask import current_app, render_template
from flask_babel.speaklater import LazyString
from sqlalchemy import or_, select, update

from .. import i18n
from ..extensions import db
from ..links import external_url, public_host
from ..models import EmailStatus, OutboundEmail, utcnow
from . import outbox
from .transactions import use_case

SUBJECT_LENGTH = 200  # OutboundEmail.subject
# After this many failed tries an email is marked failed and no sweep picks it up again.
MAX_ATTEMPTS = 8
# Control characters and line separators. A line break would end the Subject header, so the mail
# library refuses to send one; names and titles holding them are refused now, but older ones may
# be stored still, and one such name must not stop every email that carries it.
_SUBJECT_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def clean_subject(subject):
    """``subject`` as one line that fits the column: runs of control characters become a space."""
    return " ".join(_SUBJECT_BREAKS.sub(" ", subject).split())[:SUBJECT_LENGTH]


def as_text(value):
    """``value`` with every lazy translation in it (in dicts, lists and tuples too) made text in
    the language spoken now. Templates must get text: a lazy string is taken as safe markup and
    would reach the HTML unescaped."""
    if isinstance(value, LazyString):
        return str(value)
    if isinstance(value, dict):
        return {key: as_text(item) for key, item in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a named tuple: left as it is
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(as_text(item) for item in value)
    return value


def compose(user, template, subject, *, attachments=(), **context):
    """Render ``emails/<template>.txt`` and ``.html`` and record the message (not yet sent).

    ``subject`` may be a lazy translation (``flask_babel.lazy_gettext``): it and the templates are
    rendered in ``user``'s language. ``attachments`` are ``(filename, content_type, bytes)``. An
    ``unsubscribe_url`` in the context
    (non-transactional email) is shown in the footer and sent as the List-Unsubscribe header.
    """
    if user.id is None:
        db.session.flush()
    context.setdefault("user", user)
    context.setdefault("home_url", external_url("main.index"))
    # In the recipient's language, whoever's request caused the email: a lazily translated
    # subject or context value becomes text here.
    with i18n.for_user(user):
        subject = clean_subject(str(subject))
        context = as_text(context)
        text_body = render_template(f"emails/{template}.txt", subject=subject, **context)
        html_body = render_template(f"emails/{template}.html", subject=subject, **context)
    email = OutboundEmail(
        user_id=user.id,
        to_address=user.email,
        subject=subject,
        template=template,
        text_body=text_body,
        html_body=html_body,
        attachments=[
            {
                "filename": filename,
                "content_type": content_type,
                "data_b64": base64.b64encode(data).decode("ascii"),
            }
            for filename, content_type, data in attachments
        ],
        unsubscribe_url=context.get("unsubscribe_url") or "",
    )
    db.session.add(email)
    return outbox.stage(email)


def attachment_bytes(attachment):
    """The content of one stored attachment."""
    return base64.b64decode(attachment["data_b64"])


def message_id(email):
    """One Message-ID per recorded email, the same on every try, so a repeated send is recognisable
    as the same message (by the recipient's mail system, and in logs)."""
    _name, address = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"] or "")
    domain = address.rpartition("@")[2] or public_host() or "peerlearn"
    return f"<email-{email.id}@{domain}>"


# ---------------------------------------------------------------------------- delivery


class Claim(enum.StrEnum):
    """What ``claim_to_send`` made of a recorded email."""

    SEND = "send"  # claimed: this run sends it
    NOT_DUE = "not_due"  # missing, no longer queued, or held until later: nothing to do now
    GAVE_UP = "gave_up"  # tried MAX_ATTEMPTS times already: marked failed
    TAKEN = "taken"  # another run holds a fresh claim and sends it
    DROPPED = "dropped"  # refused (over a cap): marked dropped with its drop_reason


def _unclaimed(now):
    """No run holds a fresh claim on the email."""
    lapsed = now - timedelta(seconds=current_app.config["EMAIL_CLAIM_SECONDS"])
    return or_(OutboundEmail.claimed_at.is_(None), OutboundEmail.claimed_at < lapsed)


@use_case
def claim_to_send(email_id, *, refusal=None):
    """Claim a recorded email for this run to send: ``(email, Claim)``, the email None if there is
    no such row. Only ``Claim.SEND`` is to be sent, and then the caller must ``mark_sent`` it or,
    when sending fails, ``release_claim`` it.

    Of runs that overlap, only the one whose conditional update lands claims it; a claim lapses
    after ``EMAIL_CLAIM_SECONDS`` (its worker died), and the queued-email sweep enqueues it again.
    ``refusal(email, now)``, called in the claim's transaction before it commits, names why the
    email must not go (a ``DropReason``, ``notifications.cap_reason``: the caps count the claims
    committed before this one) and the email is dropped instead; it comes from the caller because
    this module sits below the notifications package, which composes through it."""
    email = db.session.get(OutboundEmail, email_id)
    if email is None or email.status != EmailStatus.QUEUED:
        return email, Claim.NOT_DUE
    if email.send_after is not None and email.send_after > utcnow():
        return email, Claim.NOT_DUE
    if email.attempts >= MAX_ATTEMPTS:
        email.status = EmailStatus.FAILED.value
        db.session.commit()
        return email, Claim.GAVE_UP
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
        return email, Claim.TAKEN
    over = refusal(email, now) if refusal is not None else None
    if over is not None:
        email.status = EmailStatus.DROPPED.value
        email.drop_reason = over.value
        email.claimed_at = None
    db.session.commit()
    return email, Claim.SEND if over is None else Claim.DROPPED


@use_case
def release_claim(email, error):
    """Sending ``email`` failed with ``error``: record it and let go of the claim, so the retry
    (or the sweep) can send it."""
    email.last_error = f"{type(error).__name__}: {error}"[:2000]
    email.claimed_at = None
    db.session.commit()


@use_case
def mark_sent(email_id):
    """``email_id`` went out. A conditional update: only the first successful run marks it sent."""
    db.session.execute(
        update(OutboundEmail)
        .where(OutboundEmail.id == email_id, OutboundEmail.status != EmailStatus.SENT.value)
        .values(status=EmailStatus.SENT.value, sent_at=utcnow(), last_error="")
    )
    db.session.commit()


def sendable_ids(limit):
    """Ids of emails still queued, oldest first, at most ``limit``: except those a run is sending
    right now (a fresh claim) and those held until later."""
    now = utcnow()
    return list(
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


# ---------------------------------------------------------------------------- the dev outbox


def recent_emails(limit=100):
    """The last ``limit`` recorded emails, newest first (the dev outbox page)."""
    return list(db.session.scalars(select(OutboundEmail).order_by(OutboundEmail.id.desc()).limit(limit)))


def recorded_email(email_id):
    """One recorded email, or None."""
    return db.session.get(OutboundEmail, email_id)
