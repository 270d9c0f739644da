"""Webhooks under the account's settings: endpoints, their delivery log, pings and redelivery."""

from flask import Blueprint

bp = Blueprint("webhooks", __name__)

from . import routes  # noqa: E402,F401
