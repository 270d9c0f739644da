"""Web Push: phone notifications for "your session starts in 15 minutes" and "live now".

A browser that turns phone notifications on (the notification preferences page) subscribes with
our VAPID public key and hands us its subscription: the endpoint at its vendor's push service and
the keys to encrypt for. ``save_subscription`` keeps it (one row per endpoint, see
``models.PushSubscription``).

What is pushed: the events below stage a ``PushMessage`` on the outbox in the caller's
transaction, for a user who has a subscription and wants that kind of notification in the app
(the preferences page's "In the app" column); after the commit the ``send_push`` job
(``tasks.push``) hands it to ``deliver``, which signs a VAPID token (ES256, ``aud`` the push
service's origin, ``exp`` 12 hours on, ``sub`` VAPID_SUBJECT) and posts the aes128gcm-encrypted
JSON ``{title, body, url, tag}`` to every subscription of the user. The service worker
(templates/pwa/sw.js) shows it; a tap opens ``url``.

What happens on failure: a push service answering 404 or 410 has forgotten the subscription, so
it is deleted; any other failure (an error status, a timeout) is counted on the row and the next
message tries again. A job run twice shows the notification once: the ``tag`` replaces it.

Push is off, and all of this does nothing, while VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY are unset.
"""

import json
import logging
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from .. import i18n
from ..exceptions import ValidationError
from ..extensions import db
from ..links import external_url
from ..models import NotificationKind, PushSubscription, ReminderKind, User, utcnow
from ..models.push import MAX_ENDPOINT_LENGTH
from . import outbound, outbox
from .notifications.preferences import preference

log = logging.getLogger(__name__)

# How long a push service keeps a message for a phone that is off: a reminder is stale once the
# session has started, a "live now" soon after.
REMINDER_TTL_SECONDS = 15 * 60
LIVE_TTL_SECONDS = 30 * 60
# The push service answers these when the subscription is gone for good.
GONE = {404, 410}


def enabled():
    """Whether push is configured (both VAPID keys set)."""
    config = current_app.config
    return bool(config.get("VAPID_PUBLIC_KEY") and config.get("VAPID_PRIVATE_KEY"))


def public_key():
    """The VAPID public key browsers subscribe with (base64url), or None when push is off."""
    return current_app.config["VAPID_PUBLIC_KEY"].rstrip("=") if enabled() else None


# ----------------------------------------------------------------------------- subscriptions


def _allow_local():
    return current_app.config["PUSH_ALLOW_LOCAL_ENDPOINTS"]


def check_endpoint(endpoint):
    """An endpoint we may post to: https at a public address. We post to whatever address a
    browser sent, so an endpoint inside our own network (the metadata service, the database) is
    refused; PUSH_ALLOW_LOCAL_ENDPOINTS lifts that for development and tests."""
    fields = {"endpoint": [_("Send the subscription's https:// endpoint.")]}
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise ValidationError(_("The subscription has no endpoint."), fields=fields)
    endpoint = endpoint.strip()
    if len(endpoint) > MAX_ENDPOINT_LENGTH:
        raise ValidationError(_("That endpoint is too long."), fields={"endpoint": [_("Too long.")]})
    parts = urlsplit(endpoint)
    try:
        port = parts.port
    except ValueError:
        raise ValidationError(_("The endpoint is not an address."), fields=fields) from None
    allowed_schemes = ("https", "http") if _allow_local() else ("https",)
    if parts.scheme not in allowed_schemes or not parts.hostname or parts.username or parts.password:
        raise ValidationError(_("The endpoint must be an https:// address."), fields=fields)
    if not _allow_local():
        found = outbound.addresses(parts.hostname, port or 443)
        if found is None:
            raise ValidationError(_("The endpoint's host can't be found."), fields=fields)
        if not all(outbound.is_public(address) for address in found):
            raise ValidationError(
                _("The endpoint points inside a private network."), fields=fields, code="private_address"
            )
    return endpoint


def _key(value, name, size):
    """A base64url key of ``size`` bytes, as the browser's ``PushSubscription.toJSON()`` has it."""
    import base64

    problem = {name: [_("A base64url key of %(size)s bytes.", size=size)]}
    malformed = ValidationError(_("The subscription's %(name)s key is malformed.", name=name), fields=problem)
    if not isinstance(value, str) or not value or len(value) > 2 * size:
        raise malformed
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        raise malformed from None
    if len(raw) != size:
        raise malformed
    return value.rstrip("=")


def save_subscription(user, *, endpoint, p256dh, auth, user_agent=""):
    """Keep a browser's subscription for ``user``; saving it again updates it, and a browser
    another account subscribed on before now notifies ``user`` instead. Returns the row."""
    endpoint = check_endpoint(endpoint)
    p256dh, auth = _key(p256dh, "p256dh", 65), _key(auth, "auth", 16)
    user_agent = (user_agent or "")[:300]
    for _attempt in range(2):
        row = db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
        if row is None:
            row = PushSubscription(user_id=user.id, endpoint=endpoint)
            db.session.add(row)
        if row.user_id != user.id or row.p256dh != p256dh or row.auth != auth:
            row.failure_count = 0
        row.user_id, row.p256dh, row.auth, row.user_agent = user.id, p256dh, auth, user_agent
        try:
            db.session.commit()
            return row
        except IntegrityError:
            # The same browser saved it at the same moment (two tabs): update that row instead.
            db.session.rollback()
    raise ValidationError(_("The subscription could not be saved; try again."))


def delete_subscription(user, endpoint):
    """Forget ``user``'s subscription at ``endpoint``; True when there was one."""
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise ValidationError(
            _("Send the endpoint to unsubscribe."),
            fields={"endpoint": [_("Send the subscription's endpoint.")]},
        )
    gone = db.session.execute(
        delete(PushSubscription).where(
            PushSubscription.user_id == user.id, PushSubscription.endpoint == endpoint.strip()
        )
    ).rowcount
    db.session.commit()
    return bool(gone)


def subscription_count(user_id):
    return db.session.scalar(
        select(func.count()).select_from(PushSubscription).where(PushSubscription.user_id == user_id)
    )


# ----------------------------------------------------------------------------- what is pushed


@dataclass
class PushMessage:
    """A push for one user, staged on the outbox until the change that caused it commits."""

    user_id: int
    payload: dict = field(default_factory=dict)


def stage(user, kind, *, title, body, url, tag, ttl):
    """Stage a push to ``user`` about ``kind`` (see the module docstring); None when it does
    not go: push is off, the user has no subscription, or does not want ``kind`` in the app.
    ``title`` and ``body`` are made in the user's language by the caller."""
    if not enabled() or getattr(user, "deleted_at", None) is not None:
        return None
    in_app, _by_email = preference(user.id, kind)
    if not in_app or not subscription_count(user.id):
        return None
    payload = {"title": title[:200], "body": body[:500], "url": url, "tag": tag, "ttl": ttl}
    return outbox.stage(PushMessage(user.id, payload))


def session_reminder(booking, kind, now):
    """The 15-minute reminder, pushed (the day-before one goes by email and in the app only)."""
    if ReminderKind(kind) != ReminderKind.STARTING_SOON:
        return
    session, learner = booking.session, booking.learner
    minutes = max(1, round((session.starts_at - now).total_seconds() / 60))
    with i18n.for_user(learner):
        title = ngettext(
            "Starts in %(num)d minute: %(title)s",
            "Starts in %(num)d minutes: %(title)s",
            minutes,
            title=session.title,
        )
        body = _("%(mentor)s opens the room soon. Tap to join.", mentor=session.mentor.name)
    stage(
        learner,
        NotificationKind.SESSION_REMINDER,
        title=title,
        body=body,
        url=external_url("sessions.room", session_id=session.id),
        tag=f"session-{session.id}",
        ttl=REMINDER_TTL_SECONDS,
    )


def session_started(session, learners):
    """The session's mentor started it: push "live now" to each learner with a seat."""
    for learner in learners:
        with i18n.for_user(learner):
            title = _("Live now: %(title)s", title=session.title)
            body = _("%(mentor)s has started the session. Tap to join the room.", mentor=session.mentor.name)
        stage(
            learner,
            NotificationKind.SESSION_STARTED,
            title=title,
            body=body,
            url=external_url("sessions.room", session_id=session.id),
            tag=f"session-{session.id}",
            ttl=LIVE_TTL_SECONDS,
        )


# ----------------------------------------------------------------------------- sending


def _vapid():
    from py_vapid import Vapid

    return Vapid.from_raw(current_app.config["VAPID_PRIVATE_KEY"].encode())


def _send(subscription, data, ttl, vapid):
    """Post one message; returns the push service's status (0 when it could not be reached)."""
    import requests
    from pywebpush import WebPushException, webpush

    config = current_app.config
    try:
        check_endpoint(subscription.endpoint)
        response = webpush(
            subscription_info={
                "endpoint": subscription.endpoint,
                "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
            },
            data=data,
            vapid_private_key=vapid,
            # A fresh dict each time: webpush() fills in aud and exp for this endpoint's origin.
            vapid_claims={"sub": config["VAPID_SUBJECT"]},
            content_encoding="aes128gcm",
            ttl=ttl,
            timeout=config["PUSH_TIMEOUT_SECONDS"],
            headers={"Urgency": "high"},
        )
        return response.status_code
    except WebPushException as error:
        return error.response.status_code if error.response is not None else 0
    except (requests.RequestException, ValidationError) as error:
        log.warning("push to subscription %s failed: %s", subscription.id, error)
        return 0


def deliver(user_id, payload):
    """Send ``payload`` to each of the user's subscriptions. Returns counts of what happened:
    ``{"sent", "removed", "failed"}``. Does nothing while push is off."""
    counts = {"sent": 0, "removed": 0, "failed": 0}
    if not enabled():
        return counts
    user = db.session.get(User, user_id)
    subscriptions = list(
        db.session.scalars(
            select(PushSubscription).where(PushSubscription.user_id == user_id).order_by(PushSubscription.id)
        )
    )
    if user is None or user.deleted_at is not None or not subscriptions:
        return counts
    message = {key: payload.get(key, "") for key in ("title", "body", "url", "tag")}
    data = json.dumps(message, ensure_ascii=False)
    ttl = int(payload.get("ttl") or REMINDER_TTL_SECONDS)
    vapid = _vapid()
    for subscription in subscriptions:
        status = _send(subscription, data, ttl, vapid)
        if 200 <= status < 300:
            subscription.last_success_at = utcnow()
            subscription.failure_count = 0
            counts["sent"] += 1
        elif status in GONE:
            db.session.delete(subscription)
            counts["removed"] += 1
        else:
            subscription.failure_count += 1
            counts["failed"] += 1
            log.warning("push service answered %s for subscription %s", status, subscription.id)
        db.session.commit()
    return counts
