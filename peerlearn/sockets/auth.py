"""Authentication for socket handlers.

The Flask session a socket sees is a copy taken at connect, so a sign-out elsewhere is not
visible in it. Each event runs in a fresh app context and checks the sign-in record again: once
that record is deleted, the socket is anonymous and is dropped.

A room relays many small events per second, so a sign-in found valid is trusted for
SOCKET_AUTH_RECHECK_SECONDS (5) on this process before the record is read again. Signing out
(or being signed out) forgets it here at once and disconnects this process's sockets of that
sign-in; a socket on another process is refused within those seconds at most.
"""

import threading
import time
from functools import wraps

from flask import current_app, g, request, session
from flask_login import current_user
from flask_socketio import disconnect
from sqlalchemy.orm import lazyload

from ..extensions import db
from ..models import AuthKind, User, hash_token
from ..services import auth, realtime

clock = time.monotonic


class _RecentSignIns:
    """token hash -> (auth session id, user id, trusted until), for this process."""

    def __init__(self):
        self._lock = threading.Lock()
        self._entries = {}

    def get(self, key):
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or entry[2] <= clock():
            return None
        return entry

    def put(self, key, auth_session_id, user_id, seconds):
        with self._lock:
            if len(self._entries) > 10_000:  # stale entries of long-gone sockets
                now = clock()
                self._entries = {k: v for k, v in self._entries.items() if v[2] > now}
            self._entries[key] = (auth_session_id, user_id, clock() + seconds)

    def forget(self, auth_session_ids):
        ids = set(auth_session_ids)
        with self._lock:
            self._entries = {k: v for k, v in self._entries.items() if v[0] not in ids}


recent_sign_ins = _RecentSignIns()
realtime.when_signed_out(recent_sign_ins.forget)
# The user alone: handlers never need their skill lists (built once: building them is not free).
_USER_ONLY = (lazyload(User.skills), lazyload(User.interests))


def signed_in_user(*, fresh=False):
    """The user behind this socket if their sign-in is still valid, else None. ``fresh`` reads the
    sign-in record whatever was checked recently (and gives ``user.current_auth_session``)."""
    seconds = current_app.config["SOCKET_AUTH_RECHECK_SECONDS"]
    token = session.get("_user_id")
    if seconds <= 0 or not isinstance(token, str):
        if current_user.is_authenticated and current_user.is_active:
            return current_user._get_current_object()
        return None
    if not fresh and "socket_user" in g:  # asked twice in one event
        return g.socket_user
    key = hash_token(token)
    entry = None if fresh else recent_sign_ins.get(key)
    if entry is not None:
        user = db.session.get(User, entry[1], options=_USER_ONLY)
        if user is not None and user.is_active:
            g.socket_user = user
            return user
    user = auth.user_for_token(token, AuthKind.WEB)
    if user is None:
        return None
    recent_sign_ins.put(key, user.current_auth_session.id, user.id, seconds)
    g.socket_user = user
    return user


def authenticated_only(handler):
    @wraps(handler)
    def wrapped(*args, **kwargs):
        if signed_in_user() is None:
            disconnect(request.sid)
            return None
        return handler(*args, **kwargs)

    return wrapped
