"""The live room over JSON: TURN credentials for participants."""

from flask_login import current_user

from ...services import room as room_service
from . import bp
from .responses import ok
from .utils import api_login_required


@bp.get("/sessions/<int:session_id>/ice-servers/")
@api_login_required
def ice_servers(session_id):
    """ICE servers for a participant of this session's room (short-lived TURN credentials when
    TURN_SECRET is set). Anyone who may not enter the room gets the refusal."""
    room_service.session_for_entry(current_user, session_id)
    return ok({"ice_servers": room_service.ice_servers(current_user)})
