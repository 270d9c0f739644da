from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ...exceptions import DomainError
from ...inputs import page_or_first
from ...limits import LIST_PER_PAGE
from ...models import BookingStatus
from ...services import booking as booking_service
from . import bp
from .receipt import render_receipt


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
    flash(_("You're booked. See you in the session!"), "success")
    return redirect(url_for("booking.detail", booking_id=booking.id))


@bp.get("/bookings")
@login_required
def my_bookings():
    tab = request.args.get("tab", "upcoming")
    if tab not in booking_service.BOOKING_TABS:
        tab = "upcoming"
    page = booking_service.bookings_page(
        current_user, tab, page=page_or_first(request.args.get("page", "1")), per_page=LIST_PER_PAGE
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
def detail(booking_id):
    return render_receipt(booking_service.learner_booking(current_user, booking_id))


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
            flash(_("Booking cancelled. Your refund is on its way."), "success")
        else:
            flash(_("Booking cancelled."), "info")
    return redirect(url_for("booking.detail", booking_id=booking_id))
