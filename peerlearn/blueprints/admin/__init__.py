"""The admins' pages under /admin (the admin home is in dashboards, the payout queue in booking)."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from . import audit_text, disputes, routes  # noqa: E402,F401
