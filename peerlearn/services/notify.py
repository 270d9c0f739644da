"""Telling people what happened to their bookings and sessions, by email for now.

Each function composes its emails in the current transaction's session and dispatches them
after committing, so a mail outage never undoes the change that caused the message.
"""

from flask import current_app

from ..extensions import db
from ..jinja import format_inr, localtime
from . import mail


def _when(session, user):
    return localtime(session.starts_at, "%a %d %b %Y, %I:%M %p", tz=user.timezone) + f" ({user.timezone})"


def _send(user, subject, heading, lines, action_label=None, action_url=None):
    email = mail.compose(
        user,
        "notice",
        subject,
        heading=heading,
        lines=lines,
        action_label=action_label,
        action_url=action_url,
    )
    db.session.commit()
    mail.dispatch(email)


def booking_confirmed(booking, payment=None):
    session, learner = booking.session, booking.learner
    lines = [
        f"You have a seat in “{session.title}” with {session.mentor.name}.",
        f"When: {_when(session, learner)}.",
    ]
    if payment is not None:
        lines.append(f"Paid: {format_inr(payment.amount_paise)} (receipt {payment.receipt}).")
    _send(
        learner,
        f"Booked: {session.title}",
        "Your seat is confirmed",
        lines,
        "View your booking",
        mail.absolute_url("booking.detail", booking_id=booking.id),
    )


def booking_cancelled(booking, refund=None):
    session, learner = booking.session, booking.learner
    lines = [f"Your booking for “{session.title}” ({_when(session, learner)}) is cancelled."]
    if refund is not None:
        lines.append(
            f"A refund of {format_inr(refund.amount_paise)} is on its way to your original payment method."
        )
    elif booking.amount_paise and booking.confirmed_at:
        hours = current_app.config["FULL_REFUND_HOURS"]
        lines.append(f"Cancellations within {hours} hours of the start are not refunded.")
    _send(
        learner,
        f"Cancelled: {session.title}",
        "Booking cancelled",
        lines,
        "Find another session",
        mail.absolute_url("sessions.browse"),
    )


def refund_processed(refund):
    payment = refund.payment
    payer = payment.payer
    title = payment.booking.session.title if payment.booking else "your payment"
    _send(
        payer,
        f"Refund processed: {format_inr(refund.amount_paise)}",
        "Your refund has been processed",
        [
            f"We refunded {format_inr(refund.amount_paise)} for “{title}”.",
            "Banks usually show it within 5–7 working days.",
        ],
    )


def session_cancelled(session, bookings):
    for booking in bookings:
        learner = booking.learner
        _send(
            learner,
            f"Session cancelled: {session.title}",
            "Your session was cancelled",
            [
                f"{session.mentor.name} cancelled “{session.title}” ({_when(session, learner)}).",
                *([f"Reason: {session.cancel_reason}"] if session.cancel_reason else []),
                *(["Your payment is being refunded in full."] if booking.amount_paise else []),
            ],
            "Find another session",
            mail.absolute_url("sessions.browse"),
        )


def session_rescheduled(session, bookings):
    for booking in bookings:
        learner = booking.learner
        _send(
            learner,
            f"New time: {session.title}",
            "Your session has a new time",
            [
                f"{session.mentor.name} moved “{session.title}” to {_when(session, learner)}.",
                "If the new time doesn't work for you, you can cancel with a full refund.",
            ],
            "View your booking",
            mail.absolute_url("booking.detail", booking_id=booking.id),
        )
