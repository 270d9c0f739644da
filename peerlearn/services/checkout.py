"""A gift's checkout: the gateway order a learner pays a gift with, and its checkout callback.

Opening the order needs the room (only someone who may be in the session now can send a gift),
and verifying it goes through payments, which marks the gift paid through services.gifts. So this
module sits above all three, and nothing below it imports it: payments never reaches the room.
"""

import logging
import secrets

from flask_babel import gettext as _

from ..exceptions import NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..inputs import control_character_problem
from ..models import Gift, PaymentPurpose
from . import gifts, orders, payments, ratelimit, room

log = logging.getLogger(__name__)

MAX_MESSAGE_LENGTH = 280


def _clean_amount(amount_paise):
    low, high = gifts.limits()
    if isinstance(amount_paise, bool) or not isinstance(amount_paise, int):
        raise ValidationError(
            _("Choose an amount."), fields={"amount_paise": [_("A whole number of paise.")]}
        )
    if not low <= amount_paise <= high:
        lowest, highest = f"₹{low // 100:,}", f"₹{high // 100:,}"
        message = _("A gift is between %(low)s and %(high)s.", low=lowest, high=highest)
        raise ValidationError(message, fields={"amount_paise": [message]})
    return amount_paise


def _clean_message(message):
    if message is None:
        return ""
    if not isinstance(message, str):
        raise ValidationError(_("The message must be text."), fields={"message": [_("Text, please.")]})
    problem = control_character_problem(message)  # a one-line note
    if problem:
        raise ValidationError(problem, fields={"message": [problem]})
    message = message.strip()
    if len(message) > MAX_MESSAGE_LENGTH:
        text = _("At most %(num)s characters.", num=MAX_MESSAGE_LENGTH)
        raise ValidationError(text, fields={"message": [text]})
    return message


def create_gift(sender, session_id, amount_paise, message=""):
    """Open a gateway order for a gift from ``sender`` to the mentor of a session they are in.

    Only a learner who may be in the room now can send one; the gift is pending until paid.
    """
    if isinstance(session_id, bool) or not isinstance(session_id, int):
        raise ValidationError(
            _("session_id is required."), fields={"session_id": [_("A session id (integer).")]}
        )
    session = room.session_for_entry(sender, session_id)
    if session.mentor_id == sender.id:
        raise PermissionDenied(_("You can't send a gift to yourself."), code="own_session")
    amount_paise = _clean_amount(amount_paise)
    message = _clean_message(message)
    ratelimit.hit("gift", str(sender.id), "GIFT_LIMIT_PER_USER")
    payment = orders.open_order(
        purpose=PaymentPurpose.GIFT.value,
        payer_id=sender.id,
        mentor_id=session.mentor_id,
        amount_paise=amount_paise,
        receipt=f"gf_{session.id}_{secrets.token_hex(6)}",
        notes={"purpose": "gift", "session_id": str(session.id), "sender_id": str(sender.id)},
    )
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


def sender_gift(user, order_id):
    """The gift ``user`` is paying for with gateway order ``order_id``; NotFound otherwise."""
    payment = payments.payment_for_order(user, order_id)
    is_gift = payment is not None and payment.purpose == PaymentPurpose.GIFT
    gift = gifts.for_payment(payment) if is_gift else None
    if gift is None:
        raise NotFound(_("No such gift order."))
    return gift, payment


def verify_gift(user, *, order_id, payment_id, signature):
    """The checkout callback for a gift: the same verification as bookings; safe to repeat."""
    gift = None
    if isinstance(order_id, str) and order_id:
        gift, _payment = sender_gift(user, order_id)  # a booking's order is not verified here
    # Checks the fields (422 when missing), the signature and the gateway's amount.
    payments.verify_checkout(user, order_id=order_id, payment_id=payment_id, signature=signature)
    db.session.refresh(gift)
    return gift
