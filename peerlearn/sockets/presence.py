"""Connection handling shared by every page: each signed-in page joins its user's room."""

# Flask-SocketIO's ConnectionRefusedError (not the builtin) carries the reason to the client.
from flask_socketio import ConnectionRefusedError, join_room

from ..services.realtime import auth_room, user_room
from .auth import authenticated_only, signed_in_user


def on_connect(auth=None):
    user = signed_in_user(fresh=True)
    if user is None:
        raise ConnectionRefusedError("authentication required")
    join_room(user_room(user.id))
    join_room(auth_room(user.current_auth_session.id))
    return True


@authenticated_only
def whoami(_payload=None):
    """A cheap round trip clients use to check the connection and their identity."""
    user = signed_in_user()
    return {"user_id": user.id, "role": user.role.value, "capabilities": user.capabilities}


def register(socketio):
    socketio.on_event("connect", on_connect)
    socketio.on_event("whoami", whoami)
