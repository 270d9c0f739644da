"""Checks for socket payloads and per-user rate limits for socket events.

A socket event is untrusted input like a form post: it must be a JSON object of bounded size
whose keys have the expected types. Limits count per user (not per socket). With one server
process (no SOCKETIO_MESSAGE_QUEUE) every socket of a user is on it, so they count in its memory
(services.ratelimit.attempt_here), as they do when the limits' storage is memory anyway. With a
message queue a user's sockets may be on several processes, so they count in Flask-Limiter's
storage, Redis, where every process counts together (and in this process's memory while Redis is
unreachable; see services.ratelimit).
"""

import json
from functools import lru_cache

from flask import current_app
from flask_babel import lazy_gettext
from limits import parse

from ..exceptions import DomainError, RateLimited
from ..inputs import MAX_ID, NUL_MESSAGE, is_id
from ..services import ratelimit

MAX_PAYLOAD_BYTES = 64 * 1024
MAX_CHAT_LENGTH = 2000

# Events of one group share a counter. Override with the ROOM_RATE_LIMITS setting, a mapping of
# group to a limit string such as "200 per 10 seconds".
RATE_LIMITS = {
    "join": "20 per 10 seconds",
    "signal": "200 per 10 seconds",
    "chat": "10 per 10 seconds",
    "hand": "20 per 10 seconds",
    "media": "20 per 10 seconds",
    "control": "30 per 10 seconds",
    # The shared notes and whiteboard: a browser sends its edits at most every 100 ms or so, and
    # one stroke or one burst of typing is one update.
    "doc": "150 per 10 seconds",
}
# What a refusal says, in the member's language (a socket's events speak its user's saved choice).
RATE_LIMIT_MESSAGES = {
    "join": lazy_gettext("Too many attempts to join. Slow down and try again shortly."),
    "signal": lazy_gettext("Too many connection messages. Slow down and try again shortly."),
    "chat": lazy_gettext("Too many chat messages. Slow down and try again shortly."),
    "hand": lazy_gettext("Too many hand raises. Slow down and try again shortly."),
    "media": lazy_gettext("Too many camera and microphone changes. Slow down and try again shortly."),
    "control": lazy_gettext("Too many room controls at once. Slow down and try again shortly."),
    "doc": lazy_gettext("Too many changes at once. Slow down and try again shortly."),
}


class PayloadError(DomainError):
    status = 400
    code = "invalid_payload"


class Field:
    """One expected key: its Python type(s), whether it is required and extra checks."""

    def __init__(self, kind, *, required=True, choices=None, max_length=None, max_bytes=None):
        self.kind = kind
        self.required = required
        self.choices = choices
        self.max_length = max_length
        self.max_bytes = max_bytes

    def check(self, name, value):
        # bool is an int in Python; a flag is never accepted as an id, nor an id as a flag.
        if self.kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise PayloadError(f"'{name}' must be an integer.")
        # Every integer of the protocol is an id; a larger one would fail the query it reaches.
        if self.kind is int and not is_id(value):
            raise PayloadError(f"'{name}' must be an id: a whole number from 1 to {MAX_ID}.")
        if not isinstance(value, self.kind):
            raise PayloadError(f"'{name}' must be {_type_name(self.kind)}.")
        if self.kind is str and "\x00" in value:
            raise PayloadError(f"'{name}': {NUL_MESSAGE}")
        if self.choices is not None and value not in self.choices:
            raise PayloadError(f"'{name}' must be one of: {', '.join(sorted(self.choices))}.")
        if self.max_length is not None and len(value) > self.max_length:
            raise PayloadError(
                f"'{name}' is longer than {self.max_length} characters.", code="payload_too_large"
            )
        if self.max_bytes is not None and _json_size(value) > self.max_bytes:
            raise PayloadError(f"'{name}' is larger than {self.max_bytes} bytes.", code="payload_too_large")


def _type_name(kind):
    return {int: "an integer", str: "a string", bool: "true or false", dict: "an object"}.get(
        kind, kind.__name__
    )


def _json_size(value):
    try:
        return len(json.dumps(value, separators=(",", ":"), allow_nan=False).encode())
    except (TypeError, ValueError) as exc:
        raise PayloadError("The payload must be plain JSON.") from exc


def validate(payload, schema):
    """Return ``payload`` (a dict) after checking it against ``schema`` (name -> Field).

    Unknown keys are ignored; a missing required key, a wrong type or a payload over
    MAX_PAYLOAD_BYTES raises PayloadError.
    """
    if not isinstance(payload, dict):
        raise PayloadError("The payload must be an object.")
    if _json_size(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadError(f"The payload is larger than {MAX_PAYLOAD_BYTES} bytes.", code="payload_too_large")
    for name, field in schema.items():
        if name not in payload:
            if field.required:
                raise PayloadError(f"'{name}' is required.")
            continue
        field.check(name, payload[name])
    return payload


@lru_cache(maxsize=64)
def _parsed(limit):
    return parse(limit)


def rate_limit(group, user_id):
    """Count one event of ``group`` by ``user_id``; raise RateLimited when over the limit."""
    config = current_app.config
    if not config.get("RATELIMIT_ENABLED", True):
        return
    item = _parsed(config.get("ROOM_RATE_LIMITS", {}).get(group, RATE_LIMITS[group]))
    shared = config.get("SOCKETIO_MESSAGE_QUEUE") and ratelimit.storage_is_shared()
    count = ratelimit.attempt if shared else ratelimit.attempt_here
    retry_after = count(item, "room", group, str(user_id))
    if retry_after is None:
        return
    raise RateLimited(str(RATE_LIMIT_MESSAGES[group]), retry_after=retry_after)
