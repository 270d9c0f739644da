"""A full session's waitlist over JSON: where the learner stands, joining and leaving."""

from flask_babel import gettext as _
from flask_login import current_user

from ...api_envelope import ok
from ...serializers.waitlist import waitlist_json
from ...services import waitlist as waitlist_service
from . import bp
from .utils import api_login_required


def _place(session_id):
    return waitlist_json(waitlist_service.status(current_user, session_id))


@bp.get("/sessions/<int:session_id>/waitlist/")
@api_login_required
def waitlist_status(session_id):
    return ok(_place(session_id))


@bp.post("/sessions/<int:session_id>/waitlist/")
@api_login_required
def join_waitlist(session_id):
    _entry, created = waitlist_service.join(session_id, current_user)
    place = _place(session_id)
    message = _("You're on the waitlist.") if created else _("You're already on the waitlist.")
    return ok(place, message, status=201 if created else 200)


@bp.delete("/sessions/<int:session_id>/waitlist/")
@api_login_required
def leave_waitlist(session_id):
    waitlist_service.leave(session_id, current_user)
    return ok(_place(session_id), _("You've left the waitlist."))
