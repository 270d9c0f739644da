"""Serializers for sessions, bookings and payments (the fields each audience may see)."""

from ...links import external_url


def session_summary(session):
    return {
        "id": session.id,
        "title": session.title,
        "category": session.category,
        "level": session.level,
        "language": session.language,
        "skills": [s.name for s in session.skills],
        "starts_at": session.starts_at.isoformat(),
        "ends_at": session.ends_at.isoformat(),
        "duration_minutes": session.duration_minutes,
        "capacity": session.capacity,
        "seats_left": session.seats_left,
        "price_paise": session.price_paise,
        "currency": session.currency,
        "is_free": session.is_free,
        "status": session.status,
        "mentor": {"id": session.mentor.id, "name": session.mentor.name, "headline": session.mentor.headline},
        "url": external_url("sessions.detail", session_id=session.id),
    }


def session_detail(session):
    data = session_summary(session)
    data["description"] = session.description
    data["cover_url"] = (
        external_url("sessions.cover", filename=session.cover_filename) if session.cover_filename else None
    )
    return data


def booking(booking):
    return {
        "id": booking.id,
        "status": booking.status,
        "session": session_summary(booking.session),
        "amount_paise": booking.amount_paise,
        "currency": booking.currency,
        "hold_expires_at": booking.hold_expires_at.isoformat() if booking.hold_expires_at else None,
        "confirmed_at": booking.confirmed_at.isoformat() if booking.confirmed_at else None,
        "cancelled_at": booking.cancelled_at.isoformat() if booking.cancelled_at else None,
        "created_at": booking.created_at.isoformat(),
        "url": external_url("booking.detail", booking_id=booking.id),
    }


def payment(payment):
    return {
        "id": payment.id,
        "purpose": payment.purpose,
        "booking_id": payment.booking_id,
        "order_id": payment.order_id,
        "payment_id": payment.gateway_payment_id,
        "gateway": payment.gateway,
        "receipt": payment.receipt,
        "amount_paise": payment.amount_paise,
        "refunded_paise": payment.refunded_paise,
        "currency": payment.currency,
        "status": payment.status,
        "method": payment.method,
        "created_at": payment.created_at.isoformat(),
        "captured_at": payment.captured_at.isoformat() if payment.captured_at else None,
    }


def checkout(payment, description, payer):
    """What Razorpay Checkout needs to pay ``payment`` (the dev gateway adds its local page)."""
    from ...payments import get_gateway

    gateway = get_gateway()
    options = {
        "gateway": gateway.name,
        "key_id": gateway.key_id,
        "order_id": payment.order_id,
        "amount": payment.amount_paise,
        "currency": payment.currency,
        "name": "PeerLearn",
        "description": description,
        "prefill": {"name": payer.name, "email": payer.email},
    }
    if gateway.name == "dev":
        options["checkout_url"] = external_url("payments.dev_checkout", order_id=payment.order_id)
    return options
