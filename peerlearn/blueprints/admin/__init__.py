"""The admins' pages under /admin (the admin home is in dashboards)."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

# audit_growth adds the growth actions' sentences to audit_text's.
from . import (  # noqa: E402,F401
    audit_growth,
    audit_text,
    coupons,
    deletions,
    disputes,
    growth,
    jobs,
    payouts,
    recordings,
    routes,
)
