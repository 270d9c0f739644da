"""A coupon applied on the pay page (services.coupons): the server checks the code and works out
the discount; a refused code is shown beside the field, a free result confirms the booking."""

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ...exceptions import DomainError, ValidationError
from ...services import booking as booking_service
from ...services import coupons as coupon_service
from . import bp
from .routes import render_checkout


@bp.post("/bookings/<int:booking_id>/coupon")
@login_required
def apply_coupon(booking_id):
    booking = booking_service.learner_booking(current_user, booking_id)
    code = request.form.get("code", "")
    try:
        redemption = coupon_service.apply_to_booking(current_user, booking.id, code)
    except ValidationError as exc:
        error = " ".join((exc.fields or {}).get("code", [])) or exc.message
        page = render_checkout(booking, {"code": code[:32], "error": error})
        return (page, 422) if isinstance(page, str) else page  # else the hold ended: a redirect
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("booking.detail", booking_id=booking.id))
    if redemption.status == "used":
        flash(
            _(
                "Coupon %(code)s applied: the session is free and your seat is confirmed.",
                code=redemption.code,
            ),
            "success",
        )
        return redirect(url_for("booking.detail", booking_id=booking.id))
    flash(_("Coupon %(code)s applied.", code=redemption.code), "success")
    return redirect(url_for("payments.checkout", booking_id=booking.id))
