"""A session's recording over JSON: its state, length, chapters and where to watch it."""

from flask_login import current_user

from ...api_envelope import ok
from ...links import external_url
from ...serializers.recordings import recording_json
from ...services import recording_library as library
from . import bp
from .utils import api_login_required


@bp.get("/sessions/<int:session_id>/recording/")
@api_login_required
def session_recording(session_id):
    """The recording of a session, for its mentor, admins and learners who held a seat (404 for
    everyone else, and when the session was not recorded). Any state is answered: ``urls`` are
    there while it is ready; a deleted one says when."""
    session, found = library.recording_for(current_user, session_id)
    watchable = found.is_ready and not library.is_expired(found)
    urls = {"page": external_url("sessions.recording", session_id=session.id)}
    if watchable:
        urls["file"] = external_url("sessions.recording_file", session_id=session.id)
    status = found.status if watchable or not found.is_ready else "deleted"
    data = recording_json(
        found,
        chapters=library.chapters(found) if watchable else [],
        urls=urls,
        expires_at=library.expires_at(found) if watchable else None,
        staff=current_user.is_admin or current_user.id == session.mentor_id,
    )
    data["status"] = status
    return ok(data)
