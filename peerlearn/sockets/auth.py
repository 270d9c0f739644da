"""Authentication for socket handlers.

The Flask session a socket sees is a copy taken at connect, so a sign-out elsewhere is not
visible in it. Each event runs in a fresh app context, where Flask-Login loads the user again
from the sign-in record: once that record is deleted, the socket is anonymous and is dropped.
"""

from functools import wraps

from flask import request
from flask_login import current_user
from flask_socketio import disconnect


def signed_in_user():
    """The user behind this socket if their sign-in is still valid, else None."""
    if current_user.is_authenticated and current_user.is_active:
        return current_user._get_current_object()
    return None


def authenticated_only(handler):
    @wraps(handler)
    def wrapped(*args, **kwargs):
        if signed_in_user() is None:
            disconnect(request.sid)
            return None
        return handler(*args, **kwargs)

    return wrapped
