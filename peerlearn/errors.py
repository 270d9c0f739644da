"""One place that turns errors into responses: JSON for the API, HTML pages for browsers."""

import logging

from flask import render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from .api_envelope import error_response
from .exceptions import DomainError, RateLimited
from .extensions import db

log = logging.getLogger(__name__)

TITLES = {
    400: "Bad request",
    401: "Please log in",
    403: "You don't have access to this page",
    404: "Page not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "File too large",
    422: "Check your input",
    429: "Slow down",
    500: "Something went wrong",
}

MESSAGES = {
    400: "The request could not be understood.",
    403: "Your account doesn't have permission to do this.",
    404: "We couldn't find what you were looking for. It may have moved or never existed.",
    405: "This address doesn't accept that kind of request.",
    413: "The upload is larger than we accept (5 MB for images).",
    429: "Too many requests in a short time. Please wait a moment and try again.",
    500: "An unexpected error happened on our side. It has been logged; please try again.",
}


def _is_api():
    return request.path.startswith("/api/")


def _code_name(exc):
    return (exc.name or "error").lower().replace(" ", "_").replace("'", "")


def render_error(status, message=None, code=None, fields=None, headers=None):
    message = message or MESSAGES.get(status) or TITLES.get(status, "Error")
    if _is_api():
        return error_response(status, code or "error", message, fields, headers)
    html = render_template(
        "errors/error.html", code=status, title=TITLES.get(status, "Error"), message=message
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
            "Your form expired or came from another site (missing or invalid CSRF token). "
            "Reload the page and try again.",
            "csrf_failed",
        )

    @app.errorhandler(HTTPException)
    def handle_http_error(exc):
        message = None
        if exc.code == 400 and _is_api() and "JSON" in (exc.description or ""):
            message = "The request body is not valid JSON."
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
