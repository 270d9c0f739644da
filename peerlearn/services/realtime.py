"""Pushing events to Socket.IO rooms from services, in any process.

Every process that built the app (a web server, an RQ worker, a CLI command) has the SocketIO
server object. With SOCKETIO_MESSAGE_QUEUE set, its emits are published on the queue's
SOCKETIO_CHANNEL and each server process delivers them to its own sockets; a worker only
publishes (its queue listener would start with a first client, which never comes).

Room names: ``user:<id>`` for everything addressed to a person, ``session:<id>`` for a session's
live room, ``auth:<auth_session_id>`` for the sockets opened under one sign-in (so signing out
closes exactly those).
"""

import logging

from ..extensions import socketio

log = logging.getLogger(__name__)

# What must forget ended sign-ins in this process (the sockets' cache of recent sign-ins registers
# itself here, so that this module needs nothing from the socket handlers).
_sign_out_listeners = []


def when_signed_out(listener):
    """Call ``listener(auth_session_ids)`` whenever sign-ins end. Registering twice is harmless."""
    if listener not in _sign_out_listeners:
        _sign_out_listeners.append(listener)


def user_room(user_id):
    return f"user:{user_id}"


def session_room(session_id):
    """Every socket in a session's live room."""
    return f"session:{session_id}"


def auth_room(auth_session_id):
    return f"auth:{auth_session_id}"


def emit(event, payload, *, room):
    """Emit without letting a message-queue outage fail the caller's use case."""
    if socketio.server is None:
        return False
    try:
        socketio.emit(event, payload, to=room)
    except Exception:  # the queue being down must not undo a committed change
        log.exception("could not emit %s to %s", event, room)
        return False
    return True


def end_auth_sessions(auth_session_ids):
    """Tell and disconnect the sockets of ended sign-ins.

    Sockets on this process are disconnected now; every process's clients also receive
    ``session_ended`` through the message queue, and each socket event re-checks its sign-in.
    """
    if socketio.server is None:
        return
    for listener in _sign_out_listeners:
        listener(auth_session_ids)
    for session_id in auth_session_ids:
        room = auth_room(session_id)
        emit("session_ended", {"reason": "signed_out"}, room=room)
        try:
            sids = [sid for sid, _eio_sid in socketio.server.manager.get_participants("/", room)]
        except Exception:
            log.exception("could not list sockets in %s", room)
            continue
        for sid in sids:
            socketio.server.disconnect(sid, namespace="/")
