"""Around sessions: reviews, follows and session requests (pages and form posts)."""

from flask import Blueprint

bp = Blueprint("community", __name__)

from . import follows, requests, reviews  # noqa: E402,F401
