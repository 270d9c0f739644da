"""Opening a gateway order for a gift or a pack: the Payment waits for it in the caller's
transaction, and a gateway that fails leaves nothing behind."""

import pytest
from sqlalchemy import func, select

from peerlearn.exceptions import GatewayUnavailable
from peerlearn.extensions import db
from peerlearn.models import Payment
from peerlearn.payments import GatewayError, get_gateway
from peerlearn.services import orders


def open_gift_order(payer, mentor, amount_paise=5000):
    return orders.open_order(
        purpose="gift",
        payer_id=payer.id,
        mentor_id=mentor.id,
        amount_paise=amount_paise,
        receipt="gf_test_1",
        notes={"purpose": "gift"},
    )


def test_the_payment_waits_for_the_gateway_order(make_user):
    mentor, learner = make_user(role="mentor"), make_user()
    payment = open_gift_order(learner, mentor)
    db.session.commit()
    stored = db.session.get(Payment, payment.id)
    assert (stored.purpose, stored.status) == ("gift", "created")
    assert (stored.amount_paise, stored.currency) == (5000, "INR")
    assert stored.gateway == get_gateway().name and stored.order_id and stored.receipt == "gf_test_1"
    assert (stored.payer_id, stored.mentor_id) == (learner.id, mentor.id)


def test_a_gateway_that_fails_leaves_nothing(make_user, monkeypatch):
    mentor, learner = make_user(role="mentor"), make_user()

    def refuse(**_order):
        raise GatewayError("timed out")

    monkeypatch.setattr(get_gateway(), "create_order", refuse)
    with pytest.raises(GatewayUnavailable) as refused:
        open_gift_order(learner, mentor)
    assert "not responding" in refused.value.message
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
