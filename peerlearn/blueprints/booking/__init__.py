"""Booking seats, the learner's bookings, receipts and cancellation."""

from flask import Blueprint

bp = Blueprint("booking", __name__)

from . import calendar, coupons, disputes, earnings, packs, reschedule, routes, waitlist  # noqa: E402,F401
