"""The installable app: the web app manifest, the service worker and the offline page."""

from flask import Blueprint

bp = Blueprint("pwa", __name__)

from . import routes  # noqa: E402,F401
