"""Coupons over JSON: the price preview for a session, applying a code to a held booking, and
the owners' list, create and deactivate (a mentor's own; with ``platform``, an admin's)."""

from datetime import datetime

from flask import request
from flask_babel import gettext as _
from flask_login import current_user

from ...api_envelope import ok
from ...exceptions import ValidationError
from ...inputs import arg_flag, refuse_unknown_fields
from ...serializers.bookings import booking_json
from ...serializers.coupons import coupon_json, redemption_json
from ...services import coupons as coupon_service
from . import bp
from .utils import api_login_required, json_body


@bp.get("/sessions/<int:session_id>/coupon-preview/")
@api_login_required
def coupon_preview(session_id):
    """What a code takes off a session's price for the caller now (nothing is reserved)."""
    quote = coupon_service.preview(current_user, session_id, request.args.get("code", ""))
    return ok(
        quote,
        _("Coupon %(code)s takes %(paise)s paise off.", code=quote["code"], paise=quote["discount_paise"]),
    )


@bp.post("/bookings/<int:booking_id>/coupon/")
@api_login_required
def apply_coupon(booking_id):
    """Apply a code to the caller's held booking; create-payment then charges the new amount."""
    code = json_body().get("code")
    redemption = coupon_service.apply_to_booking(
        current_user, booking_id, code if isinstance(code, str) else ""
    )
    message = (
        _("Coupon applied; the booking is free and confirmed.")
        if redemption.status == "used"
        else _("Coupon applied.")
    )
    return ok({"coupon": redemption_json(redemption), "booking": booking_json(redemption.booking)}, message)


def _platform(data):
    value = data.get("platform", False)
    if not isinstance(value, bool):
        raise ValidationError(
            _("platform must be true or false."), fields={"platform": [_("true or false.")]}
        )
    return value


@bp.get("/coupons/")
@api_login_required
def my_coupons():
    """The caller's coupons (``?platform=true``: the platform's, for admins), with usage."""
    errors = {}
    platform = arg_flag(request.args, "platform", errors, absent=False)
    if errors:
        raise ValidationError(_("platform must be true or false."), fields=errors)
    rows = coupon_service.coupons_of(current_user, platform=platform)
    return ok({"items": [coupon_json(*row) for row in rows]})


def _moment(data, name):
    value = data.get(name)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValidationError(
            _("%(name)s must be an ISO 8601 time with a timezone.", name=name),
            fields={name: [_("An ISO 8601 time with a timezone.")]},
        )
    return moment


@bp.post("/coupons/")
@api_login_required
def create_coupon():
    data = json_body()
    refuse_unknown_fields(data, {*coupon_service.WRITABLE, "platform"})
    fields = {name: data.get(name) for name in coupon_service.WRITABLE}
    fields["starts_at"] = _moment(data, "starts_at")
    fields["expires_at"] = _moment(data, "expires_at")
    coupon = coupon_service.create(current_user, fields, platform=_platform(data))
    return ok(coupon_json(coupon), _("Coupon created."), status=201)


@bp.post("/coupons/<int:coupon_id>/deactivate/")
@api_login_required
def deactivate_coupon(coupon_id):
    platform = _platform(json_body())
    coupon = coupon_service.deactivate(current_user, coupon_id, platform=platform)
    return ok(coupon_json(coupon), _("Coupon deactivated."))
