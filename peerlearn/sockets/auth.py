"""Who is behind each socket: checked once at connect, then kept with the socket.

The Flask session a socket sees is a copy taken at connect, and a room relays many small events a
second, so the sign-in is read from the database once, when the socket connects, and an
``Identity`` (user id, name, role, capabilities, the sign-in's id and expiry) is kept for that
socket in this process's memory. Events read it from there: a signal, a chat line or a raised
hand costs no database work to know who sent it. Handlers that need the whole ``User`` for their
own work (joining, the mentor's controls, ending the session) load it by id.

The identity goes when the socket disconnects, when its sign-in expires, and when the sign-in
ends: signing out, being signed out everywhere or being suspended all pass through
services.realtime.end_auth_sessions, which drops the identities and disconnects the sockets of
those sign-ins on this process at once and, with a message queue, publishes the same notice to
every other server process (see services.realtime). Should that notice be missed (the listener
lost Redis for a moment), every identity of the process is checked again against the database at
its socket's next event.

SOCKET_AUTH_RECHECK_SECONDS set to 0 reads the sign-in record on every event instead.
"""

import threading
import time
from dataclasses import dataclass
from datetime import UTC
from functools import wraps

from flask import current_app, request, session
from flask_login import current_user
from flask_socketio import disconnect

from ..extensions import db
from ..logs import begin_socket_event
from ..models import AuthKind, User
from ..services import auth, realtime

clock = time.time  # the sign-in's expiry is wall-clock time


@dataclass(frozen=True, slots=True)
class Identity:
    """The person behind a socket, as their sign-in showed them at connect."""

    user_id: int
    name: str
    role: str
    capabilities: tuple
    auth_session_id: int
    expires_at: float  # seconds since the epoch

    @property
    def id(self):
        return self.user_id

    # What services ask of a signed-in person (room.entry_refusal): an identity exists only for
    # an active sign-in, and goes when it ends or the account is suspended.
    is_authenticated = True
    is_active = True

    @classmethod
    def of(cls, user):
        auth_session = user.current_auth_session
        return cls(
            user_id=user.id,
            name=user.name,
            role=user.role.value,
            capabilities=tuple(user.capabilities),
            auth_session_id=auth_session.id,
            expires_at=_aware(auth_session.expires_at).timestamp(),
        )


def _aware(moment):
    # SQLite hands back naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class Identities:
    """sid -> Identity for this process's sockets. A socket marked stale is checked against the
    database at its next event."""

    # A sign-in ended while a socket of it was connecting (its record read just before the end)
    # must not be kept after the notice has passed: ended ids are remembered this long.
    ENDED_MEMORY_SECONDS = 120

    def __init__(self):
        self._lock = threading.Lock()
        self._by_sid = {}
        self._stale = set()
        self._ended = {}  # auth session id -> when its end was heard (time.monotonic)

    def keep(self, sid, identity, read_at):
        """Keep ``identity``, read from the database at ``read_at`` (time.monotonic), for
        ``sid``; False if its sign-in was ended since."""
        with self._lock:
            if self._ended.get(identity.auth_session_id, float("-inf")) >= read_at:
                self._by_sid.pop(sid, None)
                return False
            self._by_sid[sid] = identity
            self._stale.discard(sid)
        return True

    def get(self, sid):
        """(identity, stale) for ``sid``; identity is None when the socket has none."""
        with self._lock:
            return self._by_sid.get(sid), sid in self._stale

    def forget(self, sid):
        with self._lock:
            self._by_sid.pop(sid, None)
            self._stale.discard(sid)

    def end(self, auth_session_ids):
        """Drop the identities of ended sign-ins; return their sockets' sids."""
        ended = set(auth_session_ids)
        now = time.monotonic()
        with self._lock:
            if len(self._ended) > 1000:
                self._ended = {
                    key: at for key, at in self._ended.items() if now - at < self.ENDED_MEMORY_SECONDS
                }
            self._ended.update(dict.fromkeys(ended, now))
            sids = [sid for sid, who in self._by_sid.items() if who.auth_session_id in ended]
            for sid in sids:
                del self._by_sid[sid]
                self._stale.discard(sid)
        return sids

    def mark_all_stale(self):
        with self._lock:
            self._stale = set(self._by_sid)


identities = Identities()
realtime.when_signed_out(identities.end)
realtime.when_notices_may_be_lost(identities.mark_all_stale)


def _user_from_sign_in():
    """The active user of this socket's sign-in record, read now (with .current_auth_session)."""
    token = session.get("_user_id")
    if isinstance(token, str):
        return auth.user_for_token(token, AuthKind.WEB)
    # A bearer token presented at connect: Flask-Login's request loader read it.
    if current_user.is_authenticated and current_user.is_active:
        return current_user._get_current_object()
    return None


def connect_identity():
    """At connect: read the sign-in and keep this socket's identity. None if not signed in."""
    read_at = time.monotonic()
    user = _user_from_sign_in()
    if user is None or getattr(user, "current_auth_session", None) is None:
        return None
    identity = Identity.of(user)
    return identity if identities.keep(request.sid, identity, read_at) else None


def socket_identity():
    """The identity behind the socket of the current event, or None once its sign-in is over."""
    sid = request.sid
    identity, stale = identities.get(sid)
    if identity is None:
        return None
    if stale or current_app.config["SOCKET_AUTH_RECHECK_SECONDS"] <= 0:
        read_at = time.monotonic()
        user = _user_from_sign_in()
        if user is None or user.current_auth_session.id != identity.auth_session_id:
            identities.forget(sid)
            return None
        identity = Identity.of(user)
        if not identities.keep(sid, identity, read_at):
            return None
    if identity.expires_at <= clock():
        identities.forget(sid)
        return None
    return identity


def load_user(identity):
    """The whole User behind ``identity``, for handlers whose work needs it; None if they were
    suspended meanwhile."""
    user = db.session.get(User, identity.user_id)
    if user is None or not user.is_active:
        identities.forget(request.sid)
        disconnect(request.sid)
        return None
    return user


def forget_socket():
    identities.forget(request.sid)


def authenticated_only(handler):
    """Run ``handler(identity, ...)`` for a socket with an identity; disconnect any other. The
    event's log records carry its own id: the socket's and the event's number (peerlearn.logs)."""

    @wraps(handler)
    def wrapped(*args, **kwargs):
        begin_socket_event()
        identity = socket_identity()
        if identity is None:
            disconnect(request.sid)
            return None
        return handler(identity, *args, **kwargs)

    return wrapped
