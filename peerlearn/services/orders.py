"""A new gateway order and the Payment row that waits for it: what a gift in the room and a pack's
purchase both open. (A booking's order reserves its row before asking the gateway, so a double
click finds it: ``services.payments.create_order``.)"""

import logging

from flask_babel import gettext as _

from ..exceptions import GatewayUnavailable
from ..extensions import db
from ..models import Payment
from ..payments import GatewayError, get_gateway

log = logging.getLogger(__name__)


def open_order(*, purpose, payer_id, mentor_id, amount_paise, receipt, notes, currency="INR"):
    """Ask the gateway for an order of ``amount_paise`` (always from the database, never from the
    client) and add its Payment, flushed, to the caller's transaction. When the gateway fails the
    transaction is rolled back and GatewayUnavailable raised: nothing is left half-made."""
    gateway = get_gateway()
    try:
        order_id = gateway.create_order(
            amount_paise=amount_paise, currency=currency, receipt=receipt, notes=notes
        )
    except GatewayError as exc:
        db.session.rollback()
        log.warning("%s order %s failed: %s", purpose, receipt, exc)
        raise GatewayUnavailable(
            _("The payment service is not responding. Please try again in a minute.")
        ) from exc
    payment = Payment(
        purpose=purpose,
        payer_id=payer_id,
        mentor_id=mentor_id,
        gateway=gateway.name,
        order_id=order_id,
        receipt=receipt,
        amount_paise=amount_paise,
        currency=currency,
    )
    db.session.add(payment)
    db.session.flush()
    return payment
