"""Pushing events to Socket.IO rooms from services, in any process.

Every process that built the app (a web server, an RQ worker, a CLI command) has the SocketIO
server object. With SOCKETIO_MESSAGE_QUEUE set, its emits are published on the queue's
SOCKETIO_CHANNEL and each server process delivers them to its own sockets; a worker only
publishes (its queue listener would start with a first client, which never comes).

Room names: ``user:<id>`` for everything addressed to a person, ``session:<id>`` for a session's
live room, ``auth:<auth_session_id>`` for the sockets opened under one sign-in (so signing out
closes exactly those).

Ended sign-ins. Each socket keeps the identity it signed in with (sockets/auth.py), so a sign-in
that ends must reach every process holding its sockets. ``end_auth_sessions`` acts on this
process at once and, with a message queue, publishes the ended ids on ``<SOCKETIO_CHANNEL>:signed-out``
in the same Redis. Every server process subscribes to it before its first socket connects
(``listen_for_sign_outs``), and on a notice drops those identities and disconnects their sockets.
Socket.IO's own queue cannot carry this: it forwards the disconnection of one known sid, and a
room's members are known only to the process holding them (``close_room`` only makes them leave
the room, connected). Redis pub/sub keeps nothing for a subscriber that is away, so whenever the
listener has to subscribe again, every identity of the process is checked against the database at
its socket's next event.
"""

import json
import logging
import threading

from ..extensions import socketio

log = logging.getLogger(__name__)

# What must forget ended sign-ins in this process (the sockets' identities register themselves
# here, so that this module needs nothing from the socket handlers).
_sign_out_listeners = []
_lost_notice_listeners = []


def when_signed_out(listener):
    """Call ``listener(auth_session_ids)`` whenever sign-ins end. Registering twice is harmless."""
    if listener not in _sign_out_listeners:
        _sign_out_listeners.append(listener)


def when_notices_may_be_lost(listener):
    """Call ``listener()`` when sign-out notices from other processes may have been missed."""
    if listener not in _lost_notice_listeners:
        _lost_notice_listeners.append(listener)


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
    """Tell and disconnect the sockets of ended sign-ins, on every process.

    Their clients receive ``session_ended`` (through the message queue, on every process); this
    process drops their identities and disconnects them now, and publishes the ids for the other
    processes to do the same (see the module docstring).
    """
    auth_session_ids = list(auth_session_ids)
    if socketio.server is None or not auth_session_ids:
        return
    for session_id in auth_session_ids:
        emit("session_ended", {"reason": "signed_out"}, room=auth_room(session_id))
    _publish_sign_outs(auth_session_ids)
    _end_here(auth_session_ids)


def _end_here(auth_session_ids):
    """Drop this process's identities of these sign-ins and disconnect their sockets."""
    for listener in _sign_out_listeners:
        listener(auth_session_ids)
    server = socketio.server
    for session_id in auth_session_ids:
        room = auth_room(session_id)
        try:
            sids = [sid for sid, _eio_sid in server.manager.get_participants("/", room)]
        except Exception:
            log.exception("could not list sockets in %s", room)
            continue
        for sid in sids:
            server.disconnect(sid, namespace="/")


def notices_may_have_been_lost():
    """Whatever was published while this process was not listening is gone: every socket's
    sign-in is read again at its next event."""
    for listener in _lost_notice_listeners:
        listener()


def _notice_channel(app):
    return f"{app.config['SOCKETIO_CHANNEL']}:signed-out"


def _publish_sign_outs(auth_session_ids):
    from flask import current_app

    url = current_app.config.get("SOCKETIO_MESSAGE_QUEUE")
    if not url:
        return
    try:
        _publisher(url).publish(_notice_channel(current_app), json.dumps(auth_session_ids))
    except Exception:  # the sign-out is committed; the other processes' sockets are refused
        # at their next check (see listen_for_sign_outs) once the listener reconnects.
        log.exception("could not publish the end of sign-ins %s", auth_session_ids)


_publishers = {}
_publishers_lock = threading.Lock()


def _publisher(url):
    with _publishers_lock:
        client = _publishers.get(url)
        if client is None:
            from redis import Redis

            client = _publishers[url] = Redis.from_url(url, health_check_interval=30)
    return client


class _SignOutListener:
    """This process's subscription to ended sign-ins: subscribed before it returns, then read by
    a background task of the Socket.IO server's async mode."""

    RETRY_SECONDS = 1

    def __init__(self, app):
        from redis import Redis

        self.app = app
        self.channel = _notice_channel(app)
        self.client = Redis.from_url(app.config["SOCKETIO_MESSAGE_QUEUE"], health_check_interval=30)
        self.pubsub = self._subscribe()
        socketio.start_background_task(self._run)

    def _subscribe(self):
        pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(self.channel)
        return pubsub

    def _run(self):
        while True:
            try:
                for message in self.pubsub.listen():
                    if message.get("type") == "message":
                        self._received(message["data"])
            except Exception:
                log.warning("lost the sign-out notices' subscription; subscribing again", exc_info=True)
            socketio.sleep(self.RETRY_SECONDS)
            try:
                self.pubsub.close()
                self.pubsub = self._subscribe()
            except Exception:
                log.warning("could not subscribe to sign-out notices yet", exc_info=True)
                continue
            notices_may_have_been_lost()

    def _received(self, data):
        try:
            ids = [int(item) for item in json.loads(data)]
        except (TypeError, ValueError):
            log.warning("ignored a malformed sign-out notice: %r", data[:200])
            return
        with self.app.app_context():
            _end_here(ids)


_listener_lock = threading.Lock()


def listen_for_sign_outs(app):
    """Subscribe this process to other processes' ended sign-ins, once per app (a no-op without
    a message queue). Called as a socket connects, before its identity is kept."""
    if not app.config.get("SOCKETIO_MESSAGE_QUEUE") or "peerlearn_sign_outs" in app.extensions:
        return
    with _listener_lock:
        if "peerlearn_sign_outs" not in app.extensions:
            app.extensions["peerlearn_sign_outs"] = _SignOutListener(app)
