"""A booking as its learner sees it, with the session it holds a seat in."""

from ..links import external_url
from .sessions import session_summary


def _time(value):
    return value.isoformat() if value else None


def booking_json(booking):
    return {
        "id": booking.id,
        "status": booking.status,
        "session": session_summary(booking.session),
        "amount_paise": booking.amount_paise,
        "currency": booking.currency,
        "hold_expires_at": _time(booking.hold_expires_at),
        "confirmed_at": _time(booking.confirmed_at),
        "cancelled_at": _time(booking.cancelled_at),
        "created_at": booking.created_at.isoformat(),
        "url": external_url("booking.detail", booking_id=booking.id),
    }


def booked_json(booking):
    """A booking just made, with the page to pay for it while its seat is held."""
    data = booking_json(booking)
    if booking.status == "pending_payment":
        data["pay_url"] = external_url("payments.checkout", booking_id=booking.id)
    return data


def booking_with_dispute_json(booking, dispute_json, reportable):
    """The booking as its learner sees it, with the problem they reported (``dispute_json``, or
    None) and until when they may report one (null once that is no longer possible)."""
    data = booking_json(booking)
    data["dispute"] = dispute_json
    data["report_problem_until"] = booking.session.settles_at.isoformat() if reportable else None
    return data


def cancelled_booking_json(booking, refund):
    """A booking its learner cancelled, with the refund that brings their money back (or None)."""
    data = booking_json(booking)
    data["refund"] = (
        {"id": refund.id, "amount_paise": refund.amount_paise, "status": refund.status} if refund else None
    )
    return data
