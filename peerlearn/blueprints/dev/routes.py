from flask import Response, abort, render_template

from ...services import mail
from . import bp


@bp.get("/outbox")
def outbox():
    return render_template("dev/outbox.html", emails=mail.recent_emails(limit=100))


@bp.get("/outbox/<int:email_id>")
def outbox_email(email_id):
    email = mail.recorded_email(email_id)
    if email is None:
        abort(404)
    return render_template("dev/outbox_email.html", email=email)


@bp.get("/outbox/<int:email_id>/html")
def outbox_email_html(email_id):
    email = mail.recorded_email(email_id)
    if email is None:
        abort(404)
    # Shown inside a sandboxed iframe on the message page.
    return (
        email.html_body,
        200,
        {
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": (
                "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
            ),
        },
    )


@bp.get("/outbox/<int:email_id>/attachments/<int:index>")
def outbox_attachment(email_id, index):
    email = mail.recorded_email(email_id)
    if email is None or not 0 <= index < len(email.attachments):
        abort(404)
    attachment = email.attachments[index]
    return Response(
        mail.attachment_bytes(attachment),
        mimetype=attachment["content_type"],
        headers={"Content-Disposition": f'attachment; filename="{attachment["filename"]}"'},
    )


@bp.before_request
def loopback_only():
    # The outbox shows live sign-in and reset links: never to anyone but this machine.
    from flask import request

    if request.remote_addr not in {"127.0.0.1", "::1"}:
        abort(404)
