"""Both gateways behind one interface: RazorpayGateway drives the real razorpay SDK against the local
stand-in of Razorpay's API; DevGateway plays Razorpay from the app's own database."""

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peerlearn.extensions import db
from peerlearn.models import DevGatewayObject, Payment, User
from peerlearn.payments import GatewayError, get_gateway
from peerlearn.payments.base import hmac_sha256_hex
from peerlearn.payments.dev import DevGateway
from peerlearn.payments.razorpay_gateway import RazorpayGateway
from tests.conftest import extract_csrf, free_port

ORDER_ID = re.compile(r"order_[0-9A-Za-z]{14}")
PAYMENT_ID = re.compile(r"pay_[0-9A-Za-z]{14}")
REFUND_ID = re.compile(r"rfnd_[0-9A-Za-z]{14}")


class RazorpayDriver:
    """Does what the customer and Razorpay's servers do, for RazorpayGateway."""

    def __init__(self, gateway, api):
        self.gateway = gateway
        self.api = api

    def pay(self, order_id, *, capture=True):
        self.api.capture_immediately = capture
        payment = self.api.authorize_payment(order_id, method="upi")
        return payment["id"], self.api.checkout_signature(order_id, payment["id"])

    def fail(self, order_id, reason):
        return self.api.fail_payment(order_id, reason)["id"]

    def webhook(self, event_type, object_id):
        body, signature, _event_id = self.api.webhook(event_type, object_id)
        return body, signature


class DevDriver:
    """The same, for DevGateway: the customer pays on its local checkout."""

    def __init__(self, gateway):
        self.gateway = gateway

    def pay(self, order_id, *, capture=True):
        payment, signature = self.gateway.pay(order_id, method="upi", capture=capture)
        return payment.id, signature

    def fail(self, order_id, reason):
        payment, _signature = self.gateway.pay(order_id, succeed=False, error_description=reason)
        return payment.id

    def webhook(self, event_type, object_id):
        body, signature, _event_id = self.gateway.webhook_payload(event_type, object_id)
        return body, signature


@pytest.fixture(params=["razorpay", "dev"])
def driver(request, app):
    if request.param == "razorpay":
        request.getfixturevalue("razorpay_app")
        gateway = get_gateway()
        assert isinstance(gateway, RazorpayGateway)
        return RazorpayDriver(gateway, request.getfixturevalue("razorpay_api"))
    gateway = get_gateway()
    assert isinstance(gateway, DevGateway)
    return DevDriver(gateway)


def new_order(gateway, amount_paise=49_900, receipt="booking-1"):
    return gateway.create_order(
        amount_paise=amount_paise, currency="INR", receipt=receipt, notes={"booking_id": "1"}
    )


def assert_refused(excinfo, code="BAD_REQUEST_ERROR"):
    assert excinfo.value.transient is False
    assert excinfo.value.code == code
    assert str(excinfo.value)


# The interface, on both gateways


def test_order_then_captured_payment(driver):
    gateway = driver.gateway
    order_id = new_order(gateway)
    assert ORDER_ID.fullmatch(order_id)
    assert gateway.order_payments(order_id) == []

    payment_id, _signature = driver.pay(order_id)
    payment = gateway.fetch_payment(payment_id)
    assert PAYMENT_ID.fullmatch(payment.id)
    assert (payment.order_id, payment.amount_paise, payment.currency) == (order_id, 49_900, "INR")
    assert (payment.status, payment.method, payment.error_description) == ("captured", "upi", "")
    assert gateway.order_payments(order_id) == [payment]


def test_failed_attempt_then_success_are_both_listed_for_the_order(driver):
    gateway = driver.gateway
    order_id = new_order(gateway)
    failed_id = driver.fail(order_id, "Card declined by the issuing bank")
    paid_id, _signature = driver.pay(order_id)

    payments = gateway.order_payments(order_id)
    assert [p.id for p in payments] == [failed_id, paid_id]
    assert payments[0].status == "failed"
    assert payments[0].error_description == "Card declined by the issuing bank"
    assert payments[1].status == "captured"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"receipt": "r" * 41}, "receipt"),
        ({"amount_paise": 99}, "amount"),
        ({"amount_paise": 499.0}, "amount"),
        ({"currency": "inr"}, "currency"),
        ({"notes": {f"k{i}": "v" for i in range(16)}}, "Notes"),
        ({"notes": {"long": "x" * 257}}, "note"),
    ],
)
def test_order_requests_razorpay_would_refuse_are_refused(driver, fields, message):
    request = {"amount_paise": 49_900, "currency": "INR", "receipt": "booking-1", "notes": {}}
    request.update(fields)
    with pytest.raises(GatewayError, match=message) as excinfo:
        driver.gateway.create_order(**request)
    assert_refused(excinfo)


def test_receipt_of_exactly_forty_characters_is_accepted(driver):
    assert ORDER_ID.fullmatch(new_order(driver.gateway, receipt="r" * 40))


def test_capture_of_an_authorized_payment(driver):
    gateway = driver.gateway
    order_id = new_order(gateway)
    payment_id, _signature = driver.pay(order_id, capture=False)
    assert gateway.fetch_payment(payment_id).status == "authorized"

    with pytest.raises(GatewayError, match="equal to the amount authorized") as excinfo:
        gateway.capture(payment_id, amount_paise=100, currency="INR")
    assert_refused(excinfo)

    captured = gateway.capture(payment_id, amount_paise=49_900, currency="INR")
    assert (captured.id, captured.status, captured.amount_paise) == (payment_id, "captured", 49_900)
    assert gateway.fetch_payment(payment_id).status == "captured"

    with pytest.raises(GatewayError, match="already been captured") as excinfo:
        gateway.capture(payment_id, amount_paise=49_900, currency="INR")
    assert_refused(excinfo)


def test_refund_is_idempotent_and_never_exceeds_the_capture(driver):
    gateway = driver.gateway
    payment_id, _signature = driver.pay(new_order(gateway))

    first = gateway.refund(payment_id, amount_paise=20_000, idempotency_key="refund-0001", notes={"why": "a"})
    again = gateway.refund(payment_id, amount_paise=20_000, idempotency_key="refund-0001", notes={"why": "a"})
    assert REFUND_ID.fullmatch(first.id)
    assert again == first
    assert (first.payment_id, first.amount_paise, first.status) == (payment_id, 20_000, "processed")
    assert gateway.fetch_payment(payment_id).status == "captured"  # partly refunded

    with pytest.raises(GatewayError, match="same idempotency key") as excinfo:
        gateway.refund(payment_id, amount_paise=5_000, idempotency_key="refund-0001", notes={"why": "a"})
    assert_refused(excinfo)

    # 29,900 paise remain; asking for more is refused and changes nothing.
    with pytest.raises(GatewayError, match="greater than amount not refunded") as excinfo:
        gateway.refund(payment_id, amount_paise=29_901, idempotency_key="refund-0002", notes={})
    assert_refused(excinfo)

    rest = gateway.refund(payment_id, amount_paise=29_900, idempotency_key="refund-0002", notes={})
    assert rest.id != first.id
    assert gateway.fetch_payment(payment_id).status == "refunded"
    assert gateway.fetch_refund(rest.id) == rest


def test_refund_of_a_failed_payment_is_refused(driver):
    gateway = driver.gateway
    failed_id = driver.fail(new_order(gateway), "Declined")
    with pytest.raises(GatewayError) as excinfo:
        gateway.refund(failed_id, amount_paise=100, idempotency_key="refund-0003", notes={})
    assert_refused(excinfo)


@pytest.mark.parametrize("key", ["short", "has space-in-it", "ключ-ключ-ключ", None])
def test_refund_needs_a_well_formed_idempotency_key(driver, key):
    payment_id, _signature = driver.pay(new_order(driver.gateway))
    with pytest.raises(GatewayError, match="idempotency key") as excinfo:
        driver.gateway.refund(payment_id, amount_paise=100, idempotency_key=key, notes={})
    assert_refused(excinfo)


@pytest.mark.parametrize(
    "payment_id", ["pay_0000000000000X", "pay_../orders", "order_00000000000000", "", None]
)
def test_unknown_or_malformed_ids_are_refused(driver, payment_id):
    with pytest.raises(GatewayError, match="does not exist") as excinfo:
        driver.gateway.fetch_payment(payment_id)
    assert_refused(excinfo)


def test_checkout_signature(driver):
    gateway = driver.gateway
    order_id = new_order(gateway)
    payment_id, signature = driver.pay(order_id)
    other_id, other_signature = driver.pay(new_order(gateway))

    def valid(order=order_id, payment=payment_id, sig=signature):
        return gateway.checkout_signature_valid(order_id=order, payment_id=payment, signature=sig)

    assert valid() is True
    assert valid(sig=signature.upper()) is True  # hex is hex
    assert valid(sig=f" {signature}\n") is True
    assert valid(payment=other_id) is False
    assert valid(sig=other_signature) is False
    assert valid(sig=signature[:-1] + ("0" if signature[-1] != "0" else "1")) is False
    for bad in ["", "é" * 64, "\ud800" * 64, None, 123, b"abc", signature[:32]]:
        assert valid(sig=bad) is False
    for bad_id in ["", "é", "\ud800", None, f"{order_id}|x"]:
        assert valid(order=bad_id) is False
        assert valid(payment=bad_id) is False


def test_webhook_signature(driver):
    gateway = driver.gateway
    payment_id, _signature = driver.pay(new_order(gateway))
    body, signature = driver.webhook("payment.captured", payment_id)

    assert gateway.webhook_signature_valid(body, signature) is True
    assert gateway.webhook_signature_valid(body.decode(), signature) is True
    event = json.loads(body)
    assert event["event"] == "payment.captured"
    assert event["payload"]["payment"]["entity"]["id"] == payment_id

    tampered = body.replace(b'"captured"', b'"refunded"', 1)
    assert tampered != body
    assert gateway.webhook_signature_valid(tampered, signature) is False
    assert gateway.webhook_signature_valid(body + b" ", signature) is False
    for bad in ["", "é" * 64, None, 0, signature[:-2]]:
        assert gateway.webhook_signature_valid(body, bad) is False
    assert gateway.webhook_signature_valid(None, signature) is False
    assert gateway.webhook_signature_valid("\ud800", signature) is False


@given(
    order_id=st.text(max_size=30),
    payment_id=st.text(max_size=30),
    signature=st.one_of(st.text(max_size=80), st.binary(max_size=80), st.none(), st.integers()),
    body=st.one_of(st.binary(max_size=200), st.text(max_size=200)),
)
def test_signature_checks_answer_false_and_never_raise(order_id, payment_id, signature, body):
    gateways = [
        DevGateway.from_config({"SECRET_KEY": "property-test-secret"}),
        RazorpayGateway(key_id="rzp_test_x", key_secret="secret", webhook_secret="hook-secret"),  # noqa: S106 - a test's own credential, not a secret
    ]
    try:
        for gateway in gateways:
            assert (
                gateway.checkout_signature_valid(
                    order_id=order_id, payment_id=payment_id, signature=signature
                )
                is False
            )
            assert gateway.webhook_signature_valid(body, signature) is False
    finally:
        gateways[1].close()


# RazorpayGateway: what actually goes over the wire


def test_order_reaches_razorpay_as_sent(razorpay_app, razorpay_api):
    gateway = get_gateway()
    order_id = gateway.create_order(
        amount_paise=123_456, currency="INR", receipt="booking-42", notes={"booking_id": "42", "seats": 1}
    )
    (sent,) = razorpay_api.requests_to("POST", "/v1/orders")
    assert sent.body == {
        "amount": 123_456,
        "currency": "INR",
        "receipt": "booking-42",
        "notes": {"booking_id": "42", "seats": 1},
        "payment_capture": 1,
    }
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["User-Agent"].startswith("Razorpay-Python/")
    order = razorpay_api.orders[order_id]
    assert (order.amount, order.currency, order.receipt, order.payment_capture) == (
        123_456,
        "INR",
        "booking-42",
        True,
    )


def test_refused_order_is_never_sent(razorpay_app, razorpay_api):
    with pytest.raises(GatewayError, match="40 characters"):
        get_gateway().create_order(amount_paise=10_000, currency="INR", receipt="r" * 41, notes={})
    assert razorpay_api.requests == []


def test_refund_sends_the_idempotency_header_and_razorpay_makes_one_refund(razorpay_app, razorpay_api):
    gateway = get_gateway()
    order_id = new_order(gateway)
    payment_id = razorpay_api.authorize_payment(order_id)["id"]

    refunds = [
        gateway.refund(payment_id, amount_paise=10_000, idempotency_key="cancel-booking-7", notes={"b": "7"})
        for _ in range(2)
    ]
    assert refunds[0] == refunds[1]
    calls = razorpay_api.requests_to("POST", rf"/v1/payments/{payment_id}/refund")
    assert [c.headers["X-Refund-Idempotency"] for c in calls] == ["cancel-booking-7", "cancel-booking-7"]
    assert [c.body for c in calls] == [{"amount": 10_000, "notes": {"b": "7"}}] * 2
    assert list(razorpay_api.refunds) == [refunds[0].id]


def test_pending_refund_settles_later(razorpay_app, razorpay_api):
    gateway = get_gateway()
    payment_id = razorpay_api.authorize_payment(new_order(gateway))["id"]
    razorpay_api.new_refund_status = "pending"
    refund = gateway.refund(payment_id, amount_paise=49_900, idempotency_key="refund-pending-1", notes={})
    assert refund.status == "pending"
    razorpay_api.set_refund_status(refund.id, "processed")
    assert gateway.fetch_refund(refund.id).status == "processed"


def test_empty_notes_come_back_as_a_list_and_still_parse(razorpay_app, razorpay_api):
    gateway = get_gateway()
    order_id = gateway.create_order(amount_paise=10_000, currency="INR", receipt="r-1", notes=None)
    payment_id = razorpay_api.authorize_payment(order_id)["id"]
    assert razorpay_api.requests_to("POST", "/v1/orders")[0].body["notes"] == {}
    assert gateway.fetch_payment(payment_id).status == "captured"


def test_wrong_credentials_are_a_permanent_error(razorpay_api):
    gateway = RazorpayGateway(
        key_id=razorpay_api.key_id,
        key_secret="not-the-secret",  # noqa: S106 - a test's own credential, not a secret
        base_url=razorpay_api.base_url,
    )
    try:
        with pytest.raises(GatewayError, match="Authentication failed") as excinfo:
            new_order(gateway)
    finally:
        gateway.close()
    assert_refused(excinfo)


@pytest.mark.parametrize(
    ("outage", "code", "message"),
    [
        ("error", "SERVER_ERROR", "The server encountered an error"),
        ("html", "SERVER_ERROR", "HTTP 502"),
    ],
)
def test_server_errors_are_transient(razorpay_app, razorpay_api, capsys, outage, code, message):
    gateway = get_gateway()
    razorpay_api.outage = outage
    with pytest.raises(GatewayError, match=message) as excinfo:
        new_order(gateway)
    assert (excinfo.value.transient, excinfo.value.code) == (True, code)
    assert capsys.readouterr().out == ""  # the SDK's own prints never run

    razorpay_api.outage = None
    assert ORDER_ID.fullmatch(new_order(gateway))


def test_a_hanging_razorpay_times_out_as_a_transient_error(razorpay_api, capsys):
    razorpay_api.outage = "hang"
    gateway = RazorpayGateway(
        key_id=razorpay_api.key_id,
        key_secret=razorpay_api.key_secret,
        base_url=razorpay_api.base_url,
        timeout=0.3,
    )
    try:
        with pytest.raises(GatewayError) as excinfo:
            gateway.fetch_payment("pay_00000000000000")
    finally:
        gateway.close()
    assert (excinfo.value.transient, excinfo.value.code) == (True, "TIMEOUT")
    assert capsys.readouterr().out == ""


def test_unreachable_razorpay_is_a_transient_error(capsys):
    gateway = RazorpayGateway(
        key_id="rzp_test_x",
        key_secret="secret",  # noqa: S106 - a test's own credential, not a secret
        base_url=f"http://127.0.0.1:{free_port()}",
    )
    try:
        with pytest.raises(GatewayError) as excinfo:
            new_order(gateway)
    finally:
        gateway.close()
    assert (excinfo.value.transient, excinfo.value.code) == (True, "NETWORK_ERROR")
    assert capsys.readouterr().out == ""


def test_base_url_may_include_the_api_version(razorpay_api):
    gateway = RazorpayGateway.from_config(
        {
            "RAZORPAY_KEY_ID": razorpay_api.key_id,
            "RAZORPAY_KEY_SECRET": razorpay_api.key_secret,
            "RAZORPAY_BASE_URL": razorpay_api.base_url + "/v1/",
        }
    )
    try:
        assert ORDER_ID.fullmatch(new_order(gateway))
    finally:
        gateway.close()
    assert gateway.webhook_signature_valid(b"{}", "") is False  # no webhook secret configured


# DevGateway: its keys, its events, and whose transaction it writes in


def test_dev_keys_come_from_the_secret_key():
    one = DevGateway.from_config({"SECRET_KEY": "first-secret"})
    same = DevGateway.from_config({"SECRET_KEY": "first-secret"})
    other = DevGateway.from_config({"SECRET_KEY": "second-secret"})
    ids = {"order_id": "order_0000000000000A", "payment_id": "pay_0000000000000A"}
    key_secret = hmac_sha256_hex("first-secret", "dev-gateway")
    signature = hmac_sha256_hex(key_secret, "order_0000000000000A|pay_0000000000000A")
    assert one.key_id == "rzp_dev_local"
    assert one.checkout_signature_valid(**ids, signature=signature) is True
    assert same.checkout_signature_valid(**ids, signature=signature) is True
    assert other.checkout_signature_valid(**ids, signature=signature) is False


def test_dev_webhook_events_look_like_razorpays(app):
    gateway = get_gateway()
    order_id = new_order(gateway)
    payment, _signature = gateway.pay(order_id, method="card")

    body, signature, event_id = gateway.webhook_payload("order.paid", payment)
    event = json.loads(body)
    assert re.fullmatch(r"[0-9A-Za-z]{14}", event_id)
    assert gateway.webhook_signature_valid(body, signature)
    assert (event["entity"], event["event"], event["contains"]) == (
        "event",
        "order.paid",
        ["payment", "order"],
    )
    entity = event["payload"]["payment"]["entity"]
    assert (entity["id"], entity["order_id"], entity["amount"], entity["status"], entity["captured"]) == (
        payment.id,
        order_id,
        49_900,
        "captured",
        True,
    )
    order = event["payload"]["order"]["entity"]
    assert (order["status"], order["amount_paid"], order["amount_due"], order["receipt"]) == (
        "paid",
        49_900,
        0,
        "booking-1",
    )

    refund = gateway.refund(payment.id, amount_paise=9_900, idempotency_key="refund-hook-1", notes={})
    body, _signature, other_event_id = gateway.webhook_payload("refund.processed", refund.id)
    event = json.loads(body)
    assert other_event_id != event_id
    assert event["contains"] == ["refund", "payment"]
    assert event["payload"]["refund"]["entity"]["status"] == "processed"
    assert event["payload"]["payment"]["entity"]["amount_refunded"] == 9_900
    assert event["payload"]["payment"]["entity"]["refund_status"] == "partial"

    failed, no_signature = gateway.pay(new_order(gateway), succeed=False)
    assert no_signature == ""
    body, _signature, _event_id = gateway.webhook_payload("payment.failed", failed.id)
    entity = json.loads(body)["payload"]["payment"]["entity"]
    assert (entity["status"], entity["error_code"]) == ("failed", "BAD_REQUEST_ERROR")
    assert entity["error_description"] == failed.error_description != ""

    with pytest.raises(ValueError, match="unsupported event"):
        gateway.webhook_payload("payment.teleported", payment)
    with pytest.raises(GatewayError):
        gateway.webhook_payload("refund.processed", payment)  # a payment is not a refund


def test_dev_order_cannot_be_paid_twice(app):
    gateway = get_gateway()
    order_id = new_order(gateway)
    gateway.pay(order_id, succeed=False)
    assert gateway.order_status(order_id) == "attempted"
    gateway.pay(order_id)
    assert gateway.order_status(order_id) == "paid"
    with pytest.raises(GatewayError, match="already been completed") as excinfo:
        gateway.pay(order_id)
    assert_refused(excinfo)
    with pytest.raises(GatewayError, match="payment method") as excinfo:
        gateway.pay(new_order(gateway), method="cash")
    assert_refused(excinfo)


def test_dev_failed_refund_frees_the_amount_again(app):
    gateway = get_gateway()
    payment, _signature = gateway.pay(new_order(gateway, amount_paise=10_000))
    refund = gateway.refund(payment.id, amount_paise=10_000, idempotency_key="refund-full-1", notes={})
    assert gateway.fetch_payment(payment.id).status == "refunded"

    assert gateway.set_refund_status(refund.id, "failed").status == "failed"
    assert gateway.fetch_payment(payment.id).status == "captured"
    again = gateway.refund(payment.id, amount_paise=10_000, idempotency_key="refund-full-2", notes={})
    assert again.status == "processed"


def test_dev_gateway_never_commits_the_callers_work(app):
    gateway = get_gateway()
    db.session.add(
        User(
            name="Pending Person",
            email="pending@example.com",
            timezone="UTC",
            password_hash="-",  # noqa: S106 - a test's own credential, not a secret
        )
    )
    order_id = new_order(gateway)
    db.session.rollback()

    assert db.session.query(User).filter_by(email="pending@example.com").count() == 0
    # The order went with the caller's transaction: the gateway wrote inside it, never around it.
    assert db.session.query(DevGatewayObject).filter_by(object_id=order_id).count() == 0


def test_dev_gateway_refusal_leaves_the_callers_transaction_usable(app):
    gateway = get_gateway()
    payment, _signature = gateway.pay(new_order(gateway, amount_paise=10_000))
    db.session.commit()

    user = User(name="Kept Person", email="kept@example.com", timezone="UTC", password_hash="-")  # noqa: S106 - a test's own credential, not a secret
    db.session.add(user)
    with pytest.raises(GatewayError):
        gateway.refund(payment.id, amount_paise=10_001, idempotency_key="refund-over-1", notes={})
    db.session.commit()

    assert db.session.query(User).filter_by(email="kept@example.com").one() is user
    assert db.session.query(DevGatewayObject).filter_by(kind="refund").count() == 0


def test_dev_refund_race_on_one_key_answers_with_the_first_refund(app, monkeypatch):
    gateway = get_gateway()
    payment, _signature = gateway.pay(new_order(gateway, amount_paise=10_000))
    first = gateway.refund(payment.id, amount_paise=4_000, idempotency_key="refund-race-1", notes={})
    db.session.commit()

    # A twin request got past the lookup before the first one's row existed.
    lookup = DevGateway._refund_for_key
    misses = iter([True])
    monkeypatch.setattr(
        DevGateway,
        "_refund_for_key",
        lambda self, *args: None if next(misses, False) else lookup(self, *args),
    )
    user = User(name="Kept Person", email="kept@example.com", timezone="UTC", password_hash="-")  # noqa: S106 - a test's own credential, not a secret
    db.session.add(user)
    again = gateway.refund(payment.id, amount_paise=4_000, idempotency_key="refund-race-1", notes={})
    db.session.commit()

    assert again == first
    assert db.session.query(DevGatewayObject).filter_by(kind="refund").count() == 1
    assert db.session.query(User).filter_by(email="kept@example.com").one() is user


# The dev gateway's checkout page


@pytest.fixture
def gift_order(app, make_user):
    """A learner's open dev-gateway order (a gift needs no booking), and the gateway."""
    learner = make_user(email="payer@example.com")
    mentor = make_user(role="mentor", name="Meera Mentor")
    gateway = get_gateway()
    order_id = gateway.create_order(amount_paise=25_000, currency="INR", receipt="gift-1", notes={})
    db.session.add(
        Payment(
            purpose="gift",
            payer_id=learner.id,
            mentor_id=mentor.id,
            gateway=gateway.name,
            order_id=order_id,
            receipt="gift-1",
            amount_paise=25_000,
        )
    )
    db.session.commit()
    return gateway, order_id


def checkout_page(client, order_id):
    return client.get(f"/payments/dev-checkout/{order_id}")


def test_dev_checkout_shows_the_order_to_its_payer_only(client, auth, make_user, gift_order):
    _gateway, order_id = gift_order
    assert checkout_page(client, order_id).status_code == 302  # to the login page

    make_user(email="someone-else@example.com")
    auth.login("someone-else@example.com")
    assert checkout_page(client, order_id).status_code == 404
    auth.logout()

    auth.login("payer@example.com")
    page = checkout_page(client, order_id)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "PeerLearn test checkout" in html and "No real money moves" in html
    assert "A gift for Meera Mentor" in html
    assert "Pay ₹250" in html and "Simulate a failed payment" in html
    assert checkout_page(client, "order_00000000000000").status_code == 404


def test_dev_checkout_pays_and_returns_a_valid_signature(client, auth, gift_order):
    gateway, order_id = gift_order
    auth.login("payer@example.com")
    token = extract_csrf(checkout_page(client, order_id).get_data(as_text=True))

    response = client.post(
        f"/payments/dev-checkout/{order_id}/pay", data={"csrf_token": token, "method": "card"}
    )
    assert response.status_code == 303
    target = urlsplit(response.headers["Location"])
    query = parse_qs(target.query)
    assert target.path == "/payments/dev-return"
    assert query["order_id"] == [order_id]
    assert gateway.checkout_signature_valid(
        order_id=order_id, payment_id=query["payment_id"][0], signature=query["signature"][0]
    )
    payment = gateway.fetch_payment(query["payment_id"][0])
    assert (payment.status, payment.method, payment.amount_paise) == ("captured", "card", 25_000)

    # Paid orders cannot be paid again; the page says so and offers no button.
    again = client.post(f"/payments/dev-checkout/{order_id}/pay", data={"csrf_token": token, "method": "upi"})
    assert (
        again.status_code == 303
        and urlsplit(again.headers["Location"]).path == f"/payments/dev-checkout/{order_id}"
    )
    html = checkout_page(client, order_id).get_data(as_text=True)
    assert "already been completed" in html and "This order is already paid" in html
    assert "Simulate a failed payment" not in html
    assert len(gateway.order_payments(order_id)) == 1


def test_dev_checkout_failure_returns_without_a_signature(client, auth, gift_order):
    gateway, order_id = gift_order
    auth.login("payer@example.com")
    token = extract_csrf(checkout_page(client, order_id).get_data(as_text=True))

    response = client.post(
        f"/payments/dev-checkout/{order_id}/fail", data={"csrf_token": token, "method": "upi"}
    )
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert response.status_code == 303
    assert query["failed"] == ["1"] and "signature" not in query
    assert gateway.fetch_payment(query["payment_id"][0]).status == "failed"


def test_dev_checkout_refuses_forged_and_invalid_posts(client, auth, gift_order):
    gateway, order_id = gift_order
    auth.login("payer@example.com")
    assert client.post(f"/payments/dev-checkout/{order_id}/pay", data={"method": "upi"}).status_code == 400
    token = extract_csrf(checkout_page(client, order_id).get_data(as_text=True))
    invalid = client.post(
        f"/payments/dev-checkout/{order_id}/pay", data={"csrf_token": token, "method": "cash"}
    )
    assert invalid.status_code == 422
    assert gateway.order_payments(order_id) == []


def test_dev_checkout_does_not_exist_when_razorpay_is_configured(client, auth, gift_order, razorpay_app):
    _gateway, order_id = gift_order
    auth.login("payer@example.com")
    assert checkout_page(client, order_id).status_code == 404
