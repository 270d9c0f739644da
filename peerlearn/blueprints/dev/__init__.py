"""Developer tools, registered only outside production: the outbox of sent email."""

from flask import Blueprint

bp = Blueprint("dev", __name__)

from . import routes  # noqa: E402,F401
