"""The JSON API, compatible with the original's paths and envelope (see docs/api/openapi.yaml)."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from . import accounts, booking, mentor, meta, notifications, recommendations, room, sessions  # noqa: E402,F401
