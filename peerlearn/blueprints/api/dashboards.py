"""The dashboards over JSON: the same figures as /learn, /teach and /admin, for the signed-in user.

``GET /api/mentor-dashboard/`` keeps the original API's path. Periods are in the caller's
timezone (their profile's); money is integer paise; times are ISO 8601 in UTC.
"""

from datetime import datetime
from functools import wraps

from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ...api_envelope import ok
from ...exceptions import PermissionDenied
from ...links import external_url
from ...models import utcnow
from ...services import dashboards
from . import bp
from .mentor import mentor_required
from .utils import api_login_required


def role_api(role_check, message, code):
    """Signed in (401 otherwise) with the capability ``role_check`` tests for (403 otherwise)."""

    def decorator(view):
        @wraps(view)
        @api_login_required
        def wrapped(*args, **kwargs):
            if not role_check(current_user):
                raise PermissionDenied(str(message), code=code)
            return view(*args, **kwargs)

        return wrapped

    return decorator


admin_required = role_api(lambda user: user.is_admin, _l("Only admins can see this."), "not_an_admin")


def jsonable(value):
    """The service's figures with datetimes as ISO 8601 strings."""
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _envelope(data, now):
    return {**jsonable(data), "timezone": current_user.timezone, "generated_at": now.isoformat()}


@bp.get("/learner-dashboard/")
@api_login_required  # every account learns
def learner_dashboard():
    now = utcnow()
    data = dashboards.learner_dashboard(current_user, now=now)
    for item in data["upcoming"]:
        item["session_url"] = external_url("sessions.detail", session_id=item["session_id"])
        item["room_url"] = external_url("sessions.room", session_id=item["session_id"])
        item["booking_url"] = external_url("booking.detail", booking_id=item["booking_id"])
    return ok(_envelope(data, now))


@bp.get("/mentor-dashboard/")
@mentor_required
def mentor_dashboard():
    now = utcnow()
    data = dashboards.mentor_dashboard(current_user, now=now)
    for row in data["sessions"]["today"] + data["sessions"]["upcoming"]:
        row["session_url"] = external_url("sessions.detail", session_id=row["session_id"])
        row["room_url"] = external_url("sessions.room", session_id=row["session_id"])
    return ok(_envelope(data, now))


@bp.get("/admin-dashboard/")
@admin_required
def admin_dashboard():
    now = utcnow()
    return ok(_envelope(dashboards.admin_dashboard(now=now, tz=current_user.timezone), now))
