"""A local stand-in for Razorpay's REST API, so the real razorpay SDK can be driven in tests.

It serves what PeerLearn calls on 127.0.0.1 (orders, payments, capture, refunds), checks HTTP basic
auth, answers errors in Razorpay's JSON shape, and honours ``X-Refund-Idempotency``. What a customer
or a bank does outside the API (paying at the checkout, a refund settling, an outage) is done
through plain methods: ``authorize_payment``, ``fail_payment``, ``set_refund_status``, ``outage``.

Behaviour follows Razorpay's documentation: ids are a prefix plus 14 base62 characters; an unknown
id or URL is a 400 ``BAD_REQUEST_ERROR``; bad credentials are a 401; empty ``notes`` come back as
``[]`` (a quirk of Razorpay's API worth surviving); an order created with ``payment_capture: 1``
has its payments captured as soon as they are authorized (unless ``capture_immediately`` is off).
"""

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from requests.structures import CaseInsensitiveDict

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{10,}")
SERVER_ERROR_DESCRIPTION = "The server encountered an error. The incident has been reported to admins."
OUTAGES = (None, "error", "html", "hang")


def random_chars(length=14):
    return "".join(secrets.choice(BASE62) for _ in range(length))


def random_id(prefix):
    return f"{prefix}_{random_chars()}"


def sign(secret, message):
    if isinstance(message, str):
        message = message.encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class ApiError(Exception):
    """An error answer: HTTP status plus Razorpay's ``{"error": {...}}`` body."""

    def __init__(self, status, description, *, code="BAD_REQUEST_ERROR", field_name=None):
        super().__init__(description)
        self.status = status
        self.body = {
            "error": {
                "code": code,
                "description": description,
                "source": "business" if status == 400 else "NA",
                "step": "payment_initiation" if status == 400 else "NA",
                "reason": "input_validation_failed" if field_name else "NA",
                "metadata": {},
            }
        }
        if field_name:
            self.body["error"]["field"] = field_name


def not_found():
    return ApiError(400, "The id provided does not exist")


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: CaseInsensitiveDict
    body: dict | None


@dataclass
class _Order:
    id: str
    amount: int
    currency: str
    receipt: str | None
    notes: dict
    payment_capture: bool
    created_at: int
    status: str = "created"
    attempts: int = 0


@dataclass
class _Payment:
    id: str
    order_id: str
    amount: int
    currency: str
    method: str
    status: str
    created_at: int
    notes: dict = field(default_factory=dict)
    error_code: str | None = None
    error_description: str | None = None


@dataclass
class _Refund:
    id: str
    payment_id: str
    amount: int
    currency: str
    notes: dict
    status: str
    created_at: int


def _notes(notes):
    return dict(notes) if notes else []


class RazorpayStandIn:
    """Start with ``start()``, point the SDK at ``base_url``, ``stop()`` when done."""

    def __init__(self):
        self.key_id = random_id("rzp_test")
        self.key_secret = secrets.token_urlsafe(24)
        self.webhook_secret = secrets.token_urlsafe(24)
        self.orders = {}
        self.payments = {}
        self.refunds = {}
        self.requests = []
        #: None, "error" (500 JSON), "html" (502 page from a proxy) or "hang" (no answer).
        self.outage = None
        #: Honour ``payment_capture: 1``; switch off to leave payments authorized (a late capture).
        self.capture_immediately = True
        #: The status a new refund starts in; Razorpay's test mode processes refunds at once.
        self.new_refund_status = "processed"
        self.hang_seconds = 5.0
        self._idempotency = {}
        self._lock = threading.RLock()
        self._release = threading.Event()
        self._server = None
        self._thread = None

    # Life cycle

    def start(self):
        stand_in = self

        class Handler(_Handler):
            api = stand_in

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self):
        self._release.set()  # wake any request left hanging, so its thread can end
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = None

    @property
    def base_url(self):
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # What happens outside the API: the customer, the bank, the network

    def authorize_payment(self, order_id, amount=None, method="card"):
        """The customer pays at the checkout. Captured at once when the order asked for it."""
        with self._lock:
            order = self.orders[order_id]
            payment = _Payment(
                id=random_id("pay"),
                order_id=order_id,
                amount=order.amount if amount is None else amount,
                currency=order.currency,
                method=method,
                status="authorized",
                created_at=int(time.time()),
            )
            self.payments[payment.id] = payment
            order.attempts += 1
            order.status = "attempted"
            if order.payment_capture and self.capture_immediately:
                self._capture(payment)
            return self._payment_entity(payment)

    def fail_payment(self, order_id, reason="Payment failed"):
        with self._lock:
            order = self.orders[order_id]
            payment = _Payment(
                id=random_id("pay"),
                order_id=order_id,
                amount=order.amount,
                currency=order.currency,
                method="card",
                status="failed",
                created_at=int(time.time()),
                error_code="BAD_REQUEST_ERROR",
                error_description=reason,
            )
            self.payments[payment.id] = payment
            order.attempts += 1
            if order.status == "created":
                order.status = "attempted"
            return self._payment_entity(payment)

    def set_refund_status(self, refund_id, status):
        assert status in ("pending", "processed", "failed")
        with self._lock:
            refund = self.refunds[refund_id]
            refund.status = status
            self._settle(self.payments[refund.payment_id])
            return self._refund_entity(refund)

    def checkout_signature(self, order_id, payment_id):
        """What Razorpay's checkout hands the browser after a successful payment."""
        return sign(self.key_secret, f"{order_id}|{payment_id}")

    def webhook(self, event_type, object_id):
        """``(body, signature, event_id)`` as Razorpay would deliver the event."""
        with self._lock:
            if object_id.startswith("rfnd_"):
                refund = self.refunds[object_id]
                payload = {
                    "refund": {"entity": self._refund_entity(refund)},
                    "payment": {"entity": self._payment_entity(self.payments[refund.payment_id])},
                }
            else:
                payment = self.payments[object_id]
                payload = {"payment": {"entity": self._payment_entity(payment)}}
                if event_type == "order.paid":
                    payload["order"] = {"entity": self._order_entity(self.orders[payment.order_id])}
        event = {
            "entity": "event",
            "account_id": "acc_StandInAccount",
            "event": event_type,
            "contains": list(payload),
            "payload": payload,
            "created_at": int(time.time()),
        }
        body = json.dumps(event).encode()
        return body, sign(self.webhook_secret, body), random_chars()

    def requests_to(self, method, path_pattern):
        return [r for r in self.requests if r.method == method and re.fullmatch(path_pattern, r.path)]

    # The HTTP API

    ROUTES = (
        ("POST", r"/v1/orders", "create_order"),
        ("GET", r"/v1/orders/([^/]+)", "fetch_order"),
        ("GET", r"/v1/orders/([^/]+)/payments", "order_payments"),
        ("GET", r"/v1/payments/([^/]+)", "fetch_payment"),
        ("POST", r"/v1/payments/([^/]+)/capture", "capture"),
        ("POST", r"/v1/payments/([^/]+)/refund", "refund"),
        ("GET", r"/v1/refunds/([^/]+)", "fetch_refund"),
    )

    def handle(self, method, path, headers, body):
        """Answer one request: ``(status, json_body)``."""
        if not self._authorized(headers.get("Authorization", "")):
            raise ApiError(401, "Authentication failed")
        for route_method, pattern, name in self.ROUTES:
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                with self._lock:
                    return 200, getattr(self, f"_api_{name}")(*match.groups(), body=body, headers=headers)
        raise ApiError(400, "The requested URL was not found on the server.")

    def _authorized(self, header):
        scheme, _, encoded = header.partition(" ")
        if scheme != "Basic":
            return False
        try:
            given = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(given, f"{self.key_id}:{self.key_secret}")

    def _api_create_order(self, *, body, headers):
        amount = body.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 100:
            raise ApiError(400, "The amount must be atleast INR 1.00", field_name="amount")
        currency = body.get("currency")
        if not currency:
            raise ApiError(400, "The currency field is required.", field_name="currency")
        receipt = body.get("receipt")
        if receipt is not None and len(str(receipt)) > 40:
            raise ApiError(400, "The receipt may not be greater than 40 characters.", field_name="receipt")
        notes = body.get("notes") or {}
        if not isinstance(notes, dict) or len(notes) > 15:
            raise ApiError(
                400, "Number of fields in notes should be less than or equal to 15", field_name="notes"
            )
        order = _Order(
            id=random_id("order"),
            amount=amount,
            currency=currency,
            receipt=receipt,
            notes=notes,
            payment_capture=body.get("payment_capture") in (1, True, "1"),
            created_at=int(time.time()),
        )
        self.orders[order.id] = order
        return self._order_entity(order)

    def _api_fetch_order(self, order_id, *, body, headers):
        return self._order_entity(self._find(self.orders, order_id))

    def _api_order_payments(self, order_id, *, body, headers):
        self._find(self.orders, order_id)
        items = [self._payment_entity(p) for p in self.payments.values() if p.order_id == order_id]
        return {"entity": "collection", "count": len(items), "items": items}

    def _api_fetch_payment(self, payment_id, *, body, headers):
        return self._payment_entity(self._find(self.payments, payment_id))

    def _api_capture(self, payment_id, *, body, headers):
        payment = self._find(self.payments, payment_id)
        if payment.status in ("captured", "refunded"):
            raise ApiError(400, "This payment has already been captured")
        if payment.status != "authorized":
            raise ApiError(
                400, "Only payments which have been authorized and not yet captured can be captured"
            )
        if not body.get("currency"):
            raise ApiError(400, "The currency field is required.", field_name="currency")
        if body.get("amount") != payment.amount:
            raise ApiError(400, "Capture amount must be equal to the amount authorized", field_name="amount")
        self._capture(payment)
        return self._payment_entity(payment)

    def _api_refund(self, payment_id, *, body, headers):
        key = headers.get("X-Refund-Idempotency")
        fingerprint = json.dumps([payment_id, body], sort_keys=True)
        if key is not None:
            if not IDEMPOTENCY_KEY.fullmatch(key):
                raise ApiError(400, "The idempotency key must be at least 10 characters long.")
            if key in self._idempotency:
                seen_fingerprint, refund_id = self._idempotency[key]
                if seen_fingerprint != fingerprint:
                    raise ApiError(
                        400, "Different request with the same idempotency key has already been processed."
                    )
                return self._refund_entity(self.refunds[refund_id])
        payment = self._find(self.payments, payment_id)
        if payment.status not in ("captured", "refunded"):
            raise ApiError(400, "The payment has not been captured")
        available = payment.amount - self._refunded(payment)
        amount = body.get("amount", available)
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 100:
            raise ApiError(400, "The amount must be atleast INR 1.00", field_name="amount")
        if amount > available:
            raise ApiError(
                400, "The refund amount provided is greater than amount not refunded.", field_name="amount"
            )
        refund = _Refund(
            id=random_id("rfnd"),
            payment_id=payment_id,
            amount=amount,
            currency=payment.currency,
            notes=body.get("notes") or {},
            status=self.new_refund_status,
            created_at=int(time.time()),
        )
        self.refunds[refund.id] = refund
        if key is not None:
            self._idempotency[key] = (fingerprint, refund.id)
        self._settle(payment)
        return self._refund_entity(refund)

    def _api_fetch_refund(self, refund_id, *, body, headers):
        return self._refund_entity(self._find(self.refunds, refund_id))

    # State and shapes

    def _find(self, table, object_id):
        try:
            return table[object_id]
        except KeyError:
            raise not_found() from None

    def _capture(self, payment):
        payment.status = "captured"
        self.orders[payment.order_id].status = "paid"

    def _refunded(self, payment):
        return sum(
            r.amount for r in self.refunds.values() if r.payment_id == payment.id and r.status != "failed"
        )

    def _settle(self, payment):
        if payment.status in ("captured", "refunded"):
            payment.status = "refunded" if self._refunded(payment) >= payment.amount else "captured"

    def _order_entity(self, order):
        paid = order.amount if order.status == "paid" else 0
        return {
            "id": order.id,
            "entity": "order",
            "amount": order.amount,
            "amount_paid": paid,
            "amount_due": order.amount - paid,
            "currency": order.currency,
            "receipt": order.receipt,
            "offer_id": None,
            "status": order.status,
            "attempts": order.attempts,
            "notes": _notes(order.notes),
            "created_at": order.created_at,
        }

    def _payment_entity(self, payment):
        refunded = self._refunded(payment)
        return {
            "id": payment.id,
            "entity": "payment",
            "amount": payment.amount,
            "currency": payment.currency,
            "status": payment.status,
            "order_id": payment.order_id,
            "invoice_id": None,
            "international": False,
            "method": payment.method,
            "amount_refunded": refunded,
            "refund_status": None if not refunded else ("full" if refunded >= payment.amount else "partial"),
            "captured": payment.status in ("captured", "refunded"),
            "description": None,
            "email": "learner@example.com",
            "contact": "+919000090000",
            "notes": _notes(payment.notes),
            "fee": None,
            "tax": None,
            "error_code": payment.error_code,
            "error_description": payment.error_description,
            "created_at": payment.created_at,
        }

    def _refund_entity(self, refund):
        return {
            "id": refund.id,
            "entity": "refund",
            "amount": refund.amount,
            "currency": refund.currency,
            "payment_id": refund.payment_id,
            "notes": _notes(refund.notes),
            "receipt": None,
            "acquirer_data": {"arn": None},
            "created_at": refund.created_at,
            "batch_id": None,
            "status": refund.status,
            "speed_processed": "normal",
            "speed_requested": "normal",
        }


class _Server(ThreadingHTTPServer):
    # Join every request thread on close, so no socket outlives the fixture.
    daemon_threads = False
    block_on_close = True

    def handle_error(self, request, client_address):
        """A client that gave up (a timeout test) is expected; stay quiet about it."""


class _Handler(BaseHTTPRequestHandler):
    api: RazorpayStandIn
    server_version = "RazorpayStandIn/1.0"

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def log_message(self, format, *args):
        """Tests read ``api.requests`` instead of an access log."""

    def _serve(self, method):
        api = self.api
        path = self.path.split("?", 1)[0]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = CaseInsensitiveDict(self.headers.items())
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        with api._lock:
            api.requests.append(RecordedRequest(method, path, headers, body))
            outage = api.outage
        if outage == "hang":
            api._release.wait(api.hang_seconds)
            return  # the connection closes without an answer
        if outage == "html":
            self._send(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
            return
        try:
            if outage == "error":
                raise ApiError(500, SERVER_ERROR_DESCRIPTION, code="SERVER_ERROR")
            if not isinstance(body, dict):
                raise ApiError(400, "The request body must be a JSON object.")
            status, answer = api.handle(method, path, headers, body)
        except ApiError as exc:
            status, answer = exc.status, exc.body
        self._send(status, json.dumps(answer).encode(), "application/json")

    def _send(self, status, payload, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
