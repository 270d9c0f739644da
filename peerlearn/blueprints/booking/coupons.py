"""Mentors' coupons for their own sessions: the list with each one's usage, a form to make one,
and deactivating (services.coupons). The admins' platform coupons use the same form and template
(admin/coupons.py)."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, DateField, IntegerField, RadioField, SelectChoice, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ...exceptions import ValidationError
from ...forms import BaseForm, apply_field_errors
from ...limits import MAX_PRICE_RUPEES
from ...models import Role
from ...security import role_required
from ...services import coupons as coupon_service
from . import bp


class CouponForm(BaseForm):
    code = StringField(_l("Code"), validators=[InputRequired(_l("Choose a code.")), Length(max=32)])
    kind = RadioField(
        _l("Discount"),
        choices=[SelectChoice("percent", _l("Percent off")), SelectChoice("fixed", _l("Rupees off"))],
        default="percent",
        validators=[InputRequired(_l("Percent or rupees."))],
    )
    value = IntegerField(
        _l("Amount"),
        validators=[InputRequired(_l("How much off?")), NumberRange(min=1, max=MAX_PRICE_RUPEES)],
    )
    min_price = IntegerField(_l("Minimum session price (₹)"), validators=[Optional(), NumberRange(min=0)])
    valid_until = DateField(_l("Valid until (inclusive)"), validators=[Optional()])
    max_redemptions = IntegerField(_l("Uses in all"), validators=[Optional(), NumberRange(min=1)])
    max_per_learner = IntegerField(
        _l("Uses per learner"), default=1, validators=[InputRequired(), NumberRange(min=1, max=1000)]
    )
    first_session_only = BooleanField(_l("Only for a learner's first session"))


def coupon_fields(form, tz):
    """The service's fields from a valid form: rupees to paise, the last valid day to the
    moment it ends in the owner's timezone."""
    expires_at = None
    if form.valid_until.data:
        zone = ZoneInfo(tz or "UTC")
        expires_at = datetime.combine(form.valid_until.data + timedelta(days=1), time(), tzinfo=zone)
    value = form.value.data
    return {
        "code": form.code.data,
        "kind": form.kind.data,
        "value": value if form.kind.data == "percent" else value * 100,
        "min_price_paise": (form.min_price.data or 0) * 100,
        "expires_at": expires_at,
        "max_redemptions": form.max_redemptions.data,
        "max_per_learner": form.max_per_learner.data,
        "first_session_only": form.first_session_only.data,
    }


def create_from_form(form, *, platform):
    """Make the coupon a posted form describes; False (with the errors on the form) if refused."""
    if not form.validate_on_submit():
        return False
    try:
        coupon = coupon_service.create(
            current_user, coupon_fields(form, current_user.timezone), platform=platform
        )
    except ValidationError as exc:
        if "value" in exc.fields and form.kind.data == "percent":
            exc.fields["value"] = [_("A percent from 1 to 100.")]
        apply_field_errors(form, {"min_price": exc.fields.pop("min_price_paise", [])} | exc.fields)
        return False
    flash(_("Coupon %(code)s is ready to use.", code=coupon.code), "success")
    return True


def render_coupons(form, *, platform, status=200):
    return render_template(
        "coupons/manage.html",
        form=form,
        platform=platform,
        rows=coupon_service.coupons_of(current_user, platform=platform),
        create_url=url_for("admin.create_coupon" if platform else "booking.create_coupon"),
        deactivate_endpoint="admin.deactivate_coupon" if platform else "booking.deactivate_coupon",
        one_second=timedelta(seconds=1),  # a coupon ends at midnight after its last valid day
    ), status


@bp.get("/teach/coupons")
@role_required(Role.MENTOR)
def coupons():
    return render_coupons(CouponForm(), platform=False)


@bp.post("/teach/coupons")
@role_required(Role.MENTOR)
def create_coupon():
    form = CouponForm()
    if create_from_form(form, platform=False):
        return redirect(url_for("booking.coupons"))
    return render_coupons(form, platform=False, status=422)


@bp.post("/teach/coupons/<int:coupon_id>/deactivate")
@role_required(Role.MENTOR)
def deactivate_coupon(coupon_id):
    coupon = coupon_service.deactivate(current_user, coupon_id)  # another's coupon: 404
    flash(_("Coupon %(code)s can no longer be applied.", code=coupon.code), "success")
    return redirect(url_for("booking.coupons"))
