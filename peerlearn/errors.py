"""One place that turns errors into responses: JSON for the API, HTML pages for browsers."""

import logging

from flask import render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from .api_envelope import error_response
from .exceptions import DomainError, RateLimited
from .extensions import db

log = logging.getLogger(__name__)

# Read lazily: each error page speaks the language of its request.
TITLES = {
    400: _l("Bad request"),
    401: _l("Please log in"),
    403: _l("You don't have access to this page"),
    404: _l("Page not found"),
    405: _l("Method not allowed"),
    409: _l("Conflict"),
    413: _l("File too large"),
    422: _l("Check your input"),
    429: _l("Slow down"),
    500: _l("Something went wrong"),
}

MESSAGES = {
    400: _l("The request could not be understood."),
    403: _l("Your account doesn't have permission to do this."),
    404: _l("We couldn't find what you were looking for. It may have moved or never existed."),
    405: _l("This address doesn't accept that kind of request."),
    413: _l("The upload is larger than we accept (5 MB for images)."),
    429: _l("Too many requests in a short time. Please wait a moment and try again."),
    500: _l("An unexpected error happened on our side. It has been logged; please try again."),
}


def _is_api():
    return request.path.startswith("/api/")


def _code_name(exc):
    return (exc.name or "error").lower().replace(" ", "_").replace("'", "")


def render_error(status, message=None, code=None, fields=None, headers=None):
    message = str(message or MESSAGES.get(status) or TITLES.get(status) or _("Error"))
    if _is_api():
        return error_response(status, code or "error", message, fields, headers)
    html = render_template(
        "errors/error.html", code=status, title=str(TITLES.get(status) or _("Error")), message=message
    )
    return html, status, headers or {}


def init_app(app):
    @app.errorhandler(DomainError)
    def handle_domain_error(exc):
        db.session.rollback()
        headers = {}
        if isinstance(exc, RateLimited) and exc.retry_after:
            headers["Retry-After"] = str(exc.retry_after)
        return render_error(exc.status, exc.message, exc.code, exc.fields, headers)

    @app.errorhandler(CSRFError)
    def handle_csrf_error(exc):
        return render_error(
            400,
            _(
                "Your form expired or came from another site (missing or invalid CSRF token). "
                "Reload the page and try again."
            ),
            "csrf_failed",
        )

    @app.errorhandler(HTTPException)
    def handle_http_error(exc):
        message = None
        if exc.code == 400 and _is_api() and "JSON" in (exc.description or ""):
            message = _("The request body is not valid JSON.")
        elif exc.code not in MESSAGES and exc.description:
            message = exc.description
        headers = {}
        if exc.code == 405 and getattr(exc, "valid_methods", None):
            headers["Allow"] = ", ".join(exc.valid_methods)
        if exc.code == 429 and getattr(exc, "retry_after", None):
            headers["Retry-After"] = str(exc.retry_after)
        return render_error(exc.code or 500, message, _code_name(exc), None, headers)

    @app.errorhandler(Exception)
    def handle_unexpected(exc):
        if isinstance(exc, HTTPException):
            return handle_http_error(exc)
        db.session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(500, code="internal_error")

    app.register_error_handler(InternalServerError, lambda exc: render_error(500, code="internal_error"))
