"""The gateway interface and the values it returns. Amounts are integer paise."""

import hashlib
import hmac
from abc import ABC, abstractmethod
from dataclasses import dataclass


class GatewayError(Exception):
    """The gateway refused or could not be reached. ``transient`` errors may be retried."""

    def __init__(self, message, *, transient=False, code=""):
        super().__init__(message)
        self.transient = transient
        self.code = code


@dataclass(frozen=True)
class GatewayPayment:
    id: str
    order_id: str
    amount_paise: int
    currency: str
    # Razorpay's payment states: created, authorized, captured, refunded, failed.
    status: str
    method: str = ""
    error_description: str = ""


@dataclass(frozen=True)
class GatewayRefund:
    id: str
    payment_id: str
    amount_paise: int
    # pending, processed or failed.
    status: str


def hmac_sha256_hex(secret, message):
    if isinstance(message, str):
        message = message.encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_matches(expected_hex, given):
    """Constant-time comparison that treats anything but a hex string as a mismatch."""
    if not isinstance(given, str) or not given.isascii():
        return False
    return hmac.compare_digest(expected_hex, given.strip().lower())


class Gateway(ABC):
    """What the payment services need from a gateway."""

    name = "abstract"
    #: Shown to the browser's checkout (Razorpay's public key id).
    key_id = ""

    @abstractmethod
    def create_order(self, *, amount_paise, currency, receipt, notes):
        """Create an order on the gateway and return its id."""

    @abstractmethod
    def fetch_payment(self, payment_id):
        """Return the GatewayPayment for a gateway payment id."""

    @abstractmethod
    def order_payments(self, order_id):
        """Return every GatewayPayment made against an order (to recover a missed webhook)."""

    @abstractmethod
    def capture(self, payment_id, *, amount_paise, currency):
        """Capture an authorized payment; return the captured GatewayPayment."""

    @abstractmethod
    def refund(self, payment_id, *, amount_paise, idempotency_key, notes):
        """Refund part or all of a captured payment; asking twice with one key is one refund."""

    @abstractmethod
    def fetch_refund(self, refund_id):
        """Return the GatewayRefund for a gateway refund id (to settle a pending refund)."""

    @abstractmethod
    def checkout_signature_valid(self, *, order_id, payment_id, signature):
        """Checkout returns HMAC-SHA256(order_id + "|" + payment_id) keyed with the key secret."""

    @abstractmethod
    def webhook_signature_valid(self, body, signature):
        """Webhooks carry HMAC-SHA256(raw body) keyed with the webhook secret."""
