"""Finding a person by id as the rules mean it, in one place for every caller.

An *active mentor* (``User.is_active_mentor``: teaching and not suspended) is who has a public
profile, can be followed and can be asked for a session; anyone else is "no such mentor".
"""

from flask_babel import gettext as _
from sqlalchemy import select

from ..exceptions import NotFound
from ..extensions import db
from ..models import User


def find_active_mentor(user_id):
    """The active mentor with this id, else None (callers that answer 404 in their own words)."""
    return db.session.scalar(select(User).where(User.id == user_id, User.is_active_mentor))


def active_mentor(user_id):
    """The active mentor with this id; anyone else is NotFound ("No such mentor.")."""
    mentor = find_active_mentor(user_id)
    if mentor is None:
        raise NotFound(_("No such mentor."))
    return mentor
