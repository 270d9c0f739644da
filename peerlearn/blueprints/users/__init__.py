from flask import Blueprint

bp = Blueprint("users", __name__)

from . import routes, your_data  # noqa: E402,F401
