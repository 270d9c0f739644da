"""Platform coupons, funded from the platform's fee (services.coupons): the mentors' coupon page
(booking/coupons.py) for admins. The admin blueprint's guard keeps it to admins."""

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...services import coupons as coupon_service
from ..booking.coupons import CouponForm, create_from_form, render_coupons
from . import bp


@bp.get("/coupons")
def coupons():
    return render_coupons(CouponForm(), platform=True)


@bp.post("/coupons")
def create_coupon():
    form = CouponForm()
    if create_from_form(form, platform=True):
        return redirect(url_for("admin.coupons"))
    return render_coupons(form, platform=True, status=422)


@bp.post("/coupons/<int:coupon_id>/deactivate")
def deactivate_coupon(coupon_id):
    coupon = coupon_service.deactivate(current_user, coupon_id, platform=True)  # another's coupon: 404
    flash(_("Coupon %(code)s can no longer be applied.", code=coupon.code), "success")
    return redirect(url_for("admin.coupons"))
