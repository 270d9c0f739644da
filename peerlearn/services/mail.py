"""Composing email: records are written in the caller's transaction and staged on the outbox,
which hands them to the `emails` queue once that transaction commits."""

from flask import current_app, has_request_context, render_template, url_for

from ..extensions import db
from ..models import OutboundEmail
from . import outbox


def absolute_url(endpoint, **values):
    """A full link for emails, from PUBLIC_BASE_URL when set, else from the current request."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if has_request_context() and not base:
        return url_for(endpoint, _external=True, **values)
    with current_app.test_request_context(base_url=base or "http://127.0.0.1:5000"):
        return url_for(endpoint, _external=True, **values)


def compose(user, template, subject, **context):
    """Render ``emails/<template>.txt`` and ``.html`` and record the message (not yet sent)."""
    if user.id is None:
        db.session.flush()
    context.setdefault("user", user)
    context.setdefault("home_url", absolute_url("main.index"))
    email = OutboundEmail(
        user_id=user.id,
        to_address=user.email,
        subject=subject,
        template=template,
        text_body=render_template(f"emails/{template}.txt", subject=subject, **context),
        html_body=render_template(f"emails/{template}.html", subject=subject, **context),
    )
    db.session.add(email)
    return outbox.stage(email)


def dispatch(*_emails):
    """Hand committed emails on (see services.outbox); call after the commit that recorded them."""
    outbox.dispatch()
