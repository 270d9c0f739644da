"""Connection handling shared by every page: each signed-in page joins its user's room."""

# Flask-SocketIO's ConnectionRefusedError (not the builtin) carries the reason to the client.
from flask import current_app
from flask_socketio import ConnectionRefusedError, join_room

from ..services import realtime
from ..services.realtime import auth_room, user_room
from .auth import authenticated_only, connect_identity, load_user


def on_connect(auth=None):
    # Subscribed to other processes' sign-outs before this socket's identity exists, so no
    # sign-out can slip between the two.
    realtime.listen_for_sign_outs(current_app._get_current_object())
    identity = connect_identity()
    if identity is None:
        raise ConnectionRefusedError("authentication required")
    join_room(user_room(identity.user_id))
    join_room(auth_room(identity.auth_session_id))
    return True


@authenticated_only
def whoami(identity, _payload=None):
    """A cheap round trip clients use to check the connection and their identity (read afresh:
    an account's capabilities can change while its socket is open)."""
    user = load_user(identity)
    if user is None:
        return None
    return {"user_id": user.id, "role": user.role.value, "capabilities": user.capabilities}


def register(socketio):
    socketio.on_event("connect", on_connect)
    socketio.on_event("whoami", whoami)
