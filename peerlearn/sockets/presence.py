"""Connection handling shared by every page: each signed-in page joins its user's room."""

import logging

from flask_login import current_user
from flask_socketio import join_room

from ..extensions import socketio
from ..services.realtime import auth_room, user_room
from .auth import authenticated_only, signed_in_user

log = logging.getLogger(__name__)


@socketio.on("connect")
def on_connect(auth=None):
    user = signed_in_user()
    if user is None:
        raise ConnectionRefusedError("authentication required")
    join_room(user_room(user.id))
    join_room(auth_room(user.current_auth_session.id))
    return True


@socketio.on("whoami")
@authenticated_only
def whoami(_payload=None):
    """A cheap round trip clients use to check the connection and their identity."""
    data = {"user_id": current_user.id, "role": current_user.role}
    return data
