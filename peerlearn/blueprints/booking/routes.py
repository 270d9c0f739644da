from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from ...exceptions import DomainError
from ...extensions import db
from ...inputs import page_or_first
from ...models import BookingStatus, Payment
from ...services import booking as booking_service
from ...services import settlement
from . import bp

BOOKINGS_PER_PAGE = 20


@bp.post("/sessions/<int:session_id>/book")
@login_required
def book(session_id):
    try:
        booking, _created = booking_service.book(session_id, current_user)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("sessions.detail", session_id=session_id))
    if booking.status == BookingStatus.PENDING_PAYMENT:
        return redirect(url_for("payments.checkout", booking_id=booking.id))
    flash("You're booked. See you in the session!", "success")
    return redirect(url_for("booking.detail", booking_id=booking.id))


@bp.get("/bookings")
@login_required
def my_bookings():
    tab = request.args.get("tab", "upcoming")
    if tab not in booking_service.BOOKING_TABS:
        tab = "upcoming"
    page = booking_service.bookings_page(
        current_user, tab, page=page_or_first(request.args.get("page", "1")), per_page=BOOKINGS_PER_PAGE
    )
    return render_template(
        "booking/list.html",
        tab=tab,
        tabs=booking_service.BOOKING_TABS,
        bookings=page.items,
        page=page.page,
        pages=page.pages,
    )


@bp.get("/bookings/<int:booking_id>")
@login_required
def detail(booking_id, dispute_form=None):
    from .disputes import page_context as dispute_context

    booking = booking_service.learner_booking(current_user, booking_id)
    payments = list(
        db.session.scalars(select(Payment).where(Payment.booking_id == booking.id).order_by(Payment.id))
    )
    return render_template(
        "booking/detail.html",
        booking=booking,
        payments=payments,
        **dispute_context(booking, dispute_form),
        refund_if_cancelled=booking_service.refund_due(booking, current_user)
        if booking.status == BookingStatus.CONFIRMED
        else 0,
        refund_promise=booking_service.refund_promise(booking),
        not_held=settlement.was_not_held(booking.session),
    )


@bp.post("/bookings/<int:booking_id>/cancel")
@login_required
def cancel(booking_id):
    booking = booking_service.learner_booking(current_user, booking_id)
    try:
        refund = booking_service.cancel(booking, current_user, reason=request.form.get("reason", ""))
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        if refund is not None:
            flash("Booking cancelled. Your refund is on its way.", "success")
        else:
            flash("Booking cancelled.", "info")
    return redirect(url_for("booking.detail", booking_id=booking_id))
