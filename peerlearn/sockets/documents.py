"""The room's shared notes and whiteboard over the room's own socket: Yjs sync (docs/realtime.md).

- ``doc:sync`` {session_id, state_vector}: the browser's Yjs state vector; the ack carries what
  the server has that the browser lacks (``update``), the server's state vector (the browser
  answers with a ``doc:update`` of what the server lacks), ``can_edit`` and
  ``learners_may_edit``. Sent on opening the panel and after every reconnect.
- ``doc:update`` {session_id, update}: a binary Yjs update, merged into the stored document
  (services/room_documents.py) and sent on to everyone else in the room as ``doc:update``.
  Refused whole (a negative ack) from someone who may only read.
- ``doc:access`` {session_id, learners_may_edit}: the mentor's toggle; the room hears
  ``doc:access``.

The updates are binary (Socket.IO attachments), so these events are checked here rather than by
``room_event``, whose schema is for JSON: the same sign-in, membership, rate limit and error
answer, with the binary field's type and size checked before anything else.
"""

import logging
from functools import wraps

from flask import request
from flask_babel import gettext as _
from flask_socketio import emit
from redis.exceptions import RedisError

from ..exceptions import DomainError, PermissionDenied
from ..services import room_documents
from ..services.realtime import session_room
from .auth import authenticated_only, load_user
from .room import presence
from .validation import Field, PayloadError, rate_limit, validate

log = logging.getLogger(__name__)


def _binary(payload, name, limit):
    value = payload.get(name) if isinstance(payload, dict) else None
    if not isinstance(value, bytes | bytearray):
        raise PayloadError(f"'{name}' must be binary.")
    if len(value) > limit:
        raise room_documents.DocumentTooLarge(
            f"'{name}' is larger than {limit // 1024} KB.", code="update_too_large"
        )
    return bytes(value)


def document_event(name, schema, *, binary=None):
    """Wrap ``handler(user, payload)`` like room_event: sign-in, rate limit, the JSON fields'
    schema, the binary field (``binary``: (name, max bytes)), membership of the room, the whole
    User; refusals as a negative ack."""

    def decorate(handler):
        @wraps(handler)
        def wrapped(identity, payload=None, *_extra):
            try:
                rate_limit("doc", identity.user_id)
                if binary is not None:
                    data = _binary(payload, *binary)
                    payload = {key: value for key, value in payload.items() if key != binary[0]}
                validate(payload, schema)
                if binary is not None:
                    payload[binary[0]] = data
                session_id = payload["session_id"]
                if not presence().is_member(session_id, identity.user_id, request.sid):
                    raise PermissionDenied(_("Join the room first."), code="not_in_room")
                user = load_user(identity)
                if user is None:
                    return None
                result = handler(user, payload)
            except DomainError as exc:
                error = {"code": exc.code, "message": exc.message}
                if getattr(exc, "retry_after", None):
                    error["retry_after"] = exc.retry_after
            except RedisError:
                log.warning("document event %s refused: Redis is unreachable", name, exc_info=True)
                error = {
                    "code": "unavailable",
                    "message": _("The room can't be reached right now. Try again shortly."),
                }
            else:
                return {"ok": True, **(result or {})}
            # Only the ack, no ``error`` event: the panel shows its own state (read only,
            # offline), and retries a sync that came before the room's rejoin.
            return {"ok": False, "error": error}

        checked = authenticated_only(wrapped)
        checked.event_name = name
        return checked

    return decorate


def _schema(**extra):
    return {"session_id": Field(int), **{key: Field(kind) for key, kind in extra.items()}}


@document_event("doc:sync", _schema(), binary=("state_vector", room_documents.MAX_STATE_VECTOR_BYTES))
def on_sync(user, payload):
    return room_documents.sync(user, payload["session_id"], payload["state_vector"])


@document_event("doc:update", _schema(), binary=("update", room_documents.MAX_UPDATE_BYTES))
def on_update(user, payload):
    session_id = payload["session_id"]
    version = room_documents.apply_update(user, session_id, payload["update"])
    emit(
        "doc:update",
        {"session_id": session_id, "update": payload["update"]},
        to=session_room(session_id),
        include_self=False,
    )
    return {"version": version}


@document_event("doc:access", _schema(learners_may_edit=bool))
def on_access(user, payload):
    session_id = payload["session_id"]
    allowed = room_documents.set_learners_may_edit(user, session_id, payload["learners_may_edit"])
    emit("doc:access", {"session_id": session_id, "learners_may_edit": allowed}, to=session_room(session_id))
    return {"learners_may_edit": allowed}


HANDLERS = (on_sync, on_update, on_access)


def register(socketio):
    for handler in HANDLERS:
        socketio.on_event(handler.event_name, handler)
