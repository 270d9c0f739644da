"""A session for the booking and payment tests: three seats unless told otherwise, so a full session
is three bookings away."""

from tests import factories


def make_session(mentor, **overrides):
    overrides.setdefault("capacity", 3)
    return factories.make_session(mentor, **overrides)
