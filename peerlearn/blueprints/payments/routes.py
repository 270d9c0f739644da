from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ...api_envelope import error_response, ok
from ...exceptions import DomainError
from ...models import PaymentPurpose
from ...payments import get_gateway
from ...security import acts_without_identity
from ...services import booking as booking_service
from ...services import checkout as gift_checkout
from ...services import coupons as coupon_service
from ...services import gifts as gift_service
from ...services import payments as payment_service
from . import bp


@bp.get("/bookings/<int:booking_id>/pay")
@login_required
def checkout(booking_id):
    return render_checkout(booking_service.learner_booking(current_user, booking_id))


def render_checkout(booking, coupon_form=None):
    """The pay page for the learner's held ``booking`` (``coupon_form``: a refused coupon's code
    and error, shown beside the field, services.coupons)."""
    try:
        payment = payment_service.start_booking_payment(current_user, booking.id)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("booking.detail", booking_id=booking.id))
    gateway = get_gateway()
    return render_template(
        "payments/checkout.html",
        booking=booking,
        payment=payment,
        gateway=gateway,
        redemption=coupon_service.active_redemption(booking.id),
        coupon_form=coupon_form or {"code": "", "error": ""},
        refund_promise=booking_service.refund_promise(booking),
        razorpay_script=current_app.config["RAZORPAY_CHECKOUT_URL"] if gateway.name == "razorpay" else None,
    )


@bp.get("/payments/dev-return")
@login_required
def dev_return():
    """Where the dev gateway's checkout returns, like Razorpay Checkout's handler callback."""
    order_id = request.args.get("order_id", "")
    payment = payment_service.payment_for_order(current_user, order_id)
    if payment is None:
        abort(404)
    if payment.purpose == PaymentPurpose.GIFT:
        return _dev_gift_return(payment)
    if payment.purpose == PaymentPurpose.PACK:
        return _dev_pack_return(payment)
    if payment.purpose == PaymentPurpose.MOVE:
        return _dev_move_return(payment)
    if payment.booking is None:
        abort(404)
    if request.args.get("failed"):
        flash(_("The payment did not go through. Your seat is still held; try again."), "error")
        return redirect(url_for("payments.checkout", booking_id=payment.booking_id))
    if _verify_dev_return(payment):
        flash(_("Payment received. Your seat is confirmed."), "success")
    return redirect(url_for("booking.detail", booking_id=payment.booking_id))


def _dev_move_return(payment):
    """A move to a dearer session paid in the dev checkout: verify it, then the move's own page
    tells the learner whether the booking moved."""
    back = url_for("booking.move_checkout", booking_id=payment.booking_id, order_id=payment.order_id)
    if not request.args.get("failed"):
        _verify_dev_return(payment)
    return redirect(back)


def _verify_dev_return(payment):
    """Verify what the dev checkout sent back for ``payment``; False (with the reason flashed)
    when it does not verify."""
    try:
        payment_service.verify_checkout(
            current_user,
            order_id=payment.order_id,
            payment_id=request.args.get("payment_id", ""),
            signature=request.args.get("signature", ""),
        )
    except DomainError as exc:
        flash(exc.message, "error")
        return False
    return True


def _dev_pack_return(payment):
    """A session pack paid in the dev checkout: verify it, then show the learner their packs."""
    if request.args.get("failed"):
        flash(_("The payment did not go through. Try again from the mentor's page."), "error")
        return redirect(url_for("users.mentor_profile", user_id=payment.mentor_id))
    if _verify_dev_return(payment):
        flash(_("Payment received. Your pack's credits are ready to book with."), "success")
    return redirect(url_for("users.mentor_profile", user_id=payment.mentor_id))


def _dev_gift_return(payment):
    """A gift paid in the dev checkout, which the room opened in its own window: verify it here
    (so it counts even if the room is gone), then hand the signed result to the room, which
    verifies it again through the API like Razorpay Checkout's handler. It counts once."""
    gift = gift_service.for_payment(payment)
    if gift is None:
        abort(404)
    result = None
    error = ""
    if request.args.get("failed"):
        error = _("The payment did not go through. Nothing was charged; you can try again.")
    else:
        result = {
            "razorpay_order_id": payment.order_id,
            "razorpay_payment_id": request.args.get("payment_id", ""),
            "razorpay_signature": request.args.get("signature", ""),
        }
        try:
            gift = gift_checkout.verify_gift(
                current_user,
                order_id=payment.order_id,
                payment_id=result["razorpay_payment_id"],
                signature=result["razorpay_signature"],
            )
        except DomainError as exc:
            error, result = exc.message, None
    return render_template(
        "payments/gift_return.html",
        gift=gift,
        payment=payment,
        result=result,
        error=error,
        room_url=url_for("sessions.room", session_id=gift.session_id),
    )


@bp.post("/payments/webhooks/razorpay")
@acts_without_identity
def razorpay_webhook():
    """Razorpay's server-to-server events: signature over the raw body, idempotent on event id."""
    try:
        outcome = payment_service.handle_webhook(
            request.get_data(cache=False),
            request.headers.get("X-Razorpay-Signature", ""),
            request.headers.get("X-Razorpay-Event-Id", ""),
        )
    except DomainError as exc:
        return error_response(exc.status, exc.code, exc.message)
    return ok({"outcome": outcome}, "Event processed.")  # i18n: not text (read by Razorpay's servers)
