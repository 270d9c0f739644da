from flask import Blueprint

bp = Blueprint("dashboards", __name__)

from . import record, routes  # noqa: E402,F401
