"""Notifications: the center, per-kind preferences, and the signed one-click unsubscribe link
of every non-transactional email."""

from flask import Blueprint

bp = Blueprint("notifications", __name__)

from . import routes  # noqa: E402,F401
