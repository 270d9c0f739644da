"""Composing email: records are written in the caller's transaction and staged on the outbox,
which hands them to the `emails` queue once that transaction commits."""

import base64
import re
from email.utils import parseaddr

from flask import current_app, render_template

from ..extensions import db
from ..links import external_url, public_host
from ..models import OutboundEmail
from . import outbox

SUBJECT_LENGTH = 200  # OutboundEmail.subject
# Control characters and line separators. A line break would end the Subject header, so the mail
# library refuses to send one; names and titles holding them are refused now, but older ones may
# be stored still, and one such name must not stop every email that carries it.
_SUBJECT_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def clean_subject(subject):
    """``subject`` as one line that fits the column: runs of control characters become a space."""
    return " ".join(_SUBJECT_BREAKS.sub(" ", subject).split())[:SUBJECT_LENGTH]


def compose(user, template, subject, *, attachments=(), **context):
    """Render ``emails/<template>.txt`` and ``.html`` and record the message (not yet sent).

    ``attachments`` are ``(filename, content_type, bytes)``. An ``unsubscribe_url`` in the context
    (non-transactional email) is shown in the footer and sent as the List-Unsubscribe header.
    """
    if user.id is None:
        db.session.flush()
    subject = clean_subject(subject)
    context.setdefault("user", user)
    context.setdefault("home_url", external_url("main.index"))
    email = OutboundEmail(
        user_id=user.id,
        to_address=user.email,
        subject=subject,
        template=template,
        text_body=render_template(f"emails/{template}.txt", subject=subject, **context),
        html_body=render_template(f"emails/{template}.html", subject=subject, **context),
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
