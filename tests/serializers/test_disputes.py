"""A dispute as its learner sees it (no people, no attendance) and as admins see it (the people,
the money and the room's attendance, from the facts the service works out)."""

from datetime import UTC, datetime, timedelta

import pytest

from peerlearn.serializers.disputes import admin_dispute_json, dispute_json
from peerlearn.services import disputes
from tests.factories import hold, make_session, paid_booking

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
START = NOW + timedelta(hours=2)
END = START + timedelta(minutes=60)
PRICE = 49900


@pytest.fixture
def dispute(time_machine, make_user):
    time_machine.move_to(NOW, tick=False)
    mentor = make_user(role="mentor", name="Meera Mentor", email="meera@example.com")
    learner = make_user(name="Lena Learner", email="lena@example.com")
    session = make_session(mentor, title="Practical Flask", price_paise=PRICE, starts_at=START)
    booking, _payment = paid_booking(session, learner)
    time_machine.move_to(END + timedelta(hours=1), tick=False)
    hold(session)
    return disputes.report(learner, booking.id, "ended_early", "The mentor left after ten minutes.")


def test_the_learner_sees_their_report_and_its_state(dispute):
    shown = dispute_json(dispute)
    assert shown["booking_id"] == dispute.booking_id
    assert shown["reason"] == "ended_early"
    assert shown["reason_label"] == disputes.reason_label("ended_early")
    assert shown["status_label"] == disputes.status_label(dispute.status)
    assert shown["details"] == "The mentor left after ten minutes."
    assert shown["decided_at"] is None
    assert not {"learner", "mentor", "payment"} & set(shown)


def test_admins_see_the_people_and_the_money(dispute):
    shown = admin_dispute_json(dispute, disputes.facts(dispute))
    assert {key: shown[key] for key in dispute_json(dispute)} == dispute_json(dispute)
    assert shown["learner"]["email"] == "lena@example.com"
    assert shown["mentor"]["name"] == "Meera Mentor"
    assert shown["session"]["title"] == "Practical Flask"
    assert shown["payment"]["amount_paise"] == PRICE
    assert shown["payment"]["refundable_paise"] == PRICE
    assert shown["refund"] is None and shown["decided_by"] is None
