"""Paying for bookings: the checkout page, the dev gateway's checkout, and gateway webhooks."""

from flask import Blueprint

bp = Blueprint("payments", __name__)

from . import coupons, dev_checkout, routes  # noqa: E402,F401
