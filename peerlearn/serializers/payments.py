"""A payment as its payer sees it and as admins see it (with the people and a refund), and the
options the checkout needs to take one."""

from ..links import external_url
from ..payments import get_gateway


def _time(value):
    return value.isoformat() if value else None


def payment_json(payment):
    return {
        "id": payment.id,
        "purpose": payment.purpose,
        "booking_id": payment.booking_id,
        "order_id": payment.order_id,
        "payment_id": payment.gateway_payment_id,
        "gateway": payment.gateway,
        "receipt": payment.receipt,
        "amount_paise": payment.amount_paise,
        "refunded_paise": payment.refunded_paise,
        "currency": payment.currency,
        "status": payment.status,
        "method": payment.method,
        "created_at": payment.created_at.isoformat(),
        "captured_at": _time(payment.captured_at),
    }


def admin_payment_json(payment):
    return {
        **payment_json(payment),
        "payer": {"id": payment.payer.id, "name": payment.payer.name, "email": payment.payer.email},
        "mentor": {"id": payment.mentor.id, "name": payment.mentor.name},
    }


def admin_refund_json(refund):
    """A refund an admin asked for, with the payment it comes from."""
    return {
        "refund": {
            "id": refund.id,
            "amount_paise": refund.amount_paise,
            "status": refund.status,
            "reason": refund.reason,
        },
        "payment": admin_payment_json(refund.payment),
    }


def checkout_options(payment, description, payer):
    """What Razorpay Checkout needs to pay ``payment`` (the dev gateway adds its local page)."""
    gateway = get_gateway()
    options = {
        "gateway": gateway.name,
        "key_id": gateway.key_id,
        "order_id": payment.order_id,
        "amount": payment.amount_paise,
        "currency": payment.currency,
        "name": "PeerLearn",
        "description": description,
        "prefill": {"name": payer.name, "email": payer.email},
    }
    if gateway.name == "dev":
        options["checkout_url"] = external_url("payments.dev_checkout", order_id=payment.order_id)
    return options
