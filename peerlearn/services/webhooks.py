"""Outgoing webhooks: mentors and admins register HTTPS endpoints and receive signed events.

An event a service records (``peerlearn.events``) becomes one ``WebhookDelivery`` per endpoint
that chose it, written in the change's own transaction and staged on the outbox; after the commit
the outbox hands each delivery to the ``deliver`` job (``peerlearn.subscriptions``). A rollback
drops the deliveries with the change, so no receiver hears of something that did not happen.

Who hears what: a mentor's endpoints get the events about their own sessions, bookings, payments
and reviews; an admin's endpoints get every event. Payloads carry what that owner may see on the
site and no secrets (learners appear by id and name only).

Each attempt first claims the delivery with one conditional UPDATE (status pending, due now), so
the job and the periodic retry sweep never send the same attempt twice. A failed attempt (no
answer within the timeouts, or any status outside 2xx) is retried after the next pause of
``WEBHOOK_RETRY_SECONDS`` with jitter, up to their number, then the delivery is failed. An
endpoint whose attempts fail ``WEBHOOK_DISABLE_AFTER_FAILURES`` times in a row is disabled and
its owner told in the app and by email; one success sets the count back to zero.

Requests carry ``PeerLearn-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` made
with the endpoint's secret; ``verify_signature`` is the check receivers are shown in the docs.
"""

import contextlib
import hashlib
import hmac
import http.client
import json
import logging
import random
import secrets
import socket
import ssl
import threading
import time
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update

from .. import i18n, system_texts
from ..exceptions import NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..links import external_url
from ..models import (
    WEBHOOK_EVENT_TYPES,
    Booking,
    DeliveryStatus,
    LearningSession,
    NotificationKind,
    Payment,
    User,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from . import outbound, outbox
from .notifications.email import Email
from .notifications.inbox import notify
from .pagination import paginate
from .transactions import use_case

log = logging.getLogger(__name__)

PING = "ping"
SIGNATURE_HEADER = "PeerLearn-Signature"
EVENT_HEADER = "PeerLearn-Event"
DELIVERY_HEADER = "PeerLearn-Delivery"
# How much of a receiver's answer is read, and kept in the delivery log.
RESPONSE_READ_BYTES = 4096
RESPONSE_EXCERPT_CHARS = 500
# While an attempt is under way its delivery is not due: a worker that dies mid-attempt leaves
# it to the sweep after this long.
CLAIM_SECONDS = 120
SIGNATURE_TOLERANCE_SECONDS = 300
MAX_ENDPOINTS_PER_USER = 10
DELIVERIES_PER_PAGE = 25


# ----------------------------------------------------------------------------- signing


def new_secret():
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret, timestamp, body):
    """The ``v1`` value: hex HMAC-SHA256 of ``"<timestamp>.<body>"`` keyed with the secret."""
    if isinstance(body, str):
        body = body.encode()
    message = str(int(timestamp)).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret, timestamp, body):
    return f"t={int(timestamp)},v1={signature(secret, timestamp, body)}"


def verify_signature(secret, header, body, *, tolerance=SIGNATURE_TOLERANCE_SECONDS, now=None):
    """Whether ``header`` (a ``PeerLearn-Signature`` value) signs ``body`` with ``secret`` and is
    no older than ``tolerance`` seconds (a replayed request is refused)."""
    parts = {}
    for item in (header or "").split(","):
        key, _equals, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", ()))


# ----------------------------------------------------------------------------- addresses


def _allow_local():
    return current_app.config["WEBHOOKS_ALLOW_LOCAL_URLS"]


def resolve(url):
    """Check ``url`` and return ``(scheme, host, port, path, address)``: the IP address to
    connect to. In production only https to public addresses: a private, loopback or link-local
    address (the metadata service, the database) is refused, and the address checked is the one
    connected to, so a name that resolves differently the second time gains nothing."""
    parts = urlsplit((url or "").strip())
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("https", "http") or not parts.hostname or port == -1:
        message = _("Enter a full https:// address.")
        raise ValidationError(message, fields={"url": [message]})
    allow_local = _allow_local()
    if parts.scheme != "https" and not allow_local:
        raise ValidationError(_("Webhook addresses must use https://."), fields={"url": [_("Use https://.")]})
    if parts.username or parts.password:
        raise ValidationError(
            _("Leave credentials out of the address."), fields={"url": [_("No user:password@.")]}
        )
    port = port or (443 if parts.scheme == "https" else 80)
    addresses = outbound.addresses(parts.hostname, port)
    if not addresses:
        message = _("%(host)s can't be found.", host=parts.hostname)
        raise ValidationError(message, fields={"url": [message]})
    if not allow_local and not all(outbound.is_public(address) for address in addresses):
        message = _("That address points inside a private network; use a public https:// address.")
        raise ValidationError(message, fields={"url": [message]}, code="private_address")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port, path, addresses[0]


def check_url(url):
    if not isinstance(url, str):
        raise ValidationError(_("Enter a full https:// address."), fields={"url": [_("Must be a string.")]})
    url = url.strip()
    if len(url) > 500:
        raise ValidationError(_("That address is too long."), fields={"url": [_("At most 500 characters.")]})
    resolve(url)
    return url


# ----------------------------------------------------------------------------- endpoints


def check_may_use(user):
    if not (user.is_mentor or user.is_admin):
        raise PermissionDenied(_("Webhooks are for mentors and admins."), code="not_a_mentor")


def _event_types(chosen):
    if not isinstance(chosen, list | tuple) or not all(isinstance(event, str) for event in chosen):
        message = _("event_types must be a list of event type names.")
        raise ValidationError(message, fields={"event_types": [message]})
    chosen = [event for event in chosen if event]
    unknown = sorted(set(chosen) - set(WEBHOOK_EVENT_TYPES))
    if unknown:
        message = _("Unknown event types: %(types)s", types=", ".join(unknown))
        raise ValidationError(message, fields={"event_types": [message]})
    if not chosen:
        message = _("Choose at least one event.")
        raise ValidationError(message, fields={"event_types": [message]})
    return [event for event in WEBHOOK_EVENT_TYPES if event in chosen]


def _description(text):
    if not isinstance(text, str):
        raise ValidationError(
            _("The description must be text."), fields={"description": [_("Must be a string.")]}
        )
    text = text.strip()
    if len(text) > 200:
        raise ValidationError(
            _("Keep the description under 200 characters."), fields={"description": [_("Too long.")]}
        )
    return text


def owned_endpoint(owner, endpoint_id):
    """The endpoint ``endpoint_id`` of ``owner``; another owner's is not found (no hint it exists)."""
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.user_id != owner.id:
        raise NotFound(_("No such webhook."), code="not_found")
    return endpoint


def list_endpoints(owner):
    check_may_use(owner)
    return list(
        db.session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.user_id == owner.id).order_by(WebhookEndpoint.id)
        )
    )


@use_case
def create_endpoint(owner, *, url, event_types, description=""):
    """Register an endpoint, enabled; its secret is on the returned endpoint (shown once)."""
    check_may_use(owner)
    url, event_types, description = check_url(url), _event_types(event_types), _description(description)
    count = db.session.scalar(
        select(func.count(WebhookEndpoint.id)).where(WebhookEndpoint.user_id == owner.id)
    )
    if count >= MAX_ENDPOINTS_PER_USER:
        raise ValidationError(
            _("You can have at most %(num)s webhooks.", num=MAX_ENDPOINTS_PER_USER), code="too_many"
        )
    endpoint = WebhookEndpoint(
        user_id=owner.id, url=url, secret=new_secret(), event_types=event_types, description=description
    )
    db.session.add(endpoint)
    db.session.commit()
    return endpoint


@use_case
def update_endpoint(owner, endpoint_id, *, url=None, event_types=None, description=None):
    endpoint = owned_endpoint(owner, endpoint_id)
    if url is not None:
        endpoint.url = check_url(url)
    if event_types is not None:
        endpoint.event_types = _event_types(event_types)
    if description is not None:
        endpoint.description = _description(description)
    db.session.commit()
    return endpoint


@use_case
def roll_secret(owner, endpoint_id):
    """A new secret, in force at once: deliveries from now on are signed with it."""
    endpoint = owned_endpoint(owner, endpoint_id)
    endpoint.secret = new_secret()
    db.session.commit()
    return endpoint


@use_case
def set_enabled(owner, endpoint_id, enabled):
    """Enable (failures forgotten) or disable an endpoint; a disabled one gets no new deliveries."""
    endpoint = owned_endpoint(owner, endpoint_id)
    endpoint.enabled = enabled
    endpoint.disabled_at = None if enabled else utcnow()
    endpoint.disabled_reason = "" if enabled else system_texts.WEBHOOK_DISABLED_BY_OWNER
    if enabled:
        endpoint.consecutive_failures = 0
    db.session.commit()
    return endpoint


@use_case
def delete_endpoint(owner, endpoint_id):
    endpoint = owned_endpoint(owner, endpoint_id)
    db.session.delete(endpoint)
    db.session.commit()


def deliveries(owner, endpoint_id, *, page=1, per_page=DELIVERIES_PER_PAGE):
    """The delivery log of an endpoint, newest first."""
    endpoint = owned_endpoint(owner, endpoint_id)
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.id.desc())
    )
    return paginate(query, page=page, per_page=per_page)


def owned_delivery(owner, delivery_id):
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint.user_id != owner.id:
        raise NotFound(_("No such delivery."), code="not_found")
    return delivery


@use_case
def send_ping(owner, endpoint_id):
    """Send a ``ping`` event to the endpoint now (even a disabled one: it shows whether it is fixed)."""
    endpoint = owned_endpoint(owner, endpoint_id)
    delivery = _add_delivery(endpoint, _envelope(PING, {"endpoint_id": endpoint.id}))
    db.session.commit()
    outbox.dispatch()
    db.session.refresh(delivery)
    return delivery


@use_case
def redeliver(owner, delivery_id):
    """Send a delivery's event again as a new delivery with the same event id and payload."""
    original = owned_delivery(owner, delivery_id)
    delivery = _add_delivery(original.endpoint, original.payload)
    db.session.commit()
    outbox.dispatch()
    db.session.refresh(delivery)
    return delivery


# ----------------------------------------------------------------------------- events


def _envelope(event_type, data, *, now=None):
    now = now or utcnow()
    return {"id": str(uuid.uuid4()), "type": event_type, "created_at": now.isoformat(), "data": data}


def _add_delivery(endpoint, payload):
    delivery = WebhookDelivery(
        endpoint=endpoint,
        event_id=payload["id"],
        event_type=payload["type"],
        payload=payload,
        status=DeliveryStatus.PENDING.value,
        next_attempt_at=utcnow(),
    )
    db.session.add(delivery)
    return outbox.stage(delivery)


def emit(event_type, mentor_id, data):
    """Write one delivery of the event to each enabled endpoint that chose it and may see it:
    the mentor's own and every admin's. In the caller's transaction; sent after its commit."""
    endpoints = db.session.scalars(
        select(WebhookEndpoint)
        .join(User, User.id == WebhookEndpoint.user_id)
        .where(
            WebhookEndpoint.enabled.is_(True),
            or_(User.is_admin.is_(True), WebhookEndpoint.user_id == mentor_id),
        )
        .order_by(WebhookEndpoint.id)
    )
    # One event id per event: an admin's endpoint and a mentor's carry the same id.
    payload = _envelope(event_type, data)
    return [_add_delivery(endpoint, payload) for endpoint in endpoints if endpoint.wants(event_type)]


def _iso(moment):
    return moment.isoformat() if moment is not None else None


def _stored(model, row_id, *columns):
    """Columns as the database has them now: the state machines move rows with conditional
    UPDATEs that leave the loaded object as it was until the commit."""
    return db.session.execute(select(*columns).where(model.id == row_id)).one()


def session_data(session):
    return {
        "id": session.id,
        "title": session.title,
        "status": _stored(LearningSession, session.id, LearningSession.status).status,
        "starts_at": _iso(session.starts_at),
        "duration_minutes": session.duration_minutes,
        "capacity": session.capacity,
        "seats_taken": session.seats_taken,
        "price_paise": session.price_paise,
        "currency": session.currency,
        "mentor_id": session.mentor_id,
        "url": external_url("sessions.detail", session_id=session.id),
    }


def booking_data(booking):
    stored = _stored(Booking, booking.id, Booking.status, Booking.confirmed_at, Booking.cancelled_at)
    return {
        "id": booking.id,
        "status": stored.status,
        "session_id": booking.session_id,
        "learner": {"id": booking.learner_id, "name": booking.learner.name},
        "amount_paise": booking.amount_paise,
        "currency": booking.currency,
        "confirmed_at": _iso(stored.confirmed_at),
        "cancelled_at": _iso(stored.cancelled_at),
    }


def payment_data(payment):
    return {
        "id": payment.id,
        "purpose": payment.purpose,
        "status": payment.status,
        "booking_id": payment.booking_id,
        "amount_paise": payment.amount_paise,
        "refunded_paise": payment.refunded_paise,
        "currency": payment.currency,
        "captured_at": _iso(payment.captured_at),
    }


def booking_confirmed(booking, payment=None):
    session = booking.session
    emit(
        "booking.created",
        session.mentor_id,
        {"booking": booking_data(booking), "session": session_data(session)},
    )
    if payment is not None:
        emit("payment.captured", session.mentor_id, {"payment": payment_data(payment)})


def gift_received(gift):
    """A gift paid in the room: its payment is captured, and the mentor earns from it."""
    payment = db.session.get(Payment, gift.payment_id)
    data = {
        "payment": payment_data(payment),
        "gift": {
            "id": gift.id,
            "session_id": gift.session_id,
            "amount_paise": gift.amount_paise,
            "message": gift.message,
            "sender": {"id": gift.sender_id, "name": gift.sender.name},
        },
    }
    emit("payment.captured", gift.mentor_id, data)


def booking_cancelled(booking, refund=None, *_, **__):
    session = booking.session
    data = {"booking": booking_data(booking), "session": session_data(session)}
    data["refund_paise"] = refund.amount_paise if refund is not None else 0
    emit("booking.cancelled", session.mentor_id, data)


def booking_moved(booking, source, refund=None, *_, **__):
    """The learner moved their booking to another session of the mentor (services.reschedule)."""
    session = booking.session
    data = {
        "booking": booking_data(booking),
        "session": session_data(session),
        "from_session": session_data(source),
        "refund_paise": refund.amount_paise if refund is not None else 0,
    }
    emit("booking.rescheduled", session.mentor_id, data)


def refund_processed(refund):
    payment = refund.payment
    data = {
        "refund": {
            "id": refund.id,
            "status": refund.status,
            "amount_paise": refund.amount_paise,
            "reason": refund.reason,
            "processed_at": _iso(refund.processed_at),
        },
        "payment": payment_data(payment),
    }
    emit("refund.processed", payment.mentor_id, data)


def session_published(session, *_, **__):
    emit("session.published", session.mentor_id, {"session": session_data(session)})


def session_started(session, *_, **__):
    emit("session.started", session.mentor_id, {"session": session_data(session)})


def session_cancelled(session, *_, **__):
    emit("session.cancelled", session.mentor_id, {"session": session_data(session)})


def session_completed(session, mentor_minutes):
    """Held: settled as completed, the mentor's minutes in the room counted."""
    data = {"session": session_data(session), "mentor_present_minutes": mentor_minutes}
    emit("session.completed", session.mentor_id, data)


def session_not_held(session, _bookings, mentor_minutes):
    """Settled as not held: cancelled by settlement (everyone who paid refunded), with why."""
    data = {
        "session": session_data(session),
        "mentor_present_minutes": mentor_minutes,
        "reason": session.cancel_reason,
    }
    emit("session.cancelled", session.mentor_id, data)


def new_review(review):
    data = {
        "review": {
            "id": review.id,
            "session_id": review.session_id,
            "booking_id": review.booking_id,
            "rating": review.rating,
            "body": review.body,
            "learner": {"id": review.learner_id, "name": review.learner.name},
            "created_at": _iso(review.created_at),
        }
    }
    emit("review.created", review.mentor_id, data)


# The events of peerlearn.events these turn into webhook events (peerlearn.subscriptions).
EVENT_HANDLERS = {
    "booking_confirmed": booking_confirmed,
    "booking_cancelled": booking_cancelled,
    "booking_moved": booking_moved,
    "gift_received": gift_received,
    "refund_processed": refund_processed,
    "session_published": session_published,
    "session_started": session_started,
    "session_cancelled": session_cancelled,
    "session_completed": session_completed,
    "session_not_held": session_not_held,
    "new_review": new_review,
}


# ----------------------------------------------------------------------------- sending


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that was checked, whatever the name resolves to now."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url, body, headers):
    """POST ``body`` to ``url``: ``(status, excerpt)``. Redirects are not followed (a 3xx is a
    failure), at most RESPONSE_READ_BYTES of the answer are read, and the whole exchange is held to
    WEBHOOK_TIMEOUT_SECONDS (connecting to WEBHOOK_CONNECT_TIMEOUT_SECONDS). Raises OSError,
    http.client.HTTPException or ValidationError (an address no longer allowed)."""
    config = current_app.config
    scheme, host, port, path, address = resolve(url)
    deadline = time.monotonic() + config["WEBHOOK_TIMEOUT_SECONDS"]
    connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(host, port, address, config["WEBHOOK_CONNECT_TIMEOUT_SECONDS"])
    watchdog = None
    try:
        connection.connect()
        remaining = max(0.1, deadline - time.monotonic())
        connection.sock.settimeout(remaining)
        # Each read waits at most the time left, and a receiver that keeps sending a byte now and
        # then is cut off at the deadline: the watchdog shuts the socket, failing the read.
        watchdog = threading.Timer(remaining, _shut, args=(connection.sock,))
        watchdog.daemon = True
        watchdog.start()
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(RESPONSE_READ_BYTES)
        if time.monotonic() >= deadline:
            raise TimeoutError(f"no whole answer within {config['WEBHOOK_TIMEOUT_SECONDS']} s")
        return response.status, excerpt.decode("utf-8", "replace")[:RESPONSE_EXCERPT_CHARS]
    finally:
        if watchdog is not None:
            watchdog.cancel()
        connection.close()


def _shut(sock):
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


def _claim(delivery_id, now):
    """Take the due delivery for one attempt: True for the one caller whose UPDATE moved it."""
    won = db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == DeliveryStatus.PENDING.value,
            WebhookDelivery.next_attempt_at <= now,
        )
        .values(
            attempts=WebhookDelivery.attempts + 1,
            next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS),
            last_attempt_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return won == 1


def retry_pause(attempts):
    """Seconds before the attempt after ``attempts`` failed ones, with ±10 % jitter so that a
    receiver coming back is not hit by every retry at once; None when none is left."""
    schedule = current_app.config["WEBHOOK_RETRY_SECONDS"]
    if attempts > len(schedule):
        return None
    base = schedule[attempts - 1]
    return base * random.uniform(0.9, 1.1)  # noqa: S311 - jitter, not a secret


def attempt(delivery_id, *, now=None):
    """Make one attempt of a due delivery (the ``deliver`` job and the retry sweep). Returns the
    delivery's status afterwards, or None when it was not due (another attempt has it, or done)."""
    now = now or utcnow()
    if not _claim(delivery_id, now):
        return None
    delivery = db.session.get(WebhookDelivery, delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.enabled and delivery.event_type != PING:
        delivery.status = DeliveryStatus.FAILED.value
        delivery.next_attempt_at = None
        delivery.error = "Not sent: the endpoint is disabled."
        db.session.commit()
        return delivery.status
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "PeerLearn-Webhooks/1",
        SIGNATURE_HEADER: signature_header(endpoint.secret, timestamp, body),
        EVENT_HEADER: delivery.event_type,
        DELIVERY_HEADER: delivery.event_id,
    }
    url = endpoint.url
    db.session.commit()  # no transaction stays open while the receiver answers
    started = time.monotonic()
    status, excerpt, error = None, "", ""
    try:
        status, excerpt = post(url, body.encode(), headers)
    except ValidationError as exc:
        error = exc.message
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    duration_ms = int((time.monotonic() - started) * 1000)
    succeeded = status is not None and 200 <= status < 300
    if status is not None and not succeeded:
        error = f"The endpoint answered {status}."
    return _record(delivery_id, now, succeeded, status, excerpt, error, duration_ms)


def _record(delivery_id, now, succeeded, status, excerpt, error, duration_ms):
    delivery = db.session.get(WebhookDelivery, delivery_id)
    db.session.refresh(delivery)
    endpoint = delivery.endpoint
    delivery.response_status = status
    delivery.response_excerpt = excerpt
    delivery.error = error
    delivery.duration_ms = duration_ms
    if succeeded:
        delivery.status = DeliveryStatus.SUCCEEDED.value
        delivery.delivered_at = utcnow()
        delivery.next_attempt_at = None
        db.session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint.id)
            .values(consecutive_failures=0)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        return delivery.status
    pause = retry_pause(delivery.attempts) if delivery.event_type != PING else None
    if pause is None:
        delivery.status = DeliveryStatus.FAILED.value
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = now + timedelta(seconds=pause)
    if delivery.event_type != PING:
        _count_failure(endpoint, now)
    db.session.commit()
    outbox.dispatch()
    return delivery.status


def _count_failure(endpoint, now):
    """One more failure in a row; the attempt that reaches the limit disables the endpoint and
    tells its owner (the conditional UPDATE lets only that one do so)."""
    db.session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint.id)
        .values(consecutive_failures=WebhookEndpoint.consecutive_failures + 1)
        .execution_options(synchronize_session=False)
    )
    limit = current_app.config["WEBHOOK_DISABLE_AFTER_FAILURES"]
    reason = system_texts.fill(system_texts.WEBHOOK_DISABLED_AFTER_FAILURES, limit=limit)
    disabled = db.session.execute(
        update(WebhookEndpoint)
        .where(
            WebhookEndpoint.id == endpoint.id,
            WebhookEndpoint.enabled.is_(True),
            WebhookEndpoint.consecutive_failures >= limit,
        )
        .values(enabled=False, disabled_at=now, disabled_reason=reason, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(endpoint)
    if disabled:
        _tell_disabled(endpoint, limit)


def _tell_disabled(endpoint, limit):
    with i18n.for_user(endpoint.user):  # the owner's language, whatever request or job failed
        title = _("A webhook was disabled")
        lines = [
            _(
                "Deliveries to %(url)s kept failing. Disabled after %(num)s failed deliveries in a row.",
                url=endpoint.url,
                num=limit,
            ),
            _("Fix the receiver, then enable the webhook again; you can redeliver what it missed."),
        ]
        action = _("Open the webhook")
    link = external_url("webhooks.show", endpoint_id=endpoint.id)
    email = Email(
        "notice",
        title,
        {
            "heading": title,
            "lines": lines,
            "action_label": action,
            "action_url": link,
        },
    )
    notify(
        endpoint.user,
        NotificationKind.SECURITY,
        title=title,
        body=" ".join(lines),
        url=urlsplit(link).path,
        email=email,
    )


def due_delivery_ids(now=None, limit=100):
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status == DeliveryStatus.PENDING.value, WebhookDelivery.next_attempt_at <= now
            )
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
        )
    )


def retry_due(now=None):
    """Attempt every delivery whose retry is due (and any whose job was lost). Returns how many."""
    now = now or utcnow()
    return sum(attempt(delivery_id, now=now) is not None for delivery_id in due_delivery_ids(now))
