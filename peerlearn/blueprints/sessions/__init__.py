"""Sessions: discovery for everyone (browse.py) and management for mentors (manage.py)."""

from flask import Blueprint

bp = Blueprint("sessions", __name__)

from . import browse, documents, manage, recording, room  # noqa: E402,F401
