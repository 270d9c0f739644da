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
