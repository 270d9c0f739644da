"""Booking and payments over JSON: the original's book, create-payment, verify-payment and
payment-history endpoints."""

from flask import request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...api_envelope import ok, paginated
from ...exceptions import ValidationError
from ...serializers.bookings import (
    booked_json,
    booking_json,
    booking_with_dispute_json,
    cancelled_booking_json,
)
from ...serializers.disputes import dispute_json
from ...serializers.learning_record import record_json
from ...serializers.payments import checkout_options, payment_json
from ...services import booking as booking_service
from ...services import learning_record
from ...services import payments as payment_service
from . import bp
from .utils import api_login_required, id_field, json_body, page_args


@bp.post("/sessions/<int:session_id>/book/")
@api_login_required
def book(session_id):
    booking, created = booking_service.book(session_id, current_user)
    data = booked_json(booking)
    message = _("Seat held: pay to confirm.") if booking.status == "pending_payment" else _("Booked.")
    return ok(
        data, message if created else _("You already have this booking."), status=201 if created else 200
    )


@bp.get("/bookings/")
@api_login_required
def my_bookings():
    tab = request.args.get("tab", "upcoming")
    if tab not in booking_service.BOOKING_TABS:
        raise ValidationError(
            _("tab must be one of: %(tabs)s.", tabs=", ".join(booking_service.BOOKING_TABS)),
            fields={"tab": [_("Unknown tab.")]},
        )
    page, per_page = page_args()
    found = booking_service.bookings_page(current_user, tab, page=page, per_page=per_page)
    items = [booking_json(b) for b in found.items]
    return ok({**paginated(items, page=page, per_page=per_page, total=found.total), "tab": tab})


def _with_dispute(booking):
    """The booking as its learner sees it, with the problem they reported (or null) and until
    when they may report one (null once that is no longer possible)."""
    from ...services import disputes as dispute_service

    dispute = dispute_service.for_booking(booking.id)
    reportable = dispute is None and dispute_service.can_report(booking)
    return booking_with_dispute_json(booking, dispute_json(dispute) if dispute else None, reportable)


@bp.get("/bookings/<int:booking_id>/")
@api_login_required
def booking_detail(booking_id):
    return ok(_with_dispute(booking_service.learner_booking(current_user, booking_id)))


@bp.post("/bookings/<int:booking_id>/dispute/")
@api_login_required
def report_problem(booking_id):
    """Report a problem with a paid booking of a held session, until its earnings settle."""
    from ...services import disputes as dispute_service

    data = json_body()
    booking = booking_service.learner_booking(current_user, booking_id)
    dispute_service.report(current_user, booking.id, data.get("reason"), data.get("details"))
    return ok(
        _with_dispute(booking), _("Reported; an admin will decide and you will be told why."), status=201
    )


@bp.post("/bookings/<int:booking_id>/cancel/")
@api_login_required
def cancel_booking(booking_id):
    booking = booking_service.learner_booking(current_user, booking_id)
    data = json_body()
    reason = data.get("reason") if isinstance(data.get("reason"), str) else ""
    refund = booking_service.cancel(booking, current_user, reason=reason)
    return ok(cancelled_booking_json(booking, refund), _("Booking cancelled."))


@bp.post("/bookings/<int:booking_id>/reschedule/")
@api_login_required
def reschedule_booking(booking_id):
    """Move a confirmed booking to another upcoming session of the same mentor. A dearer one
    answers 202 with the order that pays the difference: the booking moves once it is paid."""
    from ...services import move_orders

    session_id = id_field(json_body(), "session_id")
    booking, refund, moved, order = move_orders.request_move(current_user, booking_id, session_id)
    if order is not None:
        return ok(_move_order_json(order), _("Pay the difference to move the booking."), status=202)
    if not moved:
        message = _("Your booking is already in that session.")
    elif refund is not None:
        message = _("Booking moved. The difference in price is on its way back to you.")
    else:
        message = _("Booking moved to the new time.")
    data = cancelled_booking_json(booking, refund)
    data["moved_at"] = booking.moved_at.isoformat() if booking.moved_at else None
    return ok(data, message)


def _move_order_json(order):
    payment = order.payment
    return {
        "move": {
            "booking_id": order.booking_id,
            "from_session_id": order.from_session_id,
            "to_session_id": order.to_session_id,
            "status": order.status,
            "hold_expires_at": order.hold_expires_at.isoformat(),
        },
        "payment": payment_json(payment),
        "checkout": checkout_options(payment, order.to_session.title, current_user),
    }


@bp.post("/create-payment/")
@api_login_required
def create_payment():
    """Open (or reuse) the gateway order for a held booking. Any amount sent is ignored."""
    booking_id = id_field(json_body(), "booking_id")
    payment = payment_service.start_booking_payment(current_user, booking_id)
    checkout = checkout_options(payment, payment.booking.session.title, current_user)
    return ok({"payment": payment_json(payment), "checkout": checkout}, _("Order created."))


@bp.post("/verify-payment/")
@api_login_required
def verify_payment():
    data = json_body()
    payment = payment_service.verify_checkout(
        current_user,
        order_id=data.get("razorpay_order_id"),
        payment_id=data.get("razorpay_payment_id"),
        signature=data.get("razorpay_signature"),
    )
    result = payment_json(payment)
    if payment.booking is not None:
        result["booking"] = booking_json(payment.booking)
        result["redirect_url"] = url_for("booking.detail", booking_id=payment.booking_id)
        if payment.purpose == "move":  # its page tells whether the booking moved
            result["redirect_url"] = url_for(
                "booking.move_checkout", booking_id=payment.booking_id, order_id=payment.order_id
            )
    message = (
        _("Payment received.") if payment.is_captured else _("Payment %(status)s.", status=payment.status)
    )
    return ok(result, message)


@bp.get("/payment-history/")
@api_login_required
def payment_history():
    page, per_page = page_args()
    history = payment_service.payment_history(current_user, page=page, per_page=per_page)
    items = [payment_json(p) for p in history.items]
    return ok(paginated(items, page=page, per_page=per_page, total=history.total))


@bp.get("/bookings/<int:booking_id>/record/")
@api_login_required
def booking_record(booking_id):
    """What happened in the booking's session: for its learner, the session's mentor or an admin."""
    return ok(record_json(learning_record.for_booking(current_user, booking_id)))
