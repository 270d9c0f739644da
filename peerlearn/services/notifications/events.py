"""What each event tells whom. Every function records its notifications and emails in the caller's
transaction (through ``inbox.notify``) and commits nothing: the caller commits with the
change that caused them, then calls ``outbox.dispatch()``.
"""

from functools import partial

from flask import current_app, url_for
from sqlalchemy import insert, select

from ...events import subscribe as subscribe_to
from ...extensions import db
from ...formats import format_inr, localtime
from ...links import external_url
from ...models import CouponRedemption, LearningSession, Notification, NotificationKind, ReminderKind, User
from .. import calendar, mail, outbox
from ..booking import refund_promise
from ..disputes import reason_label
from ..earnings import MONEY_STATES, load
from ..ledger import payment_balance, platform_fee
from ..room import opens_at
from ..session_requests import preferred_times
from ..settlement import held_minutes_needed
from .email import Email, label_email
from .inbox import notify
from .kinds import follow_key, request_key
from .preferences import unsubscribe_token

# The events this module tells people of: one function each, named as the event.
EVENTS = (
    "booking_confirmed",
    "payment_failed",
    "booking_cancelled",
    "seat_cancelled_for_mentor",
    "refund_processed",
    "session_cancelled",
    "session_not_held",
    "mentor_struck",
    "publishing_restored",
    "session_rescheduled",
    "booking_moved",
    "session_started",
    "session_reminder",
    "gift_received",
    "payout_paid",
    "security_event",
    "dispute_opened",
    "dispute_decided",
    "new_review",
    "new_follower",
    "mentor_published",
    "request_received",
    "request_accepted",
    "request_declined",
    "request_withdrawn",
    "request_confirmed",
    "request_expired",
    "session_cancelled_by_admin",
)


def subscribe():
    """Tell of each of ``EVENTS`` when a service records it, in the service's transaction."""
    for event in EVENTS:
        subscribe_to(event, "notifications", partial(_tell_of, event))


def _tell_of(event, *args, **kwargs):
    # Looked up when the event happens, so the function now in this module is the one called.
    return globals()[event](*args, **kwargs)


def _when(session, user):
    return localtime(session.starts_at, "%a %d %b %Y, %I:%M %p", tz=user.timezone) + f" ({user.timezone})"


def _path(endpoint, **values):
    with current_app.test_request_context():
        return url_for(endpoint, **values)


def _tell(
    user,
    kind,
    *,
    title,
    lines,
    heading,
    subject,
    action_label=None,
    endpoint=None,
    data=None,
    template="notice",
    context=None,
    attachments=(),
    sender=None,
    collapse_key=None,
    **values,
):
    """One notification: ``lines`` are its words in the app, and the generic notice email's; an
    event with its own ``template`` gets ``context`` on top of those. ``sender`` and
    ``collapse_key`` are as ``notifications.notify`` takes them."""
    url = _path(endpoint, **values) if endpoint else ""
    email = Email(
        template,
        subject,
        {
            "heading": heading,
            "lines": lines,
            "action_label": action_label,
            "action_url": external_url(endpoint, **values) if endpoint else None,
            **(context or {}),
        },
        list(attachments),
    )
    return notify(
        user,
        kind,
        title=title,
        body=" ".join(lines),
        url=url,
        data=data,
        email=email,
        sender=sender,
        collapse_key=collapse_key,
    )


def _duration(minutes):
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} minutes"
    text = "1 hour" if hours == 1 else f"{hours} hours"
    return f"{text} {rest} minutes" if rest else text


def _session_facts(session, user):
    """What every email about a session shows: its title, mentor, time in ``user``'s timezone, links."""
    return {
        "session_title": session.title,
        "mentor_name": session.mentor.name,
        "when": _when(session, user),
        "duration": _duration(session.duration_minutes),
        "session_url": external_url("sessions.detail", session_id=session.id),
        "room_url": external_url("sessions.room", session_id=session.id),
        "room_opens_minutes": current_app.config["ROOM_OPENS_MINUTES"],
    }


def _ics(booking):
    """The booking's calendar entry as an email attachment."""
    return (f"peerlearn-booking-{booking.id}.ics", "text/calendar", calendar.booking_ics(booking))


PAYMENT_METHODS = {
    "card": "Card",
    "upi": "UPI",
    "netbanking": "Net banking",
    "wallet": "Wallet",
    "emi": "EMI",
}


def _receipt(payment, user):
    method = PAYMENT_METHODS.get(payment.method, payment.method.replace("_", " ").title())
    paid_on = ""
    if payment.captured_at:
        paid_on = (
            localtime(payment.captured_at, "%d %b %Y, %I:%M %p", tz=user.timezone) + f" ({user.timezone})"
        )
    return {
        "amount": format_inr(payment.amount_paise),
        "number": payment.receipt,
        "method": method or "Online",
        "paid_on": paid_on,
        "payment_id": payment.gateway_payment_id or "",
        **_coupon_lines(payment),
    }


def _coupon_lines(payment):
    """The receipt's coupon lines: list price, code and discount (services.coupons), if one was used."""
    redemption = db.session.scalar(select(CouponRedemption).where(CouponRedemption.payment_id == payment.id))
    if redemption is None:
        return {"list_price": "", "coupon": "", "discount": ""}
    return {
        "list_price": format_inr(redemption.list_price_paise),
        "coupon": redemption.code,
        "discount": "−" + format_inr(redemption.discount_paise),
    }


def booking_confirmed(booking, payment=None):
    session, learner = booking.session, booking.learner
    lines = [
        f"You have a seat in “{session.title}” with {session.mentor.name}.",
        f"When: {_when(session, learner)}.",
    ]
    if payment is not None:
        lines.append(f"Paid: {format_inr(payment.amount_paise)} (receipt {payment.receipt}).")
    promise = refund_promise(booking, tz=learner.timezone)
    if promise:
        lines.append(promise)
    attachment = _ics(booking)
    _tell(
        learner,
        NotificationKind.BOOKING_CONFIRMED,
        title=f"Booked: {session.title}",
        lines=lines,
        heading="Your seat is confirmed",
        subject=f"Booked: {session.title}",
        action_label="View your booking",
        endpoint="booking.detail",
        booking_id=booking.id,
        data={"booking_id": booking.id, "session_id": session.id},
        template="booking_confirmed",
        context={
            **_session_facts(session, learner),
            "booking_url": external_url("booking.detail", booking_id=booking.id),
            "receipt": _receipt(payment, learner) if payment is not None else None,
            "full_refund_hours": current_app.config["FULL_REFUND_HOURS"],
            "refund_promise": promise,
            "ics_filename": attachment[0],
        },
        attachments=[attachment],
    )
    if payment is not None:
        mentor = session.mentor
        _tell(
            mentor,
            NotificationKind.PAYMENT_RECEIVED,
            title=f"{learner.name} booked “{session.title}”",
            lines=[
                f"{learner.name} paid {format_inr(payment.amount_paise)} for a seat in “{session.title}”.",
                f"{session.seats_taken} of {session.capacity} seats are taken.",
            ],
            heading="New paid booking",
            subject=f"New booking: {session.title}",
            action_label="See your session",
            endpoint="sessions.detail",
            session_id=session.id,
            data={"session_id": session.id, "payment_id": payment.id},
        )


def payment_failed(payment):
    booking = payment.booking
    if booking is None:
        return
    session, learner = booking.session, booking.learner
    lines = [f"Your payment of {format_inr(payment.amount_paise)} for “{session.title}” did not go through."]
    if payment.failure_reason:
        lines.append(f"Reason given: {payment.failure_reason}")
    lines.append("Your seat is still held for a while: you can try again with another method.")
    _tell(
        learner,
        NotificationKind.PAYMENT_FAILED,
        title=f"Payment failed: {session.title}",
        lines=lines,
        heading="Your payment didn't go through",
        subject=f"Payment failed: {session.title}",
        action_label="Try again",
        endpoint="booking.detail",
        booking_id=booking.id,
        data={"booking_id": booking.id},
        template="payment_failed",
        context={
            **_session_facts(session, learner),
            "amount": format_inr(payment.amount_paise),
            "reason": payment.failure_reason,
            "booking_url": external_url("booking.detail", booking_id=booking.id),
        },
    )


def booking_cancelled(booking, refund=None):
    session, learner = booking.session, booking.learner
    lines = [f"Your booking for “{session.title}” ({_when(session, learner)}) is cancelled."]
    refund_line = policy_line = None
    if refund is not None:
        refund_line = (
            f"A refund of {format_inr(refund.amount_paise)} is on its way to your original payment method."
        )
        lines.append(refund_line)
    elif booking.amount_paise and booking.confirmed_at:
        hours = current_app.config["FULL_REFUND_HOURS"]
        policy_line = f"Cancellations within {hours} hours of the start are not refunded."
        lines.append(policy_line)
    _tell(
        learner,
        NotificationKind.BOOKING_CANCELLED,
        title=f"Cancelled: {session.title}",
        lines=lines,
        heading="Booking cancelled",
        subject=f"Cancelled: {session.title}",
        action_label="Find another session",
        endpoint="sessions.browse",
        data={"booking_id": booking.id},
        template="cancellation",
        context={
            **_session_facts(session, learner),
            "by_learner": booking.cancelled_by_id == learner.id,
            "refund_line": refund_line,
            "policy_line": policy_line,
            "browse_url": external_url("sessions.browse"),
        },
    )


def seat_cancelled_for_mentor(booking, actor):
    """Tell the mentor a learner's confirmed seat was cancelled (by the learner, or for them) and
    is free again. Not a social notice: it is never capped and always sent."""
    session, learner = booking.session, booking.learner
    mentor = session.mentor
    who = (
        f"{learner.name} cancelled their seat"
        if actor.id == learner.id
        else f"{learner.name}'s seat was cancelled"
    )
    lines = [
        f"{who} in “{session.title}” ({_when(session, mentor)}).",
        "The seat is free again: another learner can book it.",
    ]
    _tell(
        mentor,
        NotificationKind.BOOKING_CANCELLED,
        title=f"{who}: {session.title}",
        lines=lines,
        heading="A seat is free again",
        subject=f"{who}: {session.title}",
        action_label="See your session",
        endpoint="sessions.detail",
        session_id=session.id,
        data={"booking_id": booking.id, "session_id": session.id},
    )


def refund_processed(refund):
    payment = refund.payment
    title = payment.booking.session.title if payment.booking else "your gift"
    _tell(
        payment.payer,
        NotificationKind.REFUND_PROCESSED,
        title=f"Refund processed: {format_inr(refund.amount_paise)}",
        lines=[
            f"We refunded {format_inr(refund.amount_paise)} for “{title}”.",
            "Banks usually show it within 5–7 working days.",
        ],
        heading="Your refund has been processed",
        subject=f"Refund processed: {format_inr(refund.amount_paise)}",
        action_label="View your booking",
        endpoint="booking.detail" if payment.booking_id else None,
        data={"refund_id": refund.id},
        template="refund_processed",
        context={
            "amount": format_inr(refund.amount_paise),
            "title": title,
            "receipt_number": payment.receipt,
            "refund_reference": refund.gateway_refund_id or "",
        },
        **({"booking_id": payment.booking_id} if payment.booking_id else {}),
    )


def session_cancelled(session, bookings, *, by_admin=False):
    """Booked learners hear the session is off: from its mentor, or from PeerLearn's team when an
    admin cancelled it."""
    canceller = "PeerLearn's team" if by_admin else session.mentor.name
    for booking in bookings:
        learner = booking.learner
        refund_line = (
            f"Your payment of {format_inr(booking.amount_paise)} is being refunded in full."
            if booking.amount_paise
            else None
        )
        _tell(
            learner,
            NotificationKind.SESSION_CANCELLED,
            title=f"Session cancelled: {session.title}",
            lines=[
                f"{canceller} cancelled “{session.title}” ({_when(session, learner)}).",
                *([f"Reason: {session.cancel_reason}"] if session.cancel_reason else []),
                *([refund_line] if refund_line else []),
            ],
            heading="Your session was cancelled",
            subject=f"Session cancelled: {session.title}",
            action_label="Find another session",
            endpoint="sessions.browse",
            data={"session_id": session.id, "booking_id": booking.id},
            template="cancellation",
            context={
                **_session_facts(session, learner),
                "by_mentor": True,
                "canceller": canceller,
                "reason": session.cancel_reason,
                "refund_line": refund_line,
                "browse_url": external_url("sessions.browse"),
            },
        )


def session_not_held(session, bookings, mentor_minutes):
    """Booked learners hear the session did not take place (its mentor was in the room for too
    little of it) and that everything they paid for it is coming back."""
    if mentor_minutes == 0:
        presence = f"{session.mentor.name} didn't come to the room"
    else:
        presence = (
            f"{session.mentor.name} was in the room for only {mentor_minutes} of its "
            f"{session.duration_minutes} minutes"
        )
    for booking in bookings:
        learner = booking.learner
        refund_line = (
            "Everything you paid for it (your seat, and any gift you sent) is being refunded in full."
            if booking.amount_paise
            else "It was free, so there is nothing to refund."
        )
        _tell(
            learner,
            NotificationKind.SESSION_NOT_HELD,
            title=f"Not held: {session.title}",
            lines=[
                f"“{session.title}” ({_when(session, learner)}) was not held: {presence}.",
                refund_line,
            ],
            heading="Your session was not held",
            subject=f"Not held: {session.title}",
            action_label="Find another session",
            endpoint="sessions.browse",
            data={"session_id": session.id, "booking_id": booking.id},
            template="session_not_held",
            context={
                **_session_facts(session, learner),
                "presence": presence,
                "needed_minutes": held_minutes_needed(session),
                "refund_line": refund_line,
                "browse_url": external_url("sessions.browse"),
            },
        )


def mentor_struck(session, mentor_minutes, *, strikes, suspended):
    """The mentor hears their session counted as not held: refunds, a strike, and whether their
    publishing is now suspended."""
    config = current_app.config
    mentor = session.mentor
    presence = (
        "you didn't come to the room"
        if mentor_minutes == 0
        else f"you were in the room for {mentor_minutes} of its {session.duration_minutes} minutes"
    )
    lines = [
        f"“{session.title}” ({_when(session, mentor)}) was not held: {presence}, "
        f"and a session counts as held from {held_minutes_needed(session)} minutes.",
        "Everyone who paid, gifts included, is refunded in full, and this counts as a strike "
        f"({strikes} in the last {config['STRIKE_WINDOW_DAYS']} days).",
    ]
    if suspended:
        lines.append(
            f"With {config['STRIKE_LIMIT']} strikes you can't publish new sessions until an admin "
            "reviews your account and lifts the suspension. Your scheduled sessions still take place."
        )
    else:
        lines.append(
            f"{config['STRIKE_LIMIT']} strikes within {config['STRIKE_WINDOW_DAYS']} days suspend "
            "publishing until an admin lifts it."
        )
    _tell(
        mentor,
        NotificationKind.SESSION_NOT_HELD,
        title=f"Not held: {session.title}",
        lines=lines,
        heading="Your session was not held",
        subject=f"Not held: {session.title}",
        action_label="See your sessions",
        endpoint="sessions.mine",
        data={"session_id": session.id, "strikes": strikes, "publishing_suspended": suspended},
    )


def publishing_restored(mentor, reason):
    """The mentor hears an admin lifted their publishing suspension."""
    _tell(
        mentor,
        NotificationKind.SESSION_NOT_HELD,
        title="You can publish sessions again",
        lines=[
            "An admin reviewed your account and lifted the suspension on publishing.",
            f"Their note: {reason}",
            "Your earlier strikes stay on record: hold the sessions you publish (be in the room for "
            f"at least {current_app.config['HELD_MIN_PERCENT']}% of each) to keep publishing.",
        ],
        heading="Publishing is open again",
        subject="You can publish sessions again",
        action_label="See your sessions",
        endpoint="sessions.mine",
        data={"publishing_suspended": False},
    )


def session_rescheduled(session, bookings):
    for booking in bookings:
        learner = booking.learner
        _tell(
            learner,
            NotificationKind.SESSION_RESCHEDULED,
            title=f"New time: {session.title}",
            lines=[
                f"{session.mentor.name} moved “{session.title}” to {_when(session, learner)}.",
                "If the new time doesn't work for you, you can cancel with a full refund.",
            ],
            heading="Your session has a new time",
            subject=f"New time: {session.title}",
            action_label="View your booking",
            endpoint="booking.detail",
            booking_id=booking.id,
            data={"session_id": session.id, "booking_id": booking.id},
            # Same UID, higher SEQUENCE: opening it moves the entry in the learner's calendar.
            attachments=[_ics(booking)],
        )


def booking_moved(booking, source, refund=None):
    """The learner moved their seat from ``source`` to the booking's session (services.reschedule):
    they get the new time and calendar entry, the mentor hears which seat moved where."""
    session, learner = booking.session, booking.learner
    mentor = session.mentor
    lines = [
        f"Your booking for “{source.title}” ({_when(source, learner)}) moved to "
        f"“{session.title}” ({_when(session, learner)}).",
    ]
    if refund is not None:
        lines.append(
            f"The new session costs less: {format_inr(refund.amount_paise)} is on its way back to your "
            "original payment method."
        )
    _tell(
        learner,
        NotificationKind.SESSION_RESCHEDULED,
        title=f"Moved: {session.title}",
        lines=lines,
        heading="Your booking has a new time",
        subject=f"Moved: {session.title}",
        action_label="View your booking",
        endpoint="booking.detail",
        booking_id=booking.id,
        data={"session_id": session.id, "booking_id": booking.id, "from_session_id": source.id},
        # Same UID, higher SEQUENCE: opening it moves the entry in the learner's calendar.
        attachments=[_ics(booking)],
    )
    _tell(
        mentor,
        NotificationKind.SESSION_RESCHEDULED,
        title=f"{learner.name} moved their seat to {session.title}",
        lines=[
            f"{learner.name} moved their seat from “{source.title}” ({_when(source, mentor)}) to "
            f"“{session.title}” ({_when(session, mentor)}).",
            "Their old seat is free again: another learner can book it.",
        ],
        heading="A learner moved their seat",
        subject=f"{learner.name} moved their seat to {session.title}",
        action_label="See your session",
        endpoint="sessions.detail",
        session_id=session.id,
        data={"session_id": session.id, "from_session_id": source.id, "booking_id": booking.id},
    )


def session_started(session, learners):
    for learner in learners:
        _tell(
            learner,
            NotificationKind.SESSION_STARTED,
            title=f"Live now: {session.title}",
            lines=[f"{session.mentor.name} has started “{session.title}”. Join the room now."],
            heading="Your session is live",
            subject=f"Live now: {session.title}",
            action_label="Join the room",
            endpoint="sessions.room",
            session_id=session.id,
            data={"session_id": session.id},
            template="session_started",
            context=_session_facts(session, learner),
        )


def _starts_in(delta):
    minutes = max(1, round(delta.total_seconds() / 60))
    if minutes < 90:
        return "1 minute" if minutes == 1 else f"{minutes} minutes"
    hours = round(minutes / 60)
    return f"{hours} hours"


def session_reminder(booking, kind, now):
    """Remind a learner with a confirmed seat: a day before (``24h``) and just before (``15m``)."""

    session, learner = booking.session, booking.learner
    starting_soon = kind == ReminderKind.STARTING_SOON
    starts_in = _starts_in(session.starts_at - now)
    endpoint = "sessions.room" if starting_soon else "sessions.detail"
    lines = [
        f"“{session.title}” with {session.mentor.name} starts in {starts_in}: {_when(session, learner)}.",
    ]
    _tell(
        learner,
        NotificationKind.SESSION_REMINDER,
        title=f"Starts in {starts_in}: {session.title}",
        lines=lines,
        heading=f"Your session starts in {starts_in}",
        subject=f"Starts in {starts_in}: {session.title}",
        action_label="Join the room" if starting_soon else "View the session",
        endpoint=endpoint,
        session_id=session.id,
        data={"session_id": session.id, "booking_id": booking.id, "reminder": str(kind)},
        template="session_reminder",
        context={
            **_session_facts(session, learner),
            "starting_soon": starting_soon,
            "starts_in": starts_in,
            "room_open": now >= opens_at(session),
            "join_url": external_url(endpoint, session_id=session.id),
        },
    )


def gift_received(gift):
    session = gift.session_id
    mentor = db.session.get(User, gift.mentor_id)
    learning_session = db.session.get(LearningSession, session) if session else None
    lines = [f"{gift.sender.name} sent you a {format_inr(gift.amount_paise)} gift."]
    if gift.message:
        lines.append(f"“{gift.message}”")
    _tell(
        mentor,
        NotificationKind.GIFT_RECEIVED,
        title=f"{gift.sender.name} sent you {format_inr(gift.amount_paise)}",
        lines=lines,
        heading="You received a gift",
        subject=f"A {format_inr(gift.amount_paise)} gift from {gift.sender.name}",
        action_label="See your earnings",
        endpoint="booking.earnings",
        data={"gift_id": gift.id, "session_id": session},
        template="gift_received",
        context={
            "sender_name": gift.sender.name,
            "amount": format_inr(gift.amount_paise),
            "earning": format_inr(gift.amount_paise - platform_fee(gift.amount_paise)),
            "message": gift.message,
            "session_title": learning_session.title if learning_session else None,
            "earnings_url": external_url("booking.earnings"),
        },
        sender=gift.sender,
    )


def payout_paid(payout):
    """The mentor hears a payout was sent, where to, and where their money stands now, in the
    words and figures of the earnings page (``services.earnings``)."""
    paid_out = MONEY_STATES["paid_out"].label
    destination = payout.account_masked or "your payout account"
    money = load(payout.mentor_id).summary()  # in the caller's transaction: this payout counts
    balance = [
        (word.label, format_inr(money[f"{key}_paise"]))
        for key, word in MONEY_STATES.items()
        if key != "paid_out" and (key != "frozen" or money["frozen_paise"])
    ]
    _tell(
        payout.mentor,
        NotificationKind.PAYOUT_PAID,
        title=f"{paid_out}: {format_inr(payout.amount_paise)}",
        lines=[
            f"{paid_out}: {format_inr(payout.amount_paise)} to {destination}.",
            *([f"Reference: {payout.reference}"] if payout.reference else []),
            "Your money now: " + ", ".join(f"{label} {amount}" for label, amount in balance) + ".",
        ],
        heading="Your payout is on its way",
        subject=f"{paid_out}: {format_inr(payout.amount_paise)}",
        action_label="See your earnings",
        endpoint="booking.earnings",
        data={"payout_id": payout.id},
        template="payout_paid",
        context={
            "amount": format_inr(payout.amount_paise),
            "reference": payout.reference,
            "destination": destination,
            "paid_out_label": paid_out,
            "balance": balance,
            "owed": format_inr(money["balance_owed_paise"]) if money["balance_owed_paise"] else "",
            "earnings_url": external_url("booking.earnings"),
        },
    )


def security_event(user, title, lines):
    _tell(
        user,
        NotificationKind.SECURITY,
        title=title,
        lines=lines,
        heading=title,
        subject=title,
        action_label="Review your devices",
        endpoint="users.edit_profile",
    )


# ------------------------------------------------------------------------------- disputes


def _mentor_share(payment):
    """The mentor's share of a payment now (earning net of reversals already written)."""
    totals = payment_balance(payment.id)
    return totals.get("mentor_earning", 0) + totals.get("earning_reversal", 0)


def _dispute_tell(user, dispute, *, title, lines, heading, rows, endpoint, **values):
    _tell(
        user,
        NotificationKind.DISPUTE_UPDATE,
        title=title,
        lines=lines,
        heading=heading,
        subject=title,
        action_label="View your booking" if endpoint == "booking.detail" else "See your earnings",
        endpoint=endpoint,
        data={"dispute_id": dispute.id, "booking_id": dispute.booking_id, "status": dispute.status},
        template="dispute_update",
        context={"rows": rows},
        **values,
    )


def dispute_opened(dispute, payment):
    """The learner hears their report was received; the mentor that their share of that
    booking is frozen until an admin decides."""
    session, learner, mentor = dispute.session, dispute.learner, dispute.mentor
    label = reason_label(dispute.reason)
    _dispute_tell(
        learner,
        dispute,
        title=f"We received your report: {session.title}",
        lines=[
            f"Thanks for telling us what went wrong with “{session.title}” ({_when(session, learner)}).",
            "An admin will look at what happened, including who was in the room, and decide: a full "
            "or partial refund, or none. We'll tell you the decision and the reason.",
        ],
        heading="We received your report",
        rows=[("Problem", label), ("Paid", format_inr(payment.amount_paise)), ("Report", f"#{dispute.id}")],
        endpoint="booking.detail",
        booking_id=dispute.booking_id,
    )
    share = format_inr(_mentor_share(payment))
    _dispute_tell(
        mentor,
        dispute,
        title=f"A learner reported a problem: {session.title}",
        lines=[
            f"{learner.name} reported a problem with “{session.title}” ({_when(session, mentor)}): {label}.",
            f"Your share of this booking, {share}, is frozen until an admin decides; "
            "your other earnings are not affected.",
            "An admin will look at what happened, including who was in the room. "
            "You'll be told the decision and the reason.",
        ],
        heading="A learner reported a problem",
        rows=[
            ("Session", session.title),
            ("Problem", label),
            ("Frozen", share),
            ("Report", f"#{dispute.id}"),
        ],
        endpoint="booking.earnings",
    )


def dispute_decided(dispute, payment, mentor_share_paise):
    """Both sides hear the admin's decision and its reason."""
    session, learner, mentor = dispute.session, dispute.learner, dispute.mentor
    refund = format_inr(dispute.refund_paise)
    paid = format_inr(payment.amount_paise)
    if dispute.status == "released":
        learner_line = f"No refund: the payment for “{session.title}” stays with the mentor."
        mentor_line = "You keep your share of this booking; it is no longer frozen and settles as usual."
        outcome = "No refund"
    else:
        in_full = dispute.status == "refunded"
        learner_line = (
            f"We are refunding {refund}{'' if in_full else f' of the {paid} you paid'} "
            f"for “{session.title}” to your original payment method."
        )
        mentor_line = (
            f"{refund} goes back to {learner.name}: {format_inr(mentor_share_paise)} of it comes from "
            "your share of this booking, the rest from the platform fee."
        )
        outcome = f"Refund of {refund}" if not in_full else f"Refund in full ({refund})"
    reason_line = f"Reason: {dispute.decision_reason}"
    rows = [("Session", session.title), ("Decision", outcome), ("Report", f"#{dispute.id}")]
    _dispute_tell(
        learner,
        dispute,
        title=f"Decision on your report: {session.title}",
        lines=[learner_line, reason_line],
        heading="Your report was decided",
        rows=rows,
        endpoint="booking.detail",
        booking_id=dispute.booking_id,
    )
    _dispute_tell(
        mentor,
        dispute,
        title=f"Decision on a reported problem: {session.title}",
        lines=[mentor_line, reason_line],
        heading="A reported problem was decided",
        rows=rows,
        endpoint="booking.earnings",
    )


# ------------------------------------------------------------------------------- community


def new_review(review):
    """The mentor hears of a new review of one of their sessions."""

    session, learner = review.session, review.learner
    mentor = db.session.get(User, review.mentor_id)
    lines = [f"{learner.name} rated “{session.title}” {review.rating} out of 5."]
    if review.body:
        excerpt = review.body if len(review.body) <= 300 else review.body[:297].rstrip() + "…"
        lines.append(f"“{excerpt}”")
    lines.append("You can reply once, on the session's page.")
    _tell(
        mentor,
        NotificationKind.NEW_REVIEW,
        title=f"New review: {review.rating}/5 for “{session.title}”",
        lines=lines,
        heading="You have a new review",
        subject=f"New review of “{session.title}”",
        action_label="Read and reply",
        endpoint="sessions.detail",
        session_id=session.id,
        data={"review_id": review.id, "session_id": session.id, "rating": review.rating},
        sender=learner,
    )


def new_follower(mentor, follower):
    """The mentor hears of a new follower: once, however often the follower toggles (a repeat
    within a day adds nothing, and an unfollow before the email goes drops it: ``follows``)."""
    _tell(
        mentor,
        NotificationKind.NEW_FOLLOWER,
        title=f"{follower.name} followed you",
        lines=[f"{follower.name} now follows you and will hear whenever you publish a session."],
        heading="You have a new follower",
        subject=f"{follower.name} followed you on PeerLearn",
        action_label="See your profile",
        endpoint="users.mentor_profile",
        user_id=mentor.id,
        data={"follower_id": follower.id, "mentor_id": mentor.id},
        sender=follower,
        collapse_key=follow_key(follower.id, mentor.id),
    )


def mentor_published(session, mentor, followers):
    """Every follower of ``mentor`` hears of a newly published session, in the app and by email
    as each chose. ``followers`` are ``(user, in_app, by_email)`` with those choices already read
    in one query (services.follows.followers_to_tell): what ``notify()`` does for one person, done
    here for many, with every notification written by one INSERT and no query per follower."""
    kind = NotificationKind.MENTOR_PUBLISHED
    url = _path("sessions.detail", session_id=session.id)
    action_url = external_url("sessions.detail", session_id=session.id)
    # Built once and filled per follower: building each link afresh dominated large fan-outs.
    slot = "0-token-0"
    link = external_url("notifications.unsubscribe", token=slot)
    before_token, _slot, after_token = link.rpartition(slot)
    price = "Free" if session.is_free else format_inr(session.price_paise) + " a seat"
    title = f"{mentor.name} published “{session.title}”"
    rows = []
    for user, in_app, by_email in followers:
        lines = [
            f"{mentor.name}, whom you follow, published a new session: “{session.title}”.",
            f"When: {_when(session, user)}. {_duration(session.duration_minutes).capitalize()}, {price}.",
        ]
        if in_app:
            rows.append(
                {
                    "user_id": user.id,
                    "kind": kind.value,
                    "title": title[:200],
                    "body": " ".join(lines)[:1000],
                    "url": url,
                    "data": {"session_id": session.id, "mentor_id": mentor.id},
                }
            )
        if by_email:
            message = mail.compose(
                user,
                "notice",
                f"New from {mentor.name}: {session.title}",
                notification_kind=kind.value,
                unsubscribe_url=before_token + unsubscribe_token(user, kind) + after_token,
                heading=f"{mentor.name} published a new session",
                lines=lines,
                action_label="See the session",
                action_url=action_url,
            )
            label_email(message, kind, sender=mentor.id)
    if rows:
        for note in db.session.scalars(insert(Notification).returning(Notification), rows):
            outbox.stage(note)


# -------------------------------------------------------------------------- session requests


def _request_times(request, user):
    times = [localtime(t, "%a %d %b %Y, %I:%M %p", tz=user.timezone) for t in preferred_times(request)]
    return "; ".join(times) + f" ({user.timezone})"


def _request_tell(
    user, kind, request, *, title, lines, heading, action_label, data=None, sender=None, collapse_key=None
):
    _tell(
        user,
        kind,
        title=title,
        lines=lines,
        heading=heading,
        subject=title,
        action_label=action_label,
        endpoint="community.request_detail",
        request_id=request.id,
        data={"request_id": request.id, "status": request.status, **(data or {})},
        sender=sender,
        collapse_key=collapse_key,
    )


def request_received(request):
    """The mentor hears of a learner's request (in the app and by email)."""
    learner, mentor = request.learner, request.mentor
    budget = "none given" if request.budget_paise is None else format_inr(request.budget_paise)
    lines = [
        f"{learner.name} asked you for a session: “{request.topic}”.",
        f"Preferred times: {_request_times(request, mentor)}.",
        f"Budget: {budget}.",
    ]
    if request.message:
        excerpt = request.message if len(request.message) <= 500 else request.message[:497].rstrip() + "…"
        lines.append(f"“{excerpt}”")
    lines.append(
        "Accept it and we publish a one-to-one session for them, or decline with a note. "
        f"It expires on {localtime(request.expires_at, '%a %d %b %Y', tz=mentor.timezone)}."
    )
    _request_tell(
        mentor,
        NotificationKind.REQUEST_RECEIVED,
        request,
        title=f"{learner.name} asked you for a session",
        lines=lines,
        heading="You have a session request",
        action_label="Answer the request",
        sender=learner,
        collapse_key=request_key(request.id),
    )


def request_accepted(request, session):
    """The learner hears their request was accepted, with the mentor's note and a link to take the seat."""
    learner, mentor = request.learner, request.mentor
    price = "Free" if session.is_free else format_inr(session.price_paise)
    lines = [
        f"{mentor.name} accepted your request “{request.topic}”.",
        f"When: {_when(session, learner)}. {_duration(session.duration_minutes).capitalize()}, {price}.",
    ]
    if request.response_note:
        lines.append(f"{mentor.first_name}'s note: “{request.response_note}”")
    deadline = localtime(request.expires_at, "%a %d %b %Y, %I:%M %p", tz=learner.timezone)
    lines.append(f"The seat is kept for you until {deadline} ({learner.timezone}).")
    _request_tell(
        learner,
        NotificationKind.REQUEST_ANSWERED,
        request,
        title=f"{mentor.name} accepted your request",
        lines=lines,
        heading="Your session request was accepted",
        action_label="Confirm your seat" if session.is_free else "Confirm and pay",
        data={"session_id": session.id},
    )


def request_declined(request):
    learner, mentor = request.learner, request.mentor
    lines = [f"{mentor.name} declined your request “{request.topic}”."]
    if request.response_note:
        lines.append(f"{mentor.first_name}'s note: “{request.response_note}”")
    lines.append("You can browse their sessions, or ask another mentor.")
    _request_tell(
        learner,
        NotificationKind.REQUEST_ANSWERED,
        request,
        title=f"{mentor.name} declined your request",
        lines=lines,
        heading="Your session request was declined",
        action_label="See the request",
    )


def request_withdrawn(request, *, was_accepted):
    learner, mentor = request.learner, request.mentor
    if was_accepted:
        lines = [
            f"{learner.name} turned down the session you made for “{request.topic}”.",
            "The session is now open to every learner; cancel it if you'd rather not run it.",
        ]
    else:
        lines = [f"{learner.name} withdrew their request “{request.topic}”. Nothing more to do."]
    _request_tell(
        mentor,
        NotificationKind.REQUEST_RECEIVED,
        request,
        title=f"{learner.name} withdrew a request",
        lines=lines,
        heading="A session request was withdrawn",
        action_label="See the request",
        sender=learner,
    )


def request_confirmed(request, booking):
    """The mentor hears the learner took a free seat (a paid one is announced by its payment)."""
    learner, mentor = request.learner, request.mentor
    _request_tell(
        mentor,
        NotificationKind.REQUEST_RECEIVED,
        request,
        title=f"{learner.name} confirmed “{request.topic}”",
        lines=[
            f"{learner.name} took their seat in “{booking.session.title}”.",
            f"When: {_when(booking.session, mentor)}.",
        ],
        heading="Your requested session is booked",
        action_label="See the request",
        data={"session_id": booking.session_id},
        sender=learner,
    )


def request_expired(request, *, was_accepted):
    """Both sides hear that the request's window closed."""
    learner, mentor = request.learner, request.mentor
    if was_accepted:
        learner_lines = [
            f"You didn't confirm the session {mentor.name} made for “{request.topic}” in time, "
            "so the seat is no longer kept for you.",
            "If it's still free you can book it like any other session.",
        ]
        mentor_lines = [
            f"{learner.name} didn't confirm the session you made for “{request.topic}”.",
            "The session is now open to every learner; cancel it if you'd rather not run it.",
        ]
    else:
        learner_lines = [
            f"{mentor.name} didn't answer your request “{request.topic}” in time, so it expired.",
            "You can ask again, or ask another mentor.",
        ]
        mentor_lines = [f"The request from {learner.name}, “{request.topic}”, expired unanswered."]
    _request_tell(
        learner,
        NotificationKind.REQUEST_ANSWERED,
        request,
        title=f"Request expired: {request.topic}",
        lines=learner_lines,
        heading="Your session request expired",
        action_label="See the request",
    )
    _request_tell(
        mentor,
        NotificationKind.REQUEST_RECEIVED,
        request,
        title=f"Request expired: {request.topic}",
        lines=mentor_lines,
        heading="A session request expired",
        action_label="See the request",
    )


def session_cancelled_by_admin(session, reason):
    """The mentor hears that an admin cancelled their session (its learners hear it from
    ``session_cancelled``)."""
    mentor = session.mentor
    _tell(
        mentor,
        NotificationKind.SESSION_CANCELLED,
        title=f"Session cancelled by an admin: {session.title}",
        lines=[
            f"An admin cancelled “{session.title}” ({_when(session, mentor)}).",
            f"Reason: {reason}",
            "Everyone who booked is refunded in full.",
        ],
        heading="An admin cancelled your session",
        subject=f"Session cancelled: {session.title}",
        action_label="See your sessions",
        endpoint="sessions.mine",
        data={"session_id": session.id},
    )
