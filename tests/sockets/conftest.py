"""Fixtures for the room's socket tests: a session in its room window (signed-in sockets come from
`connect` in tests/conftest.py)."""

from datetime import timedelta

import pytest

from peerlearn.models import utcnow
from peerlearn.services import booking as booking_service
from tests.factories import make_session


@pytest.fixture
def room(app, make_user, time_machine):
    """A free session five minutes ahead with two booked learners, the clock a minute into it."""
    now = utcnow().replace(microsecond=0)
    time_machine.move_to(now, tick=False)
    mentor = make_user(email="mentor@example.com", role="mentor", name="Meera Mentor")
    ana = make_user(email="ana@example.com", name="Ana Learner")
    ben = make_user(email="ben@example.com", name="Ben Learner")
    outsider = make_user(email="out@example.com", name="Olu Outsider")
    session = make_session(mentor, starts_at=now + timedelta(minutes=5))
    for learner in (ana, ben):
        booking, _ = booking_service.book(session.id, learner)
        assert booking.status == "confirmed"
    time_machine.move_to(now + timedelta(minutes=6), tick=False)
    return {"session": session, "mentor": mentor, "ana": ana, "ben": ben, "outsider": outsider}
