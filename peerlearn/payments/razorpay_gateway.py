"""Razorpay through its official Python SDK.

The SDK builds the requests (paths, basic auth, JSON bodies, headers); the HTTP session it is
given decides what a failure means. Left alone, the SDK reduces an HTTP error to its description
(the status code is lost, so a 503 and a 400 with an unknown code look alike), fails with a
decoding error on a non-JSON error page from a proxy, prints to stdout on network errors, and sets
no timeout at all. :class:`ApiSession` answers all of these before the SDK looks at a response.
"""

import re

import razorpay
import requests

from .base import (
    Gateway,
    GatewayError,
    GatewayPayment,
    GatewayRefund,
    hmac_sha256_hex,
    signature_matches,
)

DEFAULT_TIMEOUT_SECONDS = 10

# Razorpay's own request rules, checked before anything is sent (the dev gateway applies them too),
# so a bad request fails the same way, without a round trip, whichever gateway is configured.
MIN_AMOUNT_PAISE = 100
MAX_RECEIPT_LENGTH = 40
MAX_NOTES = 15
MAX_NOTE_LENGTH = 256
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{10,64}")
CURRENCY = re.compile(r"[A-Z]{3}")
# Prefix plus base62, as Razorpay issues them; anything else never reaches a URL path.
OBJECT_ID = re.compile(r"(order|pay|rfnd)_[A-Za-z0-9]{1,40}")

BAD_REQUEST = "BAD_REQUEST_ERROR"
# Statuses worth retrying later: the server failed, was busy, or a twin request is in flight.
TRANSIENT_STATUSES = {408, 409, 425, 429}


def bad_request(message):
    return GatewayError(message, transient=False, code=BAD_REQUEST)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_object_id(value, prefix):
    return (
        isinstance(value, str) and value.startswith(prefix + "_") and OBJECT_ID.fullmatch(value) is not None
    )


def check_amount(amount_paise):
    if not _is_int(amount_paise) or amount_paise < MIN_AMOUNT_PAISE:
        raise bad_request(f"The amount must be at least {MIN_AMOUNT_PAISE} paise (₹1.00).")


def check_currency(currency):
    if not isinstance(currency, str) or not CURRENCY.fullmatch(currency):
        raise bad_request("The currency must be a three-letter ISO code such as INR.")


def check_order_request(*, amount_paise, currency, receipt, notes):
    """Refuse an order Razorpay would refuse. Returns the notes as a plain dict."""
    check_amount(amount_paise)
    check_currency(currency)
    if not isinstance(receipt, str) or len(receipt) > MAX_RECEIPT_LENGTH:
        raise bad_request(f"The receipt may not be greater than {MAX_RECEIPT_LENGTH} characters.")
    return check_notes(notes)


def check_notes(notes):
    notes = dict(notes or {})
    if len(notes) > MAX_NOTES:
        raise bad_request(f"Notes may have at most {MAX_NOTES} keys.")
    for key, value in notes.items():
        if not isinstance(key, str) or not (isinstance(value, str) or _is_int(value)):
            raise bad_request("Notes must map text keys to text or whole-number values.")
        if len(str(value)) > MAX_NOTE_LENGTH:
            raise bad_request(f"A note value may not be greater than {MAX_NOTE_LENGTH} characters.")
    return notes


def check_refund_request(*, amount_paise, idempotency_key, notes):
    """Refuse a refund Razorpay would refuse. Returns the notes as a plain dict."""
    check_amount(amount_paise)
    if not isinstance(idempotency_key, str) or not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
        raise bad_request("The idempotency key must be 10 to 64 letters, digits, hyphens or underscores.")
    return check_notes(notes)


def check_object_id(object_id, prefix):
    if not _is_object_id(object_id, prefix):
        raise bad_request("The id provided does not exist")


def checkout_signature(key_secret, order_id, payment_id):
    """What Razorpay's checkout hands the browser: HMAC-SHA256 of "order_id|payment_id"."""
    return hmac_sha256_hex(key_secret, f"{order_id}|{payment_id}")


def checkout_signature_matches(key_secret, order_id, payment_id, signature):
    """False, never an exception, for anything but the right signature over well-formed ids."""
    if not key_secret or not _is_object_id(order_id, "order") or not _is_object_id(payment_id, "pay"):
        return False
    return signature_matches(checkout_signature(key_secret, order_id, payment_id), signature)


def webhook_signature_matches(webhook_secret, body, signature):
    """Webhooks sign the raw request body; a body that is not bytes is encoded as UTF-8."""
    if not webhook_secret:
        return False
    if isinstance(body, str):
        try:
            body = body.encode()
        except UnicodeEncodeError:
            return False
    if not isinstance(body, bytes):
        return False
    return signature_matches(hmac_sha256_hex(webhook_secret, body), signature)


def error_from_response(response):
    """A GatewayError carrying Razorpay's error code and description from an error response."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    code = str(error.get("code") or ("SERVER_ERROR" if status >= 500 else BAD_REQUEST))
    description = str(error.get("description") or f"Razorpay answered HTTP {status}.")
    return GatewayError(description, transient=status >= 500 or status in TRANSIENT_STATUSES, code=code)


class ApiSession(requests.Session):
    """The HTTP session handed to the SDK: every call has a timeout, and every failure becomes a
    GatewayError with the HTTP status taken into account, raised before the SDK parses anything."""

    def __init__(self, timeout=DEFAULT_TIMEOUT_SECONDS):
        super().__init__()
        self.timeout = timeout

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.Timeout as exc:
            raise GatewayError("Razorpay did not answer in time.", transient=True, code="TIMEOUT") from exc
        except requests.RequestException as exc:
            raise GatewayError("Could not reach Razorpay.", transient=True, code="NETWORK_ERROR") from exc
        with response:
            if not 200 <= response.status_code < 300:
                raise error_from_response(response)
            if response.status_code == 204:
                return response
            try:
                response.json()
            except ValueError as exc:
                raise GatewayError(
                    "Razorpay sent a response that is not JSON.", transient=True, code="BAD_RESPONSE"
                ) from exc
        return response


def payment_from_entity(entity):
    return GatewayPayment(
        id=entity["id"],
        order_id=entity.get("order_id") or "",
        amount_paise=int(entity["amount"]),
        currency=entity.get("currency") or "",
        status=entity["status"],
        method=entity.get("method") or "",
        error_description=entity.get("error_description") or "",
    )


def refund_from_entity(entity):
    return GatewayRefund(
        id=entity["id"],
        payment_id=entity["payment_id"],
        amount_paise=int(entity["amount"]),
        status=entity["status"],
    )


def _read(convert, entity):
    """Turn a response into our value; a response missing its fields is Razorpay's fault."""
    try:
        return convert(entity)
    except (KeyError, TypeError, ValueError) as exc:
        raise GatewayError(
            "Razorpay sent a response without the expected fields.", transient=True, code="BAD_RESPONSE"
        ) from exc


class RazorpayGateway(Gateway):
    name = "razorpay"

    def __init__(self, *, key_id, key_secret, webhook_secret=None, base_url=None, timeout=None):
        self.key_id = key_id
        self._key_secret = key_secret or ""
        self._webhook_secret = webhook_secret or ""
        self._session = ApiSession(timeout or DEFAULT_TIMEOUT_SECONDS)
        options = {}
        if base_url:
            # The SDK appends "/v1/…" itself; accept the origin with or without that suffix.
            base_url = base_url.rstrip("/")
            options["base_url"] = base_url.removesuffix("/v1")
        # The SDK's own retries sleep in the request thread; callers retry transient errors instead.
        self.client = razorpay.Client(session=self._session, auth=(key_id, self._key_secret), **options)
        self.client.set_app_details({"title": "PeerLearn"})

    @classmethod
    def from_config(cls, config):
        return cls(
            key_id=config["RAZORPAY_KEY_ID"],
            key_secret=config["RAZORPAY_KEY_SECRET"],
            webhook_secret=config.get("RAZORPAY_WEBHOOK_SECRET"),
            base_url=config.get("RAZORPAY_BASE_URL"),
            timeout=config.get("RAZORPAY_TIMEOUT_SECONDS"),
        )

    def close(self):
        """Release pooled connections (tests and short-lived scripts)."""
        self._session.close()

    def create_order(self, *, amount_paise, currency, receipt, notes):
        notes = check_order_request(
            amount_paise=amount_paise, currency=currency, receipt=receipt, notes=notes
        )
        order = self.client.order.create(
            {
                "amount": amount_paise,
                "currency": currency,
                "receipt": receipt,
                "notes": notes,
                "payment_capture": 1,
            }
        )
        return _read(lambda entity: str(entity["id"]), order)

    def fetch_payment(self, payment_id):
        check_object_id(payment_id, "pay")
        return _read(payment_from_entity, self.client.payment.fetch(payment_id, {}))

    def order_payments(self, order_id):
        check_object_id(order_id, "order")
        collection = self.client.order.payments(order_id, {})
        return _read(lambda body: [payment_from_entity(item) for item in body["items"]], collection)

    def capture(self, payment_id, *, amount_paise, currency):
        check_object_id(payment_id, "pay")
        check_amount(amount_paise)
        check_currency(currency)
        # Always pass a fresh dict: the SDK writes the amount into it (its default is shared).
        payment = self.client.payment.capture(payment_id, amount_paise, {"currency": currency})
        return _read(payment_from_entity, payment)

    def refund(self, payment_id, *, amount_paise, idempotency_key, notes):
        check_object_id(payment_id, "pay")
        notes = check_refund_request(amount_paise=amount_paise, idempotency_key=idempotency_key, notes=notes)
        refund = self.client.payment.refund(
            payment_id,
            {"amount": amount_paise, "notes": notes},
            headers={"X-Refund-Idempotency": idempotency_key},
        )
        return _read(refund_from_entity, refund)

    def fetch_refund(self, refund_id):
        """The refund's current state (a ``pending`` refund settles later)."""
        check_object_id(refund_id, "rfnd")
        return _read(refund_from_entity, self.client.refund.fetch(refund_id, {}))

    def checkout_signature_valid(self, *, order_id, payment_id, signature):
        return checkout_signature_matches(self._key_secret, order_id, payment_id, signature)

    def webhook_signature_valid(self, body, signature):
        return webhook_signature_matches(self._webhook_secret, body, signature)
