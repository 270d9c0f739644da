"""Moving a booking to another session of the same mentor: the list of sessions it may move to,
a confirm step, and the move (services.reschedule); a dearer session is paid for first on its
own pay page (services.move_orders)."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ...exceptions import DomainError
from ...inputs import is_id
from ...models.payment import MoveOrderStatus
from ...payments import get_gateway
from ...services import booking as booking_service
from ...services import move_orders
from ...services import reschedule as reschedule_service
from . import bp


@bp.get("/bookings/<int:booking_id>/reschedule")
@login_required
def reschedule(booking_id):
    booking = booking_service.learner_booking(current_user, booking_id)
    options = reschedule_service.targets(booking)
    chosen = None
    wanted = request.args.get("session_id", type=int)
    if wanted is not None:
        chosen = next((option for option in options if option["session"].id == wanted), None)
        if chosen is None:
            flash(_("That session can't be chosen now; pick one from the list."), "error")
    return render_template(
        "booking/reschedule.html",
        booking=booking,
        options=options,
        chosen=chosen,
        closes_at=reschedule_service.window_closes_at(booking),
        refusal=reschedule_service.refusal(booking),
    )


@bp.post("/bookings/<int:booking_id>/reschedule")
@login_required
def move(booking_id):
    raw = request.form.get("session_id", "")
    session_id = int(raw) if raw.isdigit() and is_id(int(raw)) else None
    if session_id is None:
        abort(400)
    try:
        booking, refund, moved, order = move_orders.request_move(current_user, booking_id, session_id)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("booking.reschedule", booking_id=booking_id))
    if order is not None:
        return redirect(
            url_for("booking.move_checkout", booking_id=booking.id, order_id=order.payment.order_id)
        )
    if not moved:
        flash(_("Your booking is already in that session."), "info")
    elif refund is not None:
        flash(_("Booking moved. The difference in price is on its way back to you."), "success")
    else:
        flash(_("Booking moved to the new time."), "success")
    return redirect(url_for("booking.detail", booking_id=booking.id))


@bp.get("/bookings/<int:booking_id>/reschedule/orders/<order_id>")
@login_required
def move_checkout(booking_id, order_id):
    """The pay page of a move to a dearer session; once paid, back to the booking with what happened."""
    order = move_orders.learner_order(current_user, order_id)
    if order is None or order.booking_id != booking_id:
        abort(404)
    payment = order.payment
    if payment.is_captured:
        if order.status == MoveOrderStatus.MOVED:
            flash(_("Payment received. Your booking moved to the new session."), "success")
        else:
            flash(
                _(
                    "Payment received, but your booking could not move: "
                    "the difference is on its way back to you."
                ),
                "error",
            )
        return redirect(url_for("booking.detail", booking_id=booking_id))
    if order.status != MoveOrderStatus.OPEN:
        flash(_("This move was not paid in time and the seat went back. Choose the session again."), "error")
        return redirect(url_for("booking.reschedule", booking_id=booking_id))
    gateway = get_gateway()
    return render_template(
        "booking/move_pay.html",
        order=order,
        payment=payment,
        booking=booking_service.learner_booking(current_user, booking_id),
        target=order.to_session,
        gateway=gateway,
        razorpay_script=current_app.config["RAZORPAY_CHECKOUT_URL"] if gateway.name == "razorpay" else None,
    )
