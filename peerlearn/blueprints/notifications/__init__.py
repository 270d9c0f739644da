"""Notifications: the center, per-kind preferences, and the signed one-click unsubscribe link
of every non-transactional email."""

from flask import Blueprint

bp = Blueprint("notifications", __name__)


@bp.record_once
def _keep_unread_counts(state):
    """The bell's unread counts, kept per user for every page of the app (the blueprint's
    registration is where the app's settings are known)."""
    from ...services.notifications import counts

    counts.init_app(state.app)


from . import routes  # noqa: E402,F401
