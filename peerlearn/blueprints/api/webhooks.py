"""Webhooks over JSON: a mentor's or admin's endpoints, their delivery log, pings and redelivery
(services.webhooks; docs/webhooks.md)."""

from flask_babel import gettext as _
from flask_login import current_user

from ...api_envelope import ok, paginated
from ...exceptions import ValidationError
from ...serializers.webhooks import delivery_json, endpoint_json
from ...services import webhooks
from . import bp
from .utils import api_login_required, json_body, page_args

WRITABLE = {"url", "event_types", "description", "enabled"}


def _fields(data, *, required=()):
    unknown = sorted(set(data) - WRITABLE)
    if unknown:
        raise ValidationError(
            _("Unknown fields: %(names)s", names=", ".join(unknown)),
            fields={name: [_("Not a field of a webhook.")] for name in unknown},
        )
    missing = [name for name in required if data.get(name) is None]
    if missing:
        raise ValidationError(
            _("Missing: %(names)s", names=", ".join(missing)),
            fields={name: [_("This field is required.")] for name in missing},
        )
    if "enabled" in data and not isinstance(data["enabled"], bool):
        raise ValidationError(
            _("enabled must be true or false."), fields={"enabled": [_("Must be a boolean.")]}
        )
    return data


@bp.get("/webhooks/")
@api_login_required
def list_webhooks():
    page, per_page = page_args()
    endpoints = webhooks.list_endpoints(current_user)
    items = [endpoint_json(e) for e in endpoints[(page - 1) * per_page : page * per_page]]
    return ok(paginated(items, page=page, per_page=per_page, total=len(endpoints)))


@bp.post("/webhooks/")
@api_login_required
def create_webhook():
    webhooks.check_may_use(current_user)
    data = _fields(json_body(), required=("url", "event_types"))
    endpoint = webhooks.create_endpoint(
        current_user,
        url=data["url"],
        event_types=data["event_types"],
        description=data.get("description", ""),
    )
    if data.get("enabled") is False:
        endpoint = webhooks.set_enabled(current_user, endpoint.id, False)
    return ok(endpoint_json(endpoint, with_secret=True), _("Webhook added: keep its secret."), status=201)


@bp.get("/webhooks/<int:endpoint_id>/")
@api_login_required
def webhook_detail(endpoint_id):
    webhooks.check_may_use(current_user)
    return ok(endpoint_json(webhooks.owned_endpoint(current_user, endpoint_id)))


@bp.patch("/webhooks/<int:endpoint_id>/")
@api_login_required
def update_webhook(endpoint_id):
    webhooks.check_may_use(current_user)
    data = _fields(json_body())
    changes = {name: data[name] for name in ("url", "event_types", "description") if name in data}
    for name, value in changes.items():
        if value is None:
            raise ValidationError(
                _("%(name)s may not be null.", name=name), fields={name: [_("May not be null.")]}
            )
    endpoint = webhooks.owned_endpoint(current_user, endpoint_id)
    if changes:
        endpoint = webhooks.update_endpoint(current_user, endpoint_id, **changes)
    if "enabled" in data and data["enabled"] != endpoint.enabled:
        endpoint = webhooks.set_enabled(current_user, endpoint_id, data["enabled"])
    return ok(endpoint_json(endpoint), _("Webhook saved."))


@bp.delete("/webhooks/<int:endpoint_id>/")
@api_login_required
def delete_webhook(endpoint_id):
    webhooks.check_may_use(current_user)
    webhooks.delete_endpoint(current_user, endpoint_id)
    return ok(None, _("Webhook deleted."))


@bp.get("/webhooks/<int:endpoint_id>/secret/")
@api_login_required
def webhook_secret(endpoint_id):
    webhooks.check_may_use(current_user)
    return ok(endpoint_json(webhooks.owned_endpoint(current_user, endpoint_id), with_secret=True))


@bp.post("/webhooks/<int:endpoint_id>/roll-secret/")
@api_login_required
def roll_webhook_secret(endpoint_id):
    webhooks.check_may_use(current_user)
    endpoint = webhooks.roll_secret(current_user, endpoint_id)
    return ok(
        endpoint_json(endpoint, with_secret=True),
        _("A new signing secret is in force: update your receiver."),
    )


@bp.post("/webhooks/<int:endpoint_id>/ping/")
@api_login_required
def ping_webhook(endpoint_id):
    webhooks.check_may_use(current_user)
    delivery = webhooks.send_ping(current_user, endpoint_id)
    return ok(delivery_json(delivery), _("Ping sent."))


@bp.get("/webhooks/<int:endpoint_id>/deliveries/")
@api_login_required
def webhook_deliveries(endpoint_id):
    webhooks.check_may_use(current_user)
    page, per_page = page_args()
    found = webhooks.deliveries(current_user, endpoint_id, page=page, per_page=per_page)
    return ok(
        paginated([delivery_json(d) for d in found.items], page=page, per_page=per_page, total=found.total)
    )


@bp.post("/webhooks/deliveries/<int:delivery_id>/redeliver/")
@api_login_required
def redeliver_webhook(delivery_id):
    webhooks.check_may_use(current_user)
    delivery = webhooks.redeliver(current_user, delivery_id)
    return ok(delivery_json(delivery), _("Event sent again."), status=201)
