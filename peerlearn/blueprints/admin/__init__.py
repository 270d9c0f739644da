"""The admins' pages under /admin (the admin home is in dashboards)."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from . import audit_text, coupons, deletions, disputes, growth, jobs, payouts, recordings, routes  # noqa: E402,F401
