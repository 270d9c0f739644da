"""Web Push over JSON: the VAPID public key browsers subscribe with, and saving or deleting this
browser's subscription for the signed-in user (services/push.py)."""

from flask import request
from flask_babel import gettext as _
from flask_login import current_user

from ...api_envelope import ok
from ...exceptions import ValidationError
from ...services import push
from . import bp
from .utils import api_login_required, json_body


def _subscription_json(subscription):
    return {
        "endpoint": subscription.endpoint,
        "created_at": subscription.created_at.isoformat().replace("+00:00", "Z"),
    }


@bp.get("/push/public-key/")
def push_public_key():
    """``public_key`` is null while push is not set up on this site."""
    key = push.public_key()
    return ok({"public_key": key, "enabled": key is not None})


@bp.post("/push/subscriptions/")
@api_login_required
def save_push_subscription():
    """The browser's ``PushSubscription.toJSON()``: ``{endpoint, keys: {p256dh, auth}}``."""
    if not push.enabled():
        raise ValidationError(_("Phone notifications aren't set up on this site."), code="push_disabled")
    data = json_body()
    keys = data.get("keys")
    if not isinstance(keys, dict):
        raise ValidationError(
            _("Send the subscription's keys: p256dh and auth."),
            fields={"keys": [_("An object with p256dh and auth.")]},
        )
    subscription = push.save_subscription(
        current_user,
        endpoint=data.get("endpoint"),
        p256dh=keys.get("p256dh"),
        auth=keys.get("auth"),
        user_agent=request.headers.get("User-Agent", ""),
    )
    return ok(_subscription_json(subscription), _("Phone notifications are on for this device."), status=201)


@bp.delete("/push/subscriptions/")
@api_login_required
def delete_push_subscription():
    """``{endpoint}``: this browser stops getting the user's notifications."""
    removed = push.delete_subscription(current_user, json_body().get("endpoint"))
    return ok({"removed": removed}, _("Phone notifications are off for this device."))
