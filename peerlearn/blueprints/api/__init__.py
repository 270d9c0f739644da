"""The JSON API, compatible with the original's paths and envelope (see docs/api/openapi.yaml)."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from . import (  # noqa: E402,F401
    accounts,
    admin,
    booking,
    community,
    coupons,
    dashboards,
    language,
    mentor,
    mentors,
    meta,
    notifications,
    packs,
    push,
    recommendations,
    recordings,
    requests,
    room,
    sessions,
    waitlist,
    webhooks,
    your_data,
)
