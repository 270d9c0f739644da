"""Gifts: tips a learner pays the mentor during a live session.

A gift is an order on the same gateway as bookings (purpose ``gift``), opened and verified by
services.checkout. When the payment is captured — by the checkout callback, a webhook or the
reconciler, whichever comes first — :func:`payments.apply_capture` records it once: the ledger
split (fee and mentor earning, under the gift's session) and the gift marked paid
(:func:`mark_paid`), in one transaction; then the room is told (:func:`announce`). This module
knows the gift's rows only, so payments can mark them without importing the room.
"""

from flask import current_app
from sqlalchemy import select, update

from ..extensions import db
from ..models import Gift, GiftStatus
from ..serializers.gifts import gift_json
from . import realtime

ROOM_HISTORY = 100


def limits():
    config = current_app.config
    return config["GIFT_MIN_PAISE"], config["GIFT_MAX_PAISE"]


def presets():
    low, high = limits()
    return [amount for amount in current_app.config["GIFT_PRESETS_PAISE"] if low <= amount <= high]


def for_payment(payment):
    return db.session.scalar(select(Gift).where(Gift.payment_id == payment.id))


def mark_paid(payment, now):
    """Mark the gift a captured payment pays for (in the capture's transaction); the gift, or None."""
    gift = for_payment(payment)
    if gift is None:
        return None
    db.session.execute(
        update(Gift)
        .where(Gift.id == gift.id, Gift.status != GiftStatus.PAID.value)
        .values(status=GiftStatus.PAID.value, paid_at=now)
        .execution_options(synchronize_session=False)
    )
    return gift


def mark_failed(payment):
    """A failed attempt leaves the order open for another try; the gift shows it failed so far."""
    db.session.execute(
        update(Gift)
        .where(Gift.payment_id == payment.id, Gift.status == GiftStatus.PENDING.value)
        .values(status=GiftStatus.FAILED.value)
        .execution_options(synchronize_session=False)
    )


def announce(gift):
    """Tell everyone in the room, on any process, about a paid gift."""
    db.session.refresh(gift)
    payload = {"session_id": gift.session_id, "gift": gift_json(gift)}
    realtime.emit("gift:received", payload, room=realtime.session_room(gift.session_id))


def paid_in_session(session_id, limit=ROOM_HISTORY):
    """The session's paid gifts, oldest first (the last ``limit``)."""
    gifts = db.session.scalars(
        select(Gift)
        .where(Gift.session_id == session_id, Gift.status == GiftStatus.PAID.value)
        .order_by(Gift.paid_at.desc(), Gift.id.desc())
        .limit(limit)
    ).all()
    return list(reversed(gifts))
