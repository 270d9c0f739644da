"""Gifts: tips a learner pays the mentor during a live session.

A gift is an order on the same gateway as bookings (purpose ``gift``). The learner chooses the
amount, within GIFT_MIN_PAISE..GIFT_MAX_PAISE; from then on the amount is the database's. When the
payment is captured — by the checkout callback, a webhook or the reconciler, whichever comes first
— :func:`payments.apply_capture` records it once: the ledger split (fee and mentor earning, under
the gift's session) and the gift marked paid, in one transaction; then the room is told.
"""

import logging
import secrets

from flask import current_app
from sqlalchemy import select, update

from ..exceptions import GatewayUnavailable, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..inputs import control_character_problem
from ..models import Gift, GiftStatus, Payment, PaymentPurpose
from ..payments import GatewayError, get_gateway
from ..serializers.gifts import gift_json
from . import ratelimit, realtime
from . import room as room_service

log = logging.getLogger(__name__)

MAX_MESSAGE_LENGTH = 280
ROOM_HISTORY = 100


def limits():
    config = current_app.config
    return config["GIFT_MIN_PAISE"], config["GIFT_MAX_PAISE"]


def presets():
    low, high = limits()
    return [amount for amount in current_app.config["GIFT_PRESETS_PAISE"] if low <= amount <= high]


def _clean_amount(amount_paise):
    low, high = limits()
    if isinstance(amount_paise, bool) or not isinstance(amount_paise, int):
        raise ValidationError("Choose an amount.", fields={"amount_paise": ["A whole number of paise."]})
    if not low <= amount_paise <= high:
        message = f"A gift is between ₹{low // 100:,} and ₹{high // 100:,}."
        raise ValidationError(message, fields={"amount_paise": [message]})
    return amount_paise


def _clean_message(message):
    if message is None:
        return ""
    if not isinstance(message, str):
        raise ValidationError("The message must be text.", fields={"message": ["Text, please."]})
    problem = control_character_problem(message)  # a one-line note
    if problem:
        raise ValidationError(problem, fields={"message": [problem]})
    message = message.strip()
    if len(message) > MAX_MESSAGE_LENGTH:
        text = f"At most {MAX_MESSAGE_LENGTH} characters."
        raise ValidationError(text, fields={"message": [text]})
    return message


def create(sender, session_id, amount_paise, message=""):
    """Open a gateway order for a gift from ``sender`` to the mentor of a session they are in.

    Only a learner who may be in the room now can send one; the gift is pending until paid.
    """
    if isinstance(session_id, bool) or not isinstance(session_id, int):
        raise ValidationError("session_id is required.", fields={"session_id": ["A session id (integer)."]})
    session = room_service.session_for_entry(sender, session_id)
    if session.mentor_id == sender.id:
        raise PermissionDenied("You can't send a gift to yourself.", code="own_session")
    amount_paise = _clean_amount(amount_paise)
    message = _clean_message(message)
    ratelimit.hit("gift", str(sender.id), "GIFT_LIMIT_PER_USER")
    gateway = get_gateway()
    receipt = f"gf_{session.id}_{secrets.token_hex(6)}"
    try:
        order_id = gateway.create_order(
            amount_paise=amount_paise,
            currency="INR",
            receipt=receipt,
            notes={"purpose": "gift", "session_id": str(session.id), "sender_id": str(sender.id)},
        )
    except GatewayError as exc:
        db.session.rollback()
        log.warning("gift order failed for session %s: %s", session.id, exc)
        raise GatewayUnavailable(
            "The payment service is not responding. Please try again in a minute."
        ) from exc
    payment = Payment(
        purpose=PaymentPurpose.GIFT.value,
        payer_id=sender.id,
        mentor_id=session.mentor_id,
        gateway=gateway.name,
        order_id=order_id,
        receipt=receipt,
        amount_paise=amount_paise,
        currency="INR",
    )
    db.session.add(payment)
    db.session.flush()
    gift = Gift(
        session_id=session.id,
        sender_id=sender.id,
        mentor_id=session.mentor_id,
        amount_paise=amount_paise,
        message=message,
        payment_id=payment.id,
    )
    db.session.add(gift)
    db.session.commit()
    return gift, payment


def for_payment(payment):
    return db.session.scalar(select(Gift).where(Gift.payment_id == payment.id))


def sender_gift(user, order_id):
    """The gift ``user`` is paying for with gateway order ``order_id``; NotFound otherwise."""
    from . import payments

    payment = payments.payment_for_order(user, order_id)
    gift = for_payment(payment) if payment is not None and payment.purpose == PaymentPurpose.GIFT else None
    if gift is None:
        raise NotFound("No such gift order.")
    return gift, payment


def verify(user, *, order_id, payment_id, signature):
    """The checkout callback for a gift: the same verification as bookings; safe to repeat."""
    from . import payments

    gift = None
    if isinstance(order_id, str) and order_id:
        gift, _payment = sender_gift(user, order_id)  # a booking's order is not verified here
    # Checks the fields (422 when missing), the signature and the gateway's amount.
    payments.verify_checkout(user, order_id=order_id, payment_id=payment_id, signature=signature)
    db.session.refresh(gift)
    return gift


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
