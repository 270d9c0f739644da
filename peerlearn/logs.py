"""Log lines that say which request they belong to, as text or JSON, and errors to Sentry.

Every request has an id: the X-Request-ID nginx sends (its ``$request_id``) when it is a sane
token, otherwise one made here. It is echoed in the response's X-Request-ID, so the access logs of
nginx and gunicorn show it too, and every log record carries it as ``request_id``:

- during a request: the id kept in its WSGI environ. Engine.IO keeps the environ of the request
  that connected a socket, so the socket's events find it there too;
- during a socket event: the connecting request's id and the event's number on that socket,
  ``<id>.<n>`` (``begin_socket_event``); connect and disconnect carry the connecting id itself;
- during a job: the id of the request (or socket event) that enqueued it, kept in the job's meta
  (``peerlearn.tasks.enqueue``) and set by the worker while the job runs; a job enqueued outside
  any request (cron, a command) logs with its own job id.

Outside a request the id lives in a context variable: gevent gives each greenlet, and threading
each thread, its own, so concurrent requests and jobs never see each other's.

LOG_FORMAT=text (the default) keeps the readable one-line format; LOG_FORMAT=json writes one JSON
object per line. SENTRY_DSN set sends errors to Sentry, tagged with the request id; sentry-sdk is
imported only then.
"""

import itertools
import json
import logging
import re
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from flask import has_request_context, request

HEADER = "X-Request-ID"
ENVIRON_KEY = "peerlearn.request_id"
_EVENT_COUNTER_KEY = "peerlearn.socket_events"
_SANE = re.compile(r"[A-Za-z0-9._-]{1,64}")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# The id outside a request's context: a job's, or a request's before Flask has pushed its context
# (the WSGI middleware around the app logs too).
_current = ContextVar("peerlearn_request_id", default=None)


def new_request_id():
    return uuid.uuid4().hex


def sane_or_new(candidate):
    """``candidate`` when it is up to 64 of [A-Za-z0-9._-] (what goes into every log line must
    not break one), else a new id."""
    if candidate and _SANE.fullmatch(candidate):
        return candidate
    return new_request_id()


def current_request_id():
    """The id of the request, socket event or job this code runs for; None outside all three."""
    if has_request_context():
        event_id = request.__dict__.get("peerlearn_event_id")
        if event_id is not None:
            return event_id
        return _environ_id(request.environ)
    return _current.get()


def _environ_id(environ):
    """The id RequestIds gave this environ. One that did not pass through it (a test client's
    socket) gets one here, by the same rule, kept for the socket's later events."""
    request_id = environ.get(ENVIRON_KEY)
    if request_id is None:
        request_id = environ.setdefault(ENVIRON_KEY, sane_or_new(environ.get("HTTP_X_REQUEST_ID")))
    return request_id


def begin_socket_event():
    """Number this socket event: its log records carry ``<connecting request's id>.<n>``, n
    counting the socket's events from 1 (one socket's events run one after another)."""
    environ = request.environ
    counter = environ.setdefault(_EVENT_COUNTER_KEY, itertools.count(1))
    request.peerlearn_event_id = f"{_environ_id(environ)}.{next(counter)}"
    return request.peerlearn_event_id


@contextmanager
def request_id_set(request_id):
    """Log with ``request_id`` for the duration (a job's run, work after a response)."""
    token = _current.set(request_id)
    try:
        yield request_id
    finally:
        _current.reset(token)


class RequestIds:
    """WSGI middleware: give the request its id and echo it in the response's X-Request-ID."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        request_id = _environ_id(environ)

        def start_with_id(status, headers, exc_info=None):
            headers = [(name, value) for name, value in headers if name.lower() != "x-request-id"]
            headers.append((HEADER, request_id))
            return start_response(status, headers, exc_info)

        with request_id_set(request_id):
            return self.wsgi_app(environ, start_with_id)


class RequestIdFilter(logging.Filter):
    """Set ``record.request_id`` (None outside requests and jobs) unless ``extra`` named one."""

    def filter(self, record):
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        return True


# What every LogRecord has: anything else on a record came from ``extra=``.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id,
    exc_info (the formatted traceback) when there is one, and the fields given with ``extra=``."""

    def format(self, record):
        entry = {key: value for key, value in vars(record).items() if key not in _RECORD_FIELDS}
        entry.update(
            time=datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            level=record.levelname,
            logger=record.name,
            message=record.getMessage(),
            request_id=getattr(record, "request_id", None),
        )
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        # default=str: an extra field that JSON cannot hold is written as its str().
        return json.dumps(entry, default=str, ensure_ascii=False)


def formatter(log_format):
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def init_app(app):
    """Wrap the app's WSGI callable, outside every other middleware (the Socket.IO endpoint's
    included), so everything that handles the request sees its id."""
    app.wsgi_app = RequestIds(app.wsgi_app)


def init_sentry(app):
    """Send errors to SENTRY_DSN (from views, jobs and ERROR log records), tagged with the
    request id. No personal data: no cookies, client addresses, request bodies or local
    variables of the failing frames, which may hold names, emails or messages; and log records
    go as their template without its arguments ("giving up on email %s to %s"): the request id
    finds the whole line in the log."""
    dsn = app.config["SENTRY_DSN"]
    if not dsn:
        return
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration
    from sentry_sdk.integrations.rq import RqIntegration

    sentry_sdk.init(
        dsn=dsn,
        integrations=[FlaskIntegration(), RqIntegration()],
        environment=app.config["ENV_NAME"],
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,
        before_send=_before_send,
        before_breadcrumb=_before_breadcrumb,
    )


def _before_send(event, _hint):
    request_id = current_request_id()
    if request_id is not None:
        event.setdefault("tags", {})["request_id"] = request_id
    entry = event.get("logentry")
    if entry:
        entry["formatted"] = entry.get("message")
        entry["params"] = []
    return event


def _before_breadcrumb(crumb, hint):
    record = (hint or {}).get("log_record")
    if record is not None:
        crumb["message"] = str(record.msg)
    return crumb
