"""The booking's page, a learner's receipt: what they paid, the refund a cancellation would bring,
the dispute (or the form to report a problem) and, once the session is over, what happened in
it (services.learning_record). The page's view draws it, and so does a refused
report, with the learner's values and the errors beside the form."""

from flask import render_template, url_for
from flask_login import current_user

from ...models import BookingStatus
from ...serializers.learning_record import record_links
from ...services import booking as booking_service
from ...services import coupons as coupon_service
from ...services import disputes as dispute_service
from ...services import learning_record, settlement
from ...services import payments as payment_service


def render_receipt(booking, dispute_form=None):
    """The booking page for ``booking``, the current user's own (``dispute_form``: a refused
    report's values and errors)."""
    payments = payment_service.booking_payments(booking)
    return render_template(
        "booking/detail.html",
        booking=booking,
        payments=payments,
        refunds=payment_service.refunds_by_payment(payments),
        redemption=coupon_service.active_redemption(booking.id),
        **_dispute_context(booking, dispute_form),
        refund_if_cancelled=booking_service.refund_due(booking, current_user)
        if booking.status == BookingStatus.CONFIRMED
        else 0,
        refund_promise=booking_service.refund_promise(booking),
        not_held=settlement.was_not_held(booking.session),
        **_record_context(booking),
    )


def _record_context(booking):
    """ "What happened", once the session is over and the booking held a seat in it."""
    if not (learning_record.has_ended(booking.session) and learning_record.held_a_seat(booking)):
        return {"record": None}
    record = learning_record.for_booking(current_user, booking.id)
    return {"record": record, "links": record_links(record, url_for)}


def _dispute_context(booking, form=None):
    """What the booking page shows about reporting a problem: the dispute if there is one, else
    the form while the window is open (``form``: a refused post's values and errors)."""
    dispute = dispute_service.for_booking(booking.id)
    return {
        "dispute": dispute,
        "dispute_refund": dispute_service.refund_of(dispute),
        "can_report": dispute is None and dispute_service.can_report(booking),
        "report_until": dispute_service.report_deadline(booking),
        "dispute_reasons": dispute_service.reason_choices(),
        "dispute_form": form or {"values": {}, "errors": {}},
        "dispute_status_label": dispute_service.status_label,
        "dispute_reason_label": dispute_service.reason_label,
        "dispute_details_limits": (dispute_service.MIN_DETAILS_LENGTH, dispute_service.MAX_DETAILS_LENGTH),
    }
