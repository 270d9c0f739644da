"""The dev gateway: Razorpay's behaviour, played locally for the embedded mode.

It issues Razorpay-shaped ids (``order_…``, ``pay_…``, ``rfnd_…``), signs checkouts and webhooks
with HMAC-SHA256 exactly as Razorpay does (keys derived from the app's SECRET_KEY), refuses what
Razorpay refuses, and keeps its orders, payments and refunds in ``DevGatewayObject`` rows. It stands
where Razorpay's servers would be, so it never reads or writes PeerLearn's payments or bookings.

Transactions: every write happens inside a SAVEPOINT (``begin_nested``) of the caller's session
and nothing here ever commits. A failed gateway call rolls back only its own savepoint and leaves
the caller's transaction usable; a successful one becomes durable when the caller commits, which
never happens on the caller's behalf. A separate session would be a truer "other system" but
cannot work here: in-memory SQLite shares one connection, so its commit would commit the caller's
work too, and a file SQLite database allows one writer, so it would wait on the caller's own lock.
If the caller rolls back, the gateway forgets along with it, which is safe both ways: an order is
only useful through the Payment row rolled back with it, and a refund asked for again with the same
idempotency key is simply made again. (SQLite's Python driver commits a savepoint that is the
outermost statement of its transaction; that only happens when the caller has written nothing.)
The gateway's own requests, the dev checkout page's pay and fail forms, commit after ``pay``.
"""

import json
import secrets
import string
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import DevGatewayObject, utcnow
from .base import Gateway, GatewayPayment, GatewayRefund, hmac_sha256_hex
from .razorpay_gateway import (
    bad_request,
    check_amount,
    check_currency,
    check_object_id,
    check_order_request,
    check_refund_request,
    checkout_signature,
    checkout_signature_matches,
    webhook_signature_matches,
)

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
ID_LENGTH = 14
ACCOUNT_ID = "acc_PeerLearnLocal"
PAY_METHODS = ("upi", "card", "netbanking")
DEFAULT_FAILURE = "Payment declined by the bank (simulated on the PeerLearn test checkout)."

# Which entity each webhook event is about, and what its payload carries (as Razorpay sends them).
EVENTS = {
    "payment.authorized": ("payment", ("payment",)),
    "payment.captured": ("payment", ("payment",)),
    "payment.failed": ("payment", ("payment",)),
    "order.paid": ("payment", ("payment", "order")),
    "refund.created": ("refund", ("refund", "payment")),
    "refund.processed": ("refund", ("refund", "payment")),
    "refund.failed": ("refund", ("refund", "payment")),
}


def random_id(length=ID_LENGTH):
    return "".join(secrets.choice(BASE62) for _ in range(length))


def _timestamp(value):
    return int(value.timestamp()) if isinstance(value, datetime) else int(utcnow().timestamp())


class DevGateway(Gateway):
    name = "dev"
    key_id = "rzp_dev_local"

    def __init__(self, *, key_secret, webhook_secret):
        self._key_secret = key_secret
        self._webhook_secret = webhook_secret

    @classmethod
    def from_config(cls, config):
        secret_key = config["SECRET_KEY"]
        return cls(
            key_secret=hmac_sha256_hex(secret_key, "dev-gateway"),
            webhook_secret=hmac_sha256_hex(secret_key, "dev-gateway-webhook"),
        )

    def close(self):
        """Nothing to release: the gateway's rows live in the app's own database."""

    # The gateway interface

    def create_order(self, *, amount_paise, currency, receipt, notes):
        notes = check_order_request(
            amount_paise=amount_paise, currency=currency, receipt=receipt, notes=notes
        )
        order = DevGatewayObject(
            kind="order",
            object_id=f"order_{random_id()}",
            amount_paise=amount_paise,
            currency=currency,
            status="created",
            receipt=receipt,
            notes=notes,
        )
        with db.session.begin_nested():
            db.session.add(order)
        return order.object_id

    def fetch_payment(self, payment_id):
        return self._payment(self._get("payment", payment_id))

    def order_payments(self, order_id):
        self._get("order", order_id)
        rows = db.session.scalars(
            select(DevGatewayObject)
            .where(DevGatewayObject.kind == "payment", DevGatewayObject.order_id == order_id)
            .order_by(DevGatewayObject.id)
        )
        return [self._payment(row) for row in rows]

    def capture(self, payment_id, *, amount_paise, currency):
        check_amount(amount_paise)
        check_currency(currency)
        with db.session.begin_nested():
            payment = self._get("payment", payment_id, for_update=True)
            if payment.status != "authorized":
                if payment.status in ("captured", "refunded"):
                    raise bad_request("This payment has already been captured")
                raise bad_request(
                    "Only payments which have been authorized and not yet captured can be captured"
                )
            if amount_paise != payment.amount_paise:
                raise bad_request("Capture amount must be equal to the amount authorized")
            if currency != payment.currency:
                raise bad_request("Currency should be same as payment currency")
            payment.status = "captured"
            self._get("order", payment.order_id, for_update=True).status = "paid"
        return self._payment(payment)

    def refund(self, payment_id, *, amount_paise, idempotency_key, notes):
        notes = check_refund_request(amount_paise=amount_paise, idempotency_key=idempotency_key, notes=notes)
        check_object_id(payment_id, "pay")
        existing = self._refund_for_key(idempotency_key, payment_id, amount_paise)
        if existing is not None:
            return existing
        try:
            with db.session.begin_nested():
                refund = self._new_refund(payment_id, amount_paise, idempotency_key, notes)
        except IntegrityError:
            # The same key arrived twice at once: the other request's refund is the answer.
            existing = self._refund_for_key(idempotency_key, payment_id, amount_paise)
            if existing is None:
                raise
            return existing
        return self._refund(refund)

    def fetch_refund(self, refund_id):
        """The refund's current state."""
        return self._refund(self._get("refund", refund_id))

    def checkout_signature_valid(self, *, order_id, payment_id, signature):
        return checkout_signature_matches(self._key_secret, order_id, payment_id, signature)

    def webhook_signature_valid(self, body, signature):
        return webhook_signature_matches(self._webhook_secret, body, signature)

    # What Razorpay's checkout and servers do, for the local checkout page and for tests

    def order_status(self, order_id):
        """``created``, ``attempted`` (a payment failed) or ``paid``."""
        return self._get("order", order_id).status

    def pay(self, order_id, *, succeed=True, method="upi", capture=True, error_description=DEFAULT_FAILURE):
        """The customer pays (or fails to pay) the order at the checkout.

        Returns ``(GatewayPayment, signature)``: a ``captured`` payment (``authorized`` with
        ``capture=False``, as when Razorpay's automatic capture is late) and the checkout signature
        the browser would receive; or a ``failed`` payment and an empty signature, since Razorpay
        signs only successful payments. Writes in a savepoint like every method here: the caller,
        acting as the gateway, commits.
        """
        if method not in PAY_METHODS:
            raise bad_request(f"The payment method must be one of {', '.join(PAY_METHODS)}.")
        with db.session.begin_nested():
            order = self._get("order", order_id, for_update=True)
            if order.status == "paid":
                raise bad_request("Payment for this order has already been completed")
            status = ("captured" if capture else "authorized") if succeed else "failed"
            payment = DevGatewayObject(
                kind="payment",
                object_id=f"pay_{random_id()}",
                order_id=order.object_id,
                amount_paise=order.amount_paise,
                currency=order.currency,
                status=status,
                method=method,
                error_description="" if succeed else (error_description or DEFAULT_FAILURE)[:255],
                notes=dict(order.notes or {}),
            )
            db.session.add(payment)
            order.status = "paid" if status == "captured" else "attempted"
        signature = checkout_signature(self._key_secret, order_id, payment.object_id) if succeed else ""
        return self._payment(payment), signature

    def set_refund_status(self, refund_id, status):
        """Settle a refund as the bank would: ``processed`` or ``failed``."""
        if status not in ("pending", "processed", "failed"):
            raise ValueError(f"unknown refund status {status!r}")
        with db.session.begin_nested():
            refund = self._get("refund", refund_id, for_update=True)
            refund.status = status
            self._settle_payment(self._get("payment", refund.payment_id, for_update=True))
        return self._refund(refund)

    def webhook_payload(self, event_type, payment_or_refund):
        """``(body_bytes, signature, event_id)`` for a Razorpay-shaped event about a payment or
        refund (a GatewayPayment, GatewayRefund or its id). Send the body as is, the signature as
        ``X-Razorpay-Signature`` and the event id as ``X-Razorpay-Event-Id``."""
        try:
            kind, contains = EVENTS[event_type]
        except KeyError:
            raise ValueError(f"unsupported event {event_type!r}; use one of {sorted(EVENTS)}") from None
        object_id = getattr(payment_or_refund, "id", payment_or_refund)
        row = self._get(kind, object_id)
        rows = {kind: row}
        if kind == "refund":
            rows["payment"] = self._get("payment", row.payment_id)
        if "order" in contains:
            rows["order"] = self._get("order", row.order_id)
        entities = {
            "order": self._order_entity,
            "payment": self._payment_entity,
            "refund": self._refund_entity,
        }
        event = {
            "entity": "event",
            "account_id": ACCOUNT_ID,
            "event": event_type,
            "contains": list(contains),
            "payload": {name: {"entity": entities[name](rows[name])} for name in contains},
            "created_at": _timestamp(utcnow()),
        }
        body = json.dumps(event, separators=(",", ":")).encode()
        return body, hmac_sha256_hex(self._webhook_secret, body), random_id()

    # Helpers

    def _get(self, kind, object_id, *, for_update=False):
        prefix = {"order": "order", "payment": "pay", "refund": "rfnd"}[kind]
        check_object_id(object_id, prefix)
        query = select(DevGatewayObject).where(
            DevGatewayObject.kind == kind, DevGatewayObject.object_id == object_id
        )
        if for_update:
            # Re-read a row this session already holds: another request may have changed it.
            query = query.with_for_update().execution_options(populate_existing=True)
        row = db.session.scalar(query)
        if row is None:
            raise bad_request("The id provided does not exist")
        return row

    def _refunded_paise(self, payment_id):
        """Money sent back or on its way: failed refunds return to the balance."""
        total = db.session.scalar(
            select(func.coalesce(func.sum(DevGatewayObject.amount_paise), 0)).where(
                DevGatewayObject.kind == "refund",
                DevGatewayObject.payment_id == payment_id,
                DevGatewayObject.status != "failed",
            )
        )
        return int(total)

    def _refund_for_key(self, idempotency_key, payment_id, amount_paise):
        row = db.session.scalar(
            select(DevGatewayObject).where(DevGatewayObject.idempotency_key == idempotency_key)
        )
        if row is None:
            return None
        if row.payment_id != payment_id or row.amount_paise != amount_paise:
            raise bad_request("Different request with the same idempotency key has already been processed.")
        return self._refund(row)

    def _new_refund(self, payment_id, amount_paise, idempotency_key, notes):
        # Locking the payment serialises refunds of one payment, so two cannot overshoot together.
        payment = self._get("payment", payment_id, for_update=True)
        if payment.status not in ("captured", "refunded"):
            raise bad_request("Only captured payments can be refunded")
        if self._refunded_paise(payment_id) + amount_paise > payment.amount_paise:
            raise bad_request("The refund amount provided is greater than amount not refunded.")
        refund = DevGatewayObject(
            kind="refund",
            object_id=f"rfnd_{random_id()}",
            order_id=payment.order_id,
            payment_id=payment_id,
            amount_paise=amount_paise,
            currency=payment.currency,
            status="processed",
            notes=notes,
            idempotency_key=idempotency_key,
        )
        db.session.add(refund)
        db.session.flush()
        self._settle_payment(payment)
        return refund

    def _settle_payment(self, payment):
        """A captured payment reads ``refunded`` once refunds cover all of it, as on Razorpay."""
        if payment.status in ("captured", "refunded"):
            refunded = self._refunded_paise(payment.object_id)
            payment.status = "refunded" if refunded >= payment.amount_paise else "captured"

    def _payment(self, row):
        return GatewayPayment(
            id=row.object_id,
            order_id=row.order_id,
            amount_paise=row.amount_paise,
            currency=row.currency,
            status=row.status,
            method=row.method,
            error_description=row.error_description,
        )

    def _refund(self, row):
        return GatewayRefund(
            id=row.object_id, payment_id=row.payment_id, amount_paise=row.amount_paise, status=row.status
        )

    def _order_entity(self, row):
        payments = db.session.scalars(
            select(DevGatewayObject).where(
                DevGatewayObject.kind == "payment", DevGatewayObject.order_id == row.object_id
            )
        ).all()
        paid = row.amount_paise if row.status == "paid" else 0
        return {
            "id": row.object_id,
            "entity": "order",
            "amount": row.amount_paise,
            "amount_paid": paid,
            "amount_due": row.amount_paise - paid,
            "currency": row.currency,
            "receipt": row.receipt,
            "offer_id": None,
            "status": row.status,
            "attempts": len(payments),
            "notes": dict(row.notes or {}),
            "created_at": _timestamp(row.created_at),
        }

    def _payment_entity(self, row):
        refunded = self._refunded_paise(row.object_id)
        failed = row.status == "failed"
        return {
            "id": row.object_id,
            "entity": "payment",
            "amount": row.amount_paise,
            "currency": row.currency,
            "status": row.status,
            "order_id": row.order_id,
            "invoice_id": None,
            "international": False,
            "method": row.method,
            "amount_refunded": refunded,
            "refund_status": None
            if not refunded
            else ("full" if refunded >= row.amount_paise else "partial"),
            "captured": row.status in ("captured", "refunded"),
            "description": None,
            "notes": dict(row.notes or {}),
            "error_code": "BAD_REQUEST_ERROR" if failed else None,
            "error_description": row.error_description or None,
            "error_source": "customer" if failed else None,
            "error_step": "payment_authorization" if failed else None,
            "error_reason": "payment_failed" if failed else None,
            "created_at": _timestamp(row.created_at),
        }

    def _refund_entity(self, row):
        return {
            "id": row.object_id,
            "entity": "refund",
            "amount": row.amount_paise,
            "currency": row.currency,
            "payment_id": row.payment_id,
            "notes": dict(row.notes or {}),
            "receipt": None,
            "acquirer_data": {"arn": None},
            "status": row.status,
            "speed_processed": "normal",
            "speed_requested": "normal",
            "created_at": _timestamp(row.created_at),
        }
