"""What each event tells whom. Every function records its notifications and emails in the caller's
transaction (through ``inbox.notify``) and commits nothing: the caller commits with the
change that caused them, then calls ``outbox.dispatch()``.
"""

from functools import partial

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from flask_babel.speaklater import LazyString
from sqlalchemy import insert, select

from ... import i18n, system_texts
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
    """When ``session`` starts, in ``user``'s timezone and in the language it is read in (lazy:
    the words of the date are chosen when it becomes text, in the recipient's language)."""
    return LazyString(_later_localtime, session.starts_at, "%a %d %b %Y, %I:%M %p", user.timezone, True)


def _later_localtime(value, fmt, timezone, name_timezone=False):
    text = localtime(value, fmt, tz=timezone)
    return f"{text} ({timezone})" if name_timezone else text


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
    # The words are lazy translations: they become text in the recipient's language here.
    with i18n.for_user(user):
        title, heading, subject = str(title), str(heading), str(subject)
        lines = [str(line) for line in lines]
        action_label = str(action_label) if action_label is not None else None
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
        return _l("%(minutes)s minutes", minutes=rest)
    if rest:
        return lazy_ngettext(
            "%(num)d hour %(minutes)s minutes", "%(num)d hours %(minutes)s minutes", hours, minutes=rest
        )
    return lazy_ngettext("%(num)d hour", "%(num)d hours", hours)


def _capitalized(text):
    """``text`` (a lazy translation) with its first letter capitalised, when it becomes text."""
    return LazyString(lambda: str(text).capitalize())


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
    """The booking's calendar entry as an email attachment, in the learner's language (the event
    that sends it may come from a webhook, a job or someone else's request)."""
    with i18n.for_user(booking.learner):
        body = calendar.booking_ics(booking)
    return (f"peerlearn-booking-{booking.id}.ics", "text/calendar", body)


PAYMENT_METHODS = {
    "card": _l("Card"),
    "upi": "UPI",
    "netbanking": _l("Net banking"),
    "wallet": _l("Wallet"),
    "emi": "EMI",
}


def _receipt(payment, user):
    method = PAYMENT_METHODS.get(payment.method, payment.method.replace("_", " ").title())
    paid_on = ""
    if payment.captured_at:
        paid_on = LazyString(_later_localtime, payment.captured_at, "%d %b %Y, %I:%M %p", user.timezone, True)
    return {
        "amount": format_inr(payment.amount_paise),
        "number": payment.receipt,
        "method": method or _l("Online"),
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
        _l(
            "You have a seat in “%(title)s” with %(mentor)s.", title=session.title, mentor=session.mentor.name
        ),
        _l("When: %(when)s.", when=_when(session, learner)),
    ]
    if payment is not None:
        lines.append(
            _l(
                "Paid: %(amount)s (receipt %(receipt)s).",
                amount=format_inr(payment.amount_paise),
                receipt=payment.receipt,
            )
        )
    # Worded when it becomes text, in the learner's language.
    promise = LazyString(refund_promise, booking, tz=learner.timezone)
    if promise:
        lines.append(promise)
    attachment = _ics(booking)
    _tell(
        learner,
        NotificationKind.BOOKING_CONFIRMED,
        title=_l("Booked: %(title)s", title=session.title),
        lines=lines,
        heading=_l("Your seat is confirmed"),
        subject=_l("Booked: %(title)s", title=session.title),
        action_label=_l("View your booking"),
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
            title=_l("%(learner)s booked “%(title)s”", learner=learner.name, title=session.title),
            lines=[
                _l(
                    "%(learner)s paid %(amount)s for a seat in “%(title)s”.",
                    learner=learner.name,
                    amount=format_inr(payment.amount_paise),
                    title=session.title,
                ),
                _l(
                    "%(taken)s of %(capacity)s seats are taken.",
                    taken=session.seats_taken,
                    capacity=session.capacity,
                ),
            ],
            heading=_l("New paid booking"),
            subject=_l("New booking: %(title)s", title=session.title),
            action_label=_l("See your session"),
            endpoint="sessions.detail",
            session_id=session.id,
            data={"session_id": session.id, "payment_id": payment.id},
        )


def payment_failed(payment):
    booking = payment.booking
    if booking is None:
        return
    session, learner = booking.session, booking.learner
    lines = [
        _l(
            "Your payment of %(amount)s for “%(title)s” did not go through.",
            amount=format_inr(payment.amount_paise),
            title=session.title,
        )
    ]
    if payment.failure_reason:
        lines.append(_l("Reason given: %(reason)s", reason=system_texts.lazy(payment.failure_reason)))
    lines.append(_l("Your seat is still held for a while: you can try again with another method."))
    _tell(
        learner,
        NotificationKind.PAYMENT_FAILED,
        title=_l("Payment failed: %(title)s", title=session.title),
        lines=lines,
        heading=_l("Your payment didn't go through"),
        subject=_l("Payment failed: %(title)s", title=session.title),
        action_label=_l("Try again"),
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
    lines = [
        _l(
            "Your booking for “%(title)s” (%(when)s) is cancelled.",
            title=session.title,
            when=_when(session, learner),
        )
    ]
    refund_line = policy_line = None
    if refund is not None:
        refund_line = _l(
            "A refund of %(amount)s is on its way to your original payment method.",
            amount=format_inr(refund.amount_paise),
        )
        lines.append(refund_line)
    elif booking.amount_paise and booking.confirmed_at:
        hours = current_app.config["FULL_REFUND_HOURS"]
        policy_line = _l("Cancellations within %(hours)s hours of the start are not refunded.", hours=hours)
        lines.append(policy_line)
    _tell(
        learner,
        NotificationKind.BOOKING_CANCELLED,
        title=_l("Cancelled: %(title)s", title=session.title),
        lines=lines,
        heading=_l("Booking cancelled"),
        subject=_l("Cancelled: %(title)s", title=session.title),
        action_label=_l("Find another session"),
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
        _l("%(learner)s cancelled their seat", learner=learner.name)
        if actor.id == learner.id
        else _l("%(learner)s's seat was cancelled", learner=learner.name)
    )
    lines = [
        _l("%(who)s in “%(title)s” (%(when)s).", who=who, title=session.title, when=_when(session, mentor)),
        _l("The seat is free again: another learner can book it."),
    ]
    _tell(
        mentor,
        NotificationKind.BOOKING_CANCELLED,
        title=_l("%(who)s: %(title)s", who=who, title=session.title),
        lines=lines,
        heading=_l("A seat is free again"),
        subject=_l("%(who)s: %(title)s", who=who, title=session.title),
        action_label=_l("See your session"),
        endpoint="sessions.detail",
        session_id=session.id,
        data={"booking_id": booking.id, "session_id": session.id},
    )


def refund_processed(refund):
    payment = refund.payment
    title = payment.booking.session.title if payment.booking else _l("your gift")
    _tell(
        payment.payer,
        NotificationKind.REFUND_PROCESSED,
        title=_l("Refund processed: %(amount)s", amount=format_inr(refund.amount_paise)),
        lines=[
            _l(
                "We refunded %(amount)s for “%(title)s”.", amount=format_inr(refund.amount_paise), title=title
            ),
            _l("Banks usually show it within 5–7 working days."),
        ],
        heading=_l("Your refund has been processed"),
        subject=_l("Refund processed: %(amount)s", amount=format_inr(refund.amount_paise)),
        action_label=_l("View your booking"),
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
    canceller = _l("PeerLearn's team") if by_admin else session.mentor.name
    for booking in bookings:
        learner = booking.learner
        refund_line = (
            _l(
                "Your payment of %(amount)s is being refunded in full.",
                amount=format_inr(booking.amount_paise),
            )
            if booking.amount_paise
            else None
        )
        _tell(
            learner,
            NotificationKind.SESSION_CANCELLED,
            title=_l("Session cancelled: %(title)s", title=session.title),
            lines=[
                _l(
                    "%(canceller)s cancelled “%(title)s” (%(when)s).",
                    canceller=canceller,
                    title=session.title,
                    when=_when(session, learner),
                ),
                *(
                    [_l("Reason: %(reason)s", reason=system_texts.lazy(session.cancel_reason))]
                    if session.cancel_reason
                    else []
                ),
                *([refund_line] if refund_line else []),
            ],
            heading=_l("Your session was cancelled"),
            subject=_l("Session cancelled: %(title)s", title=session.title),
            action_label=_l("Find another session"),
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
        presence = _l("%(mentor)s didn't come to the room", mentor=session.mentor.name)
    else:
        presence = _l(
            "%(mentor)s was in the room for only %(minutes)s of its %(duration)s minutes",
            mentor=session.mentor.name,
            minutes=mentor_minutes,
            duration=session.duration_minutes,
        )
    for booking in bookings:
        learner = booking.learner
        refund_line = (
            _l("Everything you paid for it (your seat, and any gift you sent) is being refunded in full.")
            if booking.amount_paise
            else _l("It was free, so there is nothing to refund.")
        )
        _tell(
            learner,
            NotificationKind.SESSION_NOT_HELD,
            title=_l("Not held: %(title)s", title=session.title),
            lines=[
                _l(
                    "“%(title)s” (%(when)s) was not held: %(presence)s.",
                    title=session.title,
                    when=_when(session, learner),
                    presence=presence,
                ),
                refund_line,
            ],
            heading=_l("Your session was not held"),
            subject=_l("Not held: %(title)s", title=session.title),
            action_label=_l("Find another session"),
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
        _l("you didn't come to the room")
        if mentor_minutes == 0
        else _l(
            "you were in the room for %(minutes)s of its %(duration)s minutes",
            minutes=mentor_minutes,
            duration=session.duration_minutes,
        )
    )
    lines = [
        _l(
            "“%(title)s” (%(when)s) was not held: %(presence)s, "
            "and a session counts as held from %(needed)s minutes.",
            title=session.title,
            when=_when(session, mentor),
            presence=presence,
            needed=held_minutes_needed(session),
        ),
        _l(
            "Everyone who paid, gifts included, is refunded in full, and this counts as a strike "
            "(%(strikes)s in the last %(days)s days).",
            strikes=strikes,
            days=config["STRIKE_WINDOW_DAYS"],
        ),
    ]
    if suspended:
        lines.append(
            _l(
                "With %(limit)s strikes you can't publish new sessions until an admin "
                "reviews your account and lifts the suspension. Your scheduled sessions still take place.",
                limit=config["STRIKE_LIMIT"],
            )
        )
    else:
        lines.append(
            _l(
                "%(limit)s strikes within %(days)s days suspend publishing until an admin lifts it.",
                limit=config["STRIKE_LIMIT"],
                days=config["STRIKE_WINDOW_DAYS"],
            )
        )
    _tell(
        mentor,
        NotificationKind.SESSION_NOT_HELD,
        title=_l("Not held: %(title)s", title=session.title),
        lines=lines,
        heading=_l("Your session was not held"),
        subject=_l("Not held: %(title)s", title=session.title),
        action_label=_l("See your sessions"),
        endpoint="sessions.mine",
        data={"session_id": session.id, "strikes": strikes, "publishing_suspended": suspended},
    )


def publishing_restored(mentor, reason):
    """The mentor hears an admin lifted their publishing suspension."""
    _tell(
        mentor,
        NotificationKind.SESSION_NOT_HELD,
        title=_l("You can publish sessions again"),
        lines=[
            _l("An admin reviewed your account and lifted the suspension on publishing."),
            _l("Their note: %(note)s", note=reason),
            _l(
                "Your earlier strikes stay on record: hold the sessions you publish (be in the room for "
                "at least %(percent)s%% of each) to keep publishing.",
                percent=current_app.config["HELD_MIN_PERCENT"],
            ),
        ],
        heading=_l("Publishing is open again"),
        subject=_l("You can publish sessions again"),
        action_label=_l("See your sessions"),
        endpoint="sessions.mine",
        data={"publishing_suspended": False},
    )


def session_rescheduled(session, bookings):
    for booking in bookings:
        learner = booking.learner
        _tell(
            learner,
            NotificationKind.SESSION_RESCHEDULED,
            title=_l("New time: %(title)s", title=session.title),
            lines=[
                _l(
                    "%(mentor)s moved “%(title)s” to %(when)s.",
                    mentor=session.mentor.name,
                    title=session.title,
                    when=_when(session, learner),
                ),
                _l("If the new time doesn't work for you, you can cancel with a full refund."),
            ],
            heading=_l("Your session has a new time"),
            subject=_l("New time: %(title)s", title=session.title),
            action_label=_l("View your booking"),
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
        _l(
            "Your booking for “%(old_title)s” (%(old_when)s) moved to “%(title)s” (%(when)s).",
            old_title=source.title,
            old_when=_when(source, learner),
            title=session.title,
            when=_when(session, learner),
        ),
    ]
    if refund is not None:
        lines.append(
            _l(
                "The new session costs less: %(amount)s is on its way back to your original payment method.",
                amount=format_inr(refund.amount_paise),
            )
        )
    _tell(
        learner,
        NotificationKind.SESSION_RESCHEDULED,
        title=_l("Moved: %(title)s", title=session.title),
        lines=lines,
        heading=_l("Your booking has a new time"),
        subject=_l("Moved: %(title)s", title=session.title),
        action_label=_l("View your booking"),
        endpoint="booking.detail",
        booking_id=booking.id,
        data={"session_id": session.id, "booking_id": booking.id, "from_session_id": source.id},
        # Same UID, higher SEQUENCE: opening it moves the entry in the learner's calendar.
        attachments=[_ics(booking)],
    )
    _tell(
        mentor,
        NotificationKind.SESSION_RESCHEDULED,
        title=_l("%(learner)s moved their seat to %(title)s", learner=learner.name, title=session.title),
        lines=[
            _l(
                "%(learner)s moved their seat from “%(old_title)s” (%(old_when)s) to “%(title)s” (%(when)s).",
                learner=learner.name,
                old_title=source.title,
                old_when=_when(source, mentor),
                title=session.title,
                when=_when(session, mentor),
            ),
            _l("Their old seat is free again: another learner can book it."),
        ],
        heading=_l("A learner moved their seat"),
        subject=_l("%(learner)s moved their seat to %(title)s", learner=learner.name, title=session.title),
        action_label=_l("See your session"),
        endpoint="sessions.detail",
        session_id=session.id,
        data={"session_id": session.id, "from_session_id": source.id, "booking_id": booking.id},
    )


def session_started(session, learners):
    for learner in learners:
        _tell(
            learner,
            NotificationKind.SESSION_STARTED,
            title=_l("Live now: %(title)s", title=session.title),
            lines=[
                _l(
                    "%(mentor)s has started “%(title)s”. Join the room now.",
                    mentor=session.mentor.name,
                    title=session.title,
                )
            ],
            heading=_l("Your session is live"),
            subject=_l("Live now: %(title)s", title=session.title),
            action_label=_l("Join the room"),
            endpoint="sessions.room",
            session_id=session.id,
            data={"session_id": session.id},
            template="session_started",
            context=_session_facts(session, learner),
        )


def _starts_in(delta):
    minutes = max(1, round(delta.total_seconds() / 60))
    if minutes < 90:
        return lazy_ngettext("%(num)d minute", "%(num)d minutes", minutes)
    hours = round(minutes / 60)
    return lazy_ngettext("%(num)d hour", "%(num)d hours", hours)


def session_reminder(booking, kind, now):
    """Remind a learner with a confirmed seat: a day before (``24h``) and just before (``15m``)."""

    session, learner = booking.session, booking.learner
    starting_soon = kind == ReminderKind.STARTING_SOON
    starts_in = _starts_in(session.starts_at - now)
    endpoint = "sessions.room" if starting_soon else "sessions.detail"
    lines = [
        _l(
            "“%(title)s” with %(mentor)s starts in %(starts_in)s: %(when)s.",
            title=session.title,
            mentor=session.mentor.name,
            starts_in=starts_in,
            when=_when(session, learner),
        ),
    ]
    _tell(
        learner,
        NotificationKind.SESSION_REMINDER,
        title=_l("Starts in %(starts_in)s: %(title)s", starts_in=starts_in, title=session.title),
        lines=lines,
        heading=_l("Your session starts in %(starts_in)s", starts_in=starts_in),
        subject=_l("Starts in %(starts_in)s: %(title)s", starts_in=starts_in, title=session.title),
        action_label=_l("Join the room") if starting_soon else _l("View the session"),
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
    lines = [
        _l(
            "%(sender)s sent you a %(amount)s gift.",
            sender=gift.sender.name,
            amount=format_inr(gift.amount_paise),
        )
    ]
    if gift.message:
        lines.append(f"“{gift.message}”")
    _tell(
        mentor,
        NotificationKind.GIFT_RECEIVED,
        title=_l(
            "%(sender)s sent you %(amount)s", sender=gift.sender.name, amount=format_inr(gift.amount_paise)
        ),
        lines=lines,
        heading=_l("You received a gift"),
        subject=_l(
            "A %(amount)s gift from %(sender)s", amount=format_inr(gift.amount_paise), sender=gift.sender.name
        ),
        action_label=_l("See your earnings"),
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
    destination = payout.account_masked or _l("your payout account")
    money = load(payout.mentor_id).summary()  # in the caller's transaction: this payout counts
    balance = [
        (word.label, format_inr(money[f"{key}_paise"]))
        for key, word in MONEY_STATES.items()
        if key != "paid_out" and (key != "frozen" or money["frozen_paise"])
    ]
    money_now = ", ".join(f"{label} {amount}" for label, amount in balance)
    _tell(
        payout.mentor,
        NotificationKind.PAYOUT_PAID,
        title=f"{paid_out}: {format_inr(payout.amount_paise)}",
        lines=[
            _l(
                "%(paid_out)s: %(amount)s to %(destination)s.",
                paid_out=paid_out,
                amount=format_inr(payout.amount_paise),
                destination=destination,
            ),
            *([_l("Reference: %(reference)s", reference=payout.reference)] if payout.reference else []),
            _l("Your money now: %(balance)s.", balance=money_now),
        ],
        heading=_l("Your payout is on its way"),
        subject=f"{paid_out}: {format_inr(payout.amount_paise)}",
        action_label=_l("See your earnings"),
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
        action_label=_l("Review your devices"),
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
        action_label=_l("View your booking") if endpoint == "booking.detail" else _l("See your earnings"),
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
        title=_l("We received your report: %(title)s", title=session.title),
        lines=[
            _l(
                "Thanks for telling us what went wrong with “%(title)s” (%(when)s).",
                title=session.title,
                when=_when(session, learner),
            ),
            _l(
                "An admin will look at what happened, including who was in the room, and decide: a full "
                "or partial refund, or none. We'll tell you the decision and the reason."
            ),
        ],
        heading=_l("We received your report"),
        rows=[
            (_l("Problem"), label),
            (_l("Paid"), format_inr(payment.amount_paise)),
            (_l("Report"), f"#{dispute.id}"),
        ],
        endpoint="booking.detail",
        booking_id=dispute.booking_id,
    )
    share = format_inr(_mentor_share(payment))
    _dispute_tell(
        mentor,
        dispute,
        title=_l("A learner reported a problem: %(title)s", title=session.title),
        lines=[
            _l(
                "%(learner)s reported a problem with “%(title)s” (%(when)s): %(problem)s.",
                learner=learner.name,
                title=session.title,
                when=_when(session, mentor),
                problem=label,
            ),
            _l(
                "Your share of this booking, %(share)s, is frozen until an admin decides; "
                "your other earnings are not affected.",
                share=share,
            ),
            _l(
                "An admin will look at what happened, including who was in the room. "
                "You'll be told the decision and the reason."
            ),
        ],
        heading=_l("A learner reported a problem"),
        rows=[
            (_l("Session"), session.title),
            (_l("Problem"), label),
            (_l("Frozen"), share),
            (_l("Report"), f"#{dispute.id}"),
        ],
        endpoint="booking.earnings",
    )


def dispute_decided(dispute, payment, mentor_share_paise):
    """Both sides hear the admin's decision and its reason."""
    session, learner, mentor = dispute.session, dispute.learner, dispute.mentor
    refund = format_inr(dispute.refund_paise)
    paid = format_inr(payment.amount_paise)
    if dispute.status == "released":
        learner_line = _l(
            "No refund: the payment for “%(title)s” stays with the mentor.", title=session.title
        )
        mentor_line = _l("You keep your share of this booking; it is no longer frozen and settles as usual.")
        outcome = _l("No refund")
    else:
        in_full = dispute.status == "refunded"
        if in_full:
            learner_line = _l(
                "We are refunding %(refund)s for “%(title)s” to your original payment method.",
                refund=refund,
                title=session.title,
            )
        else:
            learner_line = _l(
                "We are refunding %(refund)s of the %(paid)s you paid for “%(title)s” to your original "
                "payment method.",
                refund=refund,
                paid=paid,
                title=session.title,
            )
        mentor_line = _l(
            "%(refund)s goes back to %(learner)s: %(share)s of it comes from "
            "your share of this booking, the rest from the platform fee.",
            refund=refund,
            learner=learner.name,
            share=format_inr(mentor_share_paise),
        )
        outcome = (
            _l("Refund of %(refund)s", refund=refund)
            if not in_full
            else _l("Refund in full (%(refund)s)", refund=refund)
        )
    reason_line = _l("Reason: %(reason)s", reason=dispute.decision_reason)
    rows = [(_l("Session"), session.title), (_l("Decision"), outcome), (_l("Report"), f"#{dispute.id}")]
    _dispute_tell(
        learner,
        dispute,
        title=_l("Decision on your report: %(title)s", title=session.title),
        lines=[learner_line, reason_line],
        heading=_l("Your report was decided"),
        rows=rows,
        endpoint="booking.detail",
        booking_id=dispute.booking_id,
    )
    _dispute_tell(
        mentor,
        dispute,
        title=_l("Decision on a reported problem: %(title)s", title=session.title),
        lines=[mentor_line, reason_line],
        heading=_l("A reported problem was decided"),
        rows=rows,
        endpoint="booking.earnings",
    )


# ------------------------------------------------------------------------------- community


def new_review(review):
    """The mentor hears of a new review of one of their sessions."""

    session, learner = review.session, review.learner
    mentor = db.session.get(User, review.mentor_id)
    lines = [
        _l(
            "%(learner)s rated “%(title)s” %(rating)s out of 5.",
            learner=learner.name,
            title=session.title,
            rating=review.rating,
        )
    ]
    if review.body:
        excerpt = review.body if len(review.body) <= 300 else review.body[:297].rstrip() + "…"
        lines.append(f"“{excerpt}”")
    lines.append(_l("You can reply once, on the session's page."))
    _tell(
        mentor,
        NotificationKind.NEW_REVIEW,
        title=_l("New review: %(rating)s/5 for “%(title)s”", rating=review.rating, title=session.title),
        lines=lines,
        heading=_l("You have a new review"),
        subject=_l("New review of “%(title)s”", title=session.title),
        action_label=_l("Read and reply"),
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
        title=_l("%(follower)s followed you", follower=follower.name),
        lines=[
            _l(
                "%(follower)s now follows you and will hear whenever you publish a session.",
                follower=follower.name,
            )
        ],
        heading=_l("You have a new follower"),
        subject=_l("%(follower)s followed you on PeerLearn", follower=follower.name),
        action_label=_l("See your profile"),
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
    price = _l("Free") if session.is_free else _l("%(price)s a seat", price=format_inr(session.price_paise))
    title = _l("%(mentor)s published “%(title)s”", mentor=mentor.name, title=session.title)
    duration = _capitalized(_duration(session.duration_minutes))
    rows = []
    for user, in_app, by_email in followers:
        lines = [
            _l(
                "%(mentor)s, whom you follow, published a new session: “%(title)s”.",
                mentor=mentor.name,
                title=session.title,
            ),
            _l(
                "When: %(when)s. %(duration)s, %(price)s.",
                when=_when(session, user),
                duration=duration,
                price=price,
            ),
        ]
        if in_app:
            # Each follower reads it in their own language.
            with i18n.for_user(user):
                rows.append(
                    {
                        "user_id": user.id,
                        "kind": kind.value,
                        "title": str(title)[:200],
                        "body": " ".join(str(line) for line in lines)[:1000],
                        "url": url,
                        "data": {"session_id": session.id, "mentor_id": mentor.id},
                    }
                )
        if by_email:
            message = mail.compose(
                user,
                "notice",
                _l("New from %(mentor)s: %(title)s", mentor=mentor.name, title=session.title),
                notification_kind=kind.value,
                unsubscribe_url=before_token + unsubscribe_token(user, kind) + after_token,
                heading=_l("%(mentor)s published a new session", mentor=mentor.name),
                lines=lines,
                action_label=_l("See the session"),
                action_url=action_url,
            )
            label_email(message, kind, sender=mentor.id)
    if rows:
        for note in db.session.scalars(insert(Notification).returning(Notification), rows):
            outbox.stage(note)


# -------------------------------------------------------------------------- session requests


def _request_times(request, user):
    return LazyString(_request_times_text, request, user)


def _request_times_text(request, user):
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
    budget = _l("none given") if request.budget_paise is None else format_inr(request.budget_paise)
    lines = [
        _l("%(learner)s asked you for a session: “%(topic)s”.", learner=learner.name, topic=request.topic),
        _l("Preferred times: %(times)s.", times=_request_times(request, mentor)),
        _l("Budget: %(budget)s.", budget=budget),
    ]
    if request.message:
        excerpt = request.message if len(request.message) <= 500 else request.message[:497].rstrip() + "…"
        lines.append(f"“{excerpt}”")
    lines.append(
        _l(
            "Accept it and we publish a one-to-one session for them, or decline with a note. "
            "It expires on %(date)s.",
            date=LazyString(_later_localtime, request.expires_at, "%a %d %b %Y", mentor.timezone),
        )
    )
    _request_tell(
        mentor,
        NotificationKind.REQUEST_RECEIVED,
        request,
        title=_l("%(learner)s asked you for a session", learner=learner.name),
        lines=lines,
        heading=_l("You have a session request"),
        action_label=_l("Answer the request"),
        sender=learner,
        collapse_key=request_key(request.id),
    )


def request_accepted(request, session):
    """The learner hears their request was accepted, with the mentor's note and a link to take the seat."""
    learner, mentor = request.learner, request.mentor
    price = _l("Free") if session.is_free else format_inr(session.price_paise)
    lines = [
        _l("%(mentor)s accepted your request “%(topic)s”.", mentor=mentor.name, topic=request.topic),
        _l(
            "When: %(when)s. %(duration)s, %(price)s.",
            when=_when(session, learner),
            duration=_capitalized(_duration(session.duration_minutes)),
            price=price,
        ),
    ]
    if request.response_note:
        lines.append(
            _l(
                "%(name)s's note: “%(note)s”",
                name=mentor.first_name,
                note=system_texts.lazy(request.response_note),
            )
        )
    deadline = LazyString(_later_localtime, request.expires_at, "%a %d %b %Y, %I:%M %p", learner.timezone)
    lines.append(
        _l(
            "The seat is kept for you until %(deadline)s (%(timezone)s).",
            deadline=deadline,
            timezone=learner.timezone,
        )
    )
    _request_tell(
        learner,
        NotificationKind.REQUEST_ANSWERED,
        request,
        title=_l("%(mentor)s accepted your request", mentor=mentor.name),
        lines=lines,
        heading=_l("Your session request was accepted"),
        action_label=_l("Confirm your seat") if session.is_free else _l("Confirm and pay"),
        data={"session_id": session.id},
    )


def request_declined(request):
    learner, mentor = request.learner, request.mentor
    lines = [_l("%(mentor)s declined your request “%(topic)s”.", mentor=mentor.name, topic=request.topic)]
    if request.response_note:
        lines.append(
            _l(
                "%(name)s's note: “%(note)s”",
                name=mentor.first_name,
                note=system_texts.lazy(request.response_note),
            )
        )
    lines.append(_l("You can browse their sessions, or ask another mentor."))
    _request_tell(
        learner,
        NotificationKind.REQUEST_ANSWERED,
        request,
        title=_l("%(mentor)s declined your request", mentor=mentor.name),
        lines=lines,
        heading=_l("Your session request was declined"),
        action_label=_l("See the request"),
    )


def request_withdrawn(request, *, was_accepted):
    learner, mentor = request.learner, request.mentor
    if was_accepted:
        lines = [
            _l(
                "%(learner)s turned down the session you made for “%(topic)s”.",
                learner=learner.name,
                topic=request.topic,
            ),
            _l("The session is now open to every learner; cancel it if you'd rather not run it."),
        ]
    else:
        lines = [
            _l(
                "%(learner)s withdrew their request “%(topic)s”. Nothing more to do.",
                learner=learner.name,
                topic=request.topic,
            )
        ]
    _request_tell(
        mentor,
        NotificationKind.REQUEST_RECEIVED,
        request,
        title=_l("%(learner)s withdrew a request", learner=learner.name),
        lines=lines,
        heading=_l("A session request was withdrawn"),
        action_label=_l("See the request"),
        sender=learner,
    )


def request_confirmed(request, booking):
    """The mentor hears the learner took a free seat (a paid one is announced by its payment)."""
    learner, mentor = request.learner, request.mentor
    _request_tell(
        mentor,
        NotificationKind.REQUEST_RECEIVED,
        request,
        title=_l("%(learner)s confirmed “%(topic)s”", learner=learner.name, topic=request.topic),
        lines=[
            _l(
                "%(learner)s took their seat in “%(title)s”.",
                learner=learner.name,
                title=booking.session.title,
            ),
            _l("When: %(when)s.", when=_when(booking.session, mentor)),
        ],
        heading=_l("Your requested session is booked"),
        action_label=_l("See the request"),
        data={"session_id": booking.session_id},
        sender=learner,
    )


def request_expired(request, *, was_accepted):
    """Both sides hear that the request's window closed."""
    learner, mentor = request.learner, request.mentor
    if was_accepted:
        learner_lines = [
            _l(
                "You didn't confirm the session %(mentor)s made for “%(topic)s” in time, "
                "so the seat is no longer kept for you.",
                mentor=mentor.name,
                topic=request.topic,
            ),
            _l("If it's still free you can book it like any other session."),
        ]
        mentor_lines = [
            _l(
                "%(learner)s didn't confirm the session you made for “%(topic)s”.",
                learner=learner.name,
                topic=request.topic,
            ),
            _l("The session is now open to every learner; cancel it if you'd rather not run it."),
        ]
    else:
        learner_lines = [
            _l(
                "%(mentor)s didn't answer your request “%(topic)s” in time, so it expired.",
                mentor=mentor.name,
                topic=request.topic,
            ),
            _l("You can ask again, or ask another mentor."),
        ]
        mentor_lines = [
            _l(
                "The request from %(learner)s, “%(topic)s”, expired unanswered.",
                learner=learner.name,
                topic=request.topic,
            )
        ]
    _request_tell(
        learner,
        NotificationKind.REQUEST_ANSWERED,
        request,
        title=_l("Request expired: %(topic)s", topic=request.topic),
        lines=learner_lines,
        heading=_l("Your session request expired"),
        action_label=_l("See the request"),
    )
    _request_tell(
        mentor,
        NotificationKind.REQUEST_RECEIVED,
        request,
        title=_l("Request expired: %(topic)s", topic=request.topic),
        lines=mentor_lines,
        heading=_l("A session request expired"),
        action_label=_l("See the request"),
    )


def session_cancelled_by_admin(session, reason):
    """The mentor hears that an admin cancelled their session (its learners hear it from
    ``session_cancelled``)."""
    mentor = session.mentor
    _tell(
        mentor,
        NotificationKind.SESSION_CANCELLED,
        title=_l("Session cancelled by an admin: %(title)s", title=session.title),
        lines=[
            _l(
                "An admin cancelled “%(title)s” (%(when)s).", title=session.title, when=_when(session, mentor)
            ),
            _l("Reason: %(reason)s", reason=reason),
            _l("Everyone who booked is refunded in full."),
        ],
        heading=_l("An admin cancelled your session"),
        subject=_l("Session cancelled: %(title)s", title=session.title),
        action_label=_l("See your sessions"),
        endpoint="sessions.mine",
        data={"session_id": session.id},
    )
