"""Coupons: codes a mentor gives on their own sessions, or the platform on any session.

Who pays for a discount (docs/coupons.md):

- a mentor's coupon comes out of the mentor's share. The platform's fee stays what it is on the
  list price, but never more than the learner paid: a session a mentor gives away (nearly) free
  owes no fee the payment can't cover;
- a platform coupon comes out of the platform's fee. The mentor earns what the list price would
  have earned them; the discount is capped at the fee on that price, so the platform never pays
  a mentor more than a learner paid (the fee can't go below zero).

The ledger writes the split at capture (services.ledger), reading the booking's redemption.

A coupon is applied to a held booking on the pay page: the server checks it, computes the
discount from the price in the database, and the booking's amount becomes the price less the
discount (a free result confirms the booking at once, as a free session does). The redemption is
``held`` with the seat hold, ``used`` at capture, and ``released`` once the hold ends unpaid.

Limits hold under concurrency the way seats do (services.booking.take_seat): a redemption is
counted by one conditional ``UPDATE coupons SET redeemed_count = redeemed_count + 1 WHERE
redeemed_count < max_redemptions``. On PostgreSQL that update's row lock queues every other
redemption of the coupon until the transaction ends, so the per-learner count and the
first-session check that follow it see every earlier redemption; on SQLite the write lock does
the same. Holds whose booking lapsed are released (and uncounted) first, in the same transaction.
"""

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from .. import events, system_texts
from ..exceptions import Conflict, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..formats import format_count, format_inr
from ..limits import MAX_PRICE_PAISE
from ..models import (
    COUNTED_REDEMPTION_STATUSES,
    MIN_PAID_PRICE_PAISE,
    Booking,
    BookingStatus,
    Coupon,
    CouponKind,
    CouponRedemption,
    LearningSession,
    Payment,
    PaymentStatus,
    RedemptionStatus,
    utcnow,
)
from . import interactions, ledger, outbox
from .transactions import use_case

CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{2,31}$")
CODE_RULE = _l("3 to 32 letters, digits, - or _.")
# Bookings that held a seat in a session that took place or is to: a learner with one of these
# has had a first session.
_SEATED = (BookingStatus.CONFIRMED.value, BookingStatus.ATTENDED.value, BookingStatus.NO_SHOW.value)
MAX_FIXED_PAISE = MAX_PRICE_PAISE  # no discount larger than the dearest seat


def _field_error(message):
    return ValidationError(message, fields={"code": [message]}, code="coupon_invalid")


def normalise_code(code):
    """The stored form of a code a person typed (codes match whatever the case)."""
    if not isinstance(code, str):
        raise _field_error(_("Enter a coupon code."))
    code = code.strip().upper()
    if not code:
        raise _field_error(_("Enter a coupon code."))
    if not CODE_PATTERN.match(code):
        raise _field_error(_("That is not a coupon code we know."))
    return code


def discount_for(coupon, list_price_paise, fee_percent=None):
    """The discount ``coupon`` gives on ``list_price_paise``: a percent (rounded half up) or a fixed
    amount, never more than the price, for a platform coupon never more than its fee, and never
    leaving a price under the ₹1 a payment needs (other than free)."""
    if coupon.kind == CouponKind.PERCENT:
        discount = (list_price_paise * coupon.value * 2 + 100) // 200
    else:
        discount = coupon.value
    discount = min(discount, list_price_paise)
    if coupon.mentor_id is None:
        discount = min(discount, ledger.platform_fee(list_price_paise, fee_percent))
    if 0 < list_price_paise - discount < MIN_PAID_PRICE_PAISE:
        # Nothing under ₹1 can be charged: the price stops at ₹1 unless the coupon makes it free.
        discount = max(0, list_price_paise - MIN_PAID_PRICE_PAISE)
    return discount


def _find(code):
    coupon = db.session.scalar(select(Coupon).where(Coupon.code == normalise_code(code)))
    if coupon is None:
        raise _field_error(_("That is not a coupon code we know."))
    return coupon


def _had_first_session(coupon, learner_id, booking_id):
    query = select(Booking.id).where(
        Booking.learner_id == learner_id, Booking.status.in_(_SEATED), Booking.id != booking_id
    )
    if coupon.mentor_id is not None:
        query = query.join(LearningSession, LearningSession.id == Booking.session_id).where(
            LearningSession.mentor_id == coupon.mentor_id
        )
    return db.session.scalar(query.limit(1)) is not None


def _learner_uses(coupon_id, learner_id):
    return db.session.scalar(
        select(func.count(CouponRedemption.id)).where(
            CouponRedemption.coupon_id == coupon_id,
            CouponRedemption.learner_id == learner_id,
            CouponRedemption.status.in_(COUNTED_REDEMPTION_STATUSES),
        )
    )


def _refusal(coupon, session, learner, list_price, now, booking_id=None):
    """Why ``coupon`` can't be used by ``learner`` on ``session`` at ``list_price``, or None."""
    if not coupon.active:
        return _field_error(_("This coupon is no longer active."))
    if coupon.starts_at is not None and now < coupon.starts_at:
        return _field_error(_("This coupon can't be used yet."))
    if coupon.expires_at is not None and now >= coupon.expires_at:
        return _field_error(_("This coupon has expired."))
    if coupon.mentor_id is not None and coupon.mentor_id != session.mentor_id:
        return _field_error(_("This coupon is for another mentor's sessions."))
    if list_price <= 0:
        return _field_error(_("This session is free; there is nothing to discount."))
    if list_price < coupon.min_price_paise:
        rupees = format_inr(coupon.min_price_paise)
        return _field_error(_("This coupon is for sessions of %(price)s or more.", price=rupees))
    if coupon.first_session_only and _had_first_session(coupon, learner.id, booking_id):
        if coupon.mentor_id is not None:
            return _field_error(_("This coupon is for a learner's first session with this mentor."))
        return _field_error(_("This coupon is for a learner's first session on PeerLearn."))
    if discount_for(coupon, list_price) <= 0:
        return _field_error(_("This coupon gives no discount on this session."))
    return None


def _limit_refusal(coupon, learner_id):
    if _learner_uses(coupon.id, learner_id) >= coupon.max_per_learner:
        if coupon.max_per_learner == 1:
            return _field_error(_("You have already used this coupon (once per learner)."))
        return _field_error(
            _(
                "You have already used this coupon (%(times)s times per learner).",
                times=coupon.max_per_learner,
            )
        )
    return None


def _quote(coupon, list_price):
    discount = discount_for(coupon, list_price)
    return {
        "code": coupon.code,
        "funded_by": coupon.funded_by,
        "list_price_paise": list_price,
        "discount_paise": discount,
        "price_paise": list_price - discount,
        "currency": "INR",
    }


def preview(learner, session_id, code, now=None):
    """What ``code`` would take off ``session_id``'s price for ``learner`` now: the price preview.
    Nothing is reserved; the limits are checked again when the coupon is applied."""
    now = now or utcnow()
    session = db.session.get(LearningSession, session_id)
    if session is None or session.status == "draft":
        raise NotFound(_("No such session."))
    coupon = _find(code)
    refusal = _refusal(coupon, session, learner, session.price_paise, now)
    lapsed = db.session.scalar(select(func.count(CouponRedemption.id)).where(_lapsed_holds([coupon.id], now)))
    full = coupon.max_redemptions is not None and coupon.redeemed_count - lapsed >= coupon.max_redemptions
    if refusal is None and full:
        refusal = _field_error(_("This coupon has been fully used."))
    refusal = refusal or _limit_refusal(coupon, learner.id)
    if refusal is not None:
        raise refusal
    return _quote(coupon, session.price_paise)


def _lapsed_bookings(now):
    """Bookings that will not be paid any more: expired, cancelled, or past their hold."""
    return select(Booking.id).where(
        or_(
            Booking.status.in_((BookingStatus.EXPIRED.value, BookingStatus.CANCELLED.value)),
            and_(Booking.status == BookingStatus.PENDING_PAYMENT.value, Booking.hold_expires_at <= now),
        )
    )


def _lapsed_holds(coupon_ids, now):
    """The held redemptions, of ``coupon_ids``, whose booking will not be paid any more."""
    return and_(
        CouponRedemption.coupon_id.in_(coupon_ids),
        CouponRedemption.status == RedemptionStatus.HELD.value,
        CouponRedemption.booking_id.in_(_lapsed_bookings(now)),
    )


def release_lapsed_holds(coupon_id, now=None):
    """Release (and uncount) ``coupon_id``'s held redemptions whose booking will not be paid:
    expired, cancelled, or past its hold. In the caller's transaction; returns how many."""
    now = now or utcnow()
    released = db.session.execute(
        update(CouponRedemption)
        .where(_lapsed_holds([coupon_id], now))
        .values(status=RedemptionStatus.RELEASED.value, released_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if released:
        db.session.execute(
            update(Coupon)
            .where(Coupon.id == coupon_id)
            .values(redeemed_count=Coupon.redeemed_count - released)
            .execution_options(synchronize_session=False)
        )
    return released


def release_all_lapsed_holds(now=None, limit=200):
    """Release every coupon's lapsed holds, one coupon per transaction (the periodic
    ``release_coupon_holds``), so a coupon's limits are freed within minutes of an order lapsing
    rather than when someone next applies it. Safe to run twice or beside ``apply_to_booking``:
    each hold is released once, under the same locks in the same order. Returns how many."""
    now = now or utcnow()
    coupon_ids = db.session.scalars(
        select(CouponRedemption.coupon_id)
        .where(
            CouponRedemption.status == RedemptionStatus.HELD.value,
            CouponRedemption.booking_id.in_(_lapsed_bookings(now)),
        )
        .distinct()
        .order_by(CouponRedemption.coupon_id)
        .limit(limit)
    ).all()
    released = 0
    for coupon_id in coupon_ids:
        released += release_lapsed_holds(coupon_id, now)
        db.session.commit()
    return released


def _count_one(coupon_id):
    """Count one more redemption if the coupon has room: True if counted. The row lock this
    takes on PostgreSQL holds every other redemption of the coupon back until the commit."""
    return (
        db.session.execute(
            update(Coupon)
            .where(
                Coupon.id == coupon_id,
                Coupon.active.is_(True),
                or_(Coupon.max_redemptions.is_(None), Coupon.redeemed_count < Coupon.max_redemptions),
            )
            .values(redeemed_count=Coupon.redeemed_count + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )


def active_redemption(booking_id):
    """The coupon held or used for a booking, or None."""
    return db.session.scalar(
        select(CouponRedemption).where(
            CouponRedemption.booking_id == booking_id,
            CouponRedemption.status.in_(COUNTED_REDEMPTION_STATUSES),
        )
    )


@use_case
def apply_to_booking(learner, booking_id, code, now=None):
    """Apply ``code`` to the learner's held booking: the booking's amount becomes the list price
    less the discount, and any order opened for the old amount is set aside (never paid). A
    discount to zero confirms the booking without a payment. Returns the redemption."""
    now = now or utcnow()
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.learner_id != learner.id:
        raise NotFound(_("No such booking."))
    if booking.status != BookingStatus.PENDING_PAYMENT or booking.hold_expires_at <= now:
        raise Conflict(_("This seat is no longer held, so a coupon can't be applied."), code="hold_expired")
    if active_redemption(booking.id) is not None:
        raise _field_error(_("A coupon is already applied to this booking."))
    coupon = _find(code)
    list_price = booking.amount_paise
    refusal = _refusal(coupon, booking.session, learner, list_price, now, booking.id)
    if refusal is not None:
        raise refusal
    release_lapsed_holds(coupon.id, now)
    if not _count_one(coupon.id):
        db.session.rollback()
        db.session.refresh(coupon)
        if not coupon.active:
            raise _field_error(_("This coupon is no longer active."))
        raise _field_error(_("This coupon has been fully used."))
    # Under the coupon's lock now: every earlier redemption of it is committed and seen.
    refusal = _limit_refusal(coupon, learner.id)
    if refusal is not None:
        raise refusal
    discount = discount_for(coupon, list_price)
    redemption = CouponRedemption(
        coupon_id=coupon.id,
        learner_id=learner.id,
        booking_id=booking.id,
        code=coupon.code,
        list_price_paise=list_price,
        discount_paise=discount,
        funded_by=coupon.funded_by,
    )
    db.session.add(redemption)
    try:
        db.session.flush()
    except IntegrityError as exc:  # a second click applied one meanwhile
        raise _field_error(_("A coupon is already applied to this booking.")) from exc
    _set_aside_open_orders(booking.id, now)
    booking.amount_paise = list_price - discount
    free = booking.amount_paise == 0
    if free:
        booking.status = BookingStatus.CONFIRMED.value
        booking.confirmed_at = now
        booking.hold_expires_at = None
        redemption.status = RedemptionStatus.USED.value
        redemption.used_at = now
        db.session.flush()
        events.record("booking_confirmed", booking)
        interactions.booked(booking)
    db.session.commit()
    outbox.dispatch()
    if free:
        events.record("learner_interests_changed", learner.id)
    return redemption


def _set_aside_open_orders(booking_id, now):
    """Orders opened for the booking's old amount are marked failed, so the pay page opens a new
    one for the new amount (services.payments keeps at most one open order per booking). One paid
    anyway (another tab) is still captured in full and the coupon goes back (record_use)."""
    db.session.execute(
        update(Payment)
        .where(Payment.booking_id == booking_id, Payment.status == PaymentStatus.CREATED.value)
        .values(
            status=PaymentStatus.FAILED.value,
            failure_reason=system_texts.COUPON_CHANGED_AMOUNT,
            failed_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )


def record_use(payment, now):
    """At capture (in its transaction): the booking's coupon is used by this payment. A payment
    of the discounted amount uses it, even if its hold had lapsed and it was released (the
    learner paid the price we quoted); a payment of another amount (an order set aside and paid
    anyway) releases it."""
    redemption = db.session.scalar(
        select(CouponRedemption)
        .where(CouponRedemption.booking_id == payment.booking_id)
        .order_by(CouponRedemption.id.desc())
        .limit(1)
    )
    if redemption is None or redemption.status == RedemptionStatus.USED:
        return None
    counted = redemption.status == RedemptionStatus.HELD
    if payment.amount_paise == redemption.paid_paise:
        if not counted:
            # Counted again past its limit if need be: the money is already in.
            db.session.execute(
                update(Coupon)
                .where(Coupon.id == redemption.coupon_id)
                .values(redeemed_count=Coupon.redeemed_count + 1)
                .execution_options(synchronize_session=False)
            )
        redemption.status = RedemptionStatus.USED.value
        redemption.payment_id = payment.id
        redemption.used_at = now
    elif counted:
        redemption.status = RedemptionStatus.RELEASED.value
        redemption.released_at = now
        db.session.execute(
            update(Coupon)
            .where(Coupon.id == redemption.coupon_id)
            .values(redeemed_count=Coupon.redeemed_count - 1)
            .execution_options(synchronize_session=False)
        )
    db.session.flush()
    return redemption


def for_payment(payment):
    """The coupon a captured payment used, or None (for receipts)."""
    return db.session.scalar(select(CouponRedemption).where(CouponRedemption.payment_id == payment.id))


# ---------------------------------------------------------------------------- owners' coupons

# The fields an owner may set, with their rules; anything else in a request is ignored.
WRITABLE = (
    "code",
    "kind",
    "value",
    "min_price_paise",
    "starts_at",
    "expires_at",
    "max_redemptions",
    "max_per_learner",
    "first_session_only",
)


def _whole(fields, errors, name, *, low, high, required=False):
    value = fields.get(name)
    if value is None or value == "":
        if required:
            errors[name] = [_("Required.")]
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors[name] = [_("A whole number.")]
        return None
    if not low <= value <= high:
        errors[name] = [_("Between %(low)s and %(high)s.", low=format_count(low), high=format_count(high))]
        return None
    return value


def _clean(fields):
    errors = {}
    code = fields.get("code")
    code = code.strip().upper() if isinstance(code, str) else ""
    if not CODE_PATTERN.match(code):
        errors["code"] = [str(CODE_RULE)]
    kind = fields.get("kind")
    if kind not in (CouponKind.PERCENT.value, CouponKind.FIXED.value):
        errors["kind"] = [_("Percent or fixed.")]
    high = 100 if kind == CouponKind.PERCENT else MAX_FIXED_PAISE
    value = _whole(fields, errors, "value", low=1, high=high, required=True)
    cleaned = {
        "code": code,
        "kind": kind,
        "value": value,
        "min_price_paise": _whole(fields, errors, "min_price_paise", low=0, high=MAX_FIXED_PAISE) or 0,
        "max_redemptions": _whole(fields, errors, "max_redemptions", low=1, high=1_000_000),
        "max_per_learner": _whole(fields, errors, "max_per_learner", low=1, high=1000) or 1,
        "first_session_only": fields.get("first_session_only") or False,
    }
    if not isinstance(cleaned["first_session_only"], bool):
        errors["first_session_only"] = [_("true or false.")]
    for name in ("starts_at", "expires_at"):
        moment = fields.get(name)
        if moment is not None and (not hasattr(moment, "tzinfo") or moment.tzinfo is None):
            errors[name] = [_("A date and time with a timezone.")]
            moment = None
        cleaned[name] = moment
    if cleaned["starts_at"] and cleaned["expires_at"] and cleaned["expires_at"] <= cleaned["starts_at"]:
        errors["expires_at"] = [_("After the start.")]
    if errors:
        raise ValidationError(_("Check the coupon's fields."), fields=errors)
    return cleaned


@use_case
def create(actor, fields, *, platform=False):
    """A new coupon: the mentor's own (funded from their share), or with ``platform`` an admin's
    platform coupon (funded from the fee). ``fields``: the WRITABLE names, values already typed
    (ints in paise or percent, aware datetimes)."""
    if platform and not actor.is_admin:
        raise PermissionDenied(_("Only admins make platform coupons."), code="not_an_admin")
    if not platform and not actor.is_mentor:
        raise PermissionDenied(_("Only mentors make coupons for their sessions."), code="not_a_mentor")
    cleaned = _clean(fields)
    coupon = Coupon(mentor_id=None if platform else actor.id, created_by_id=actor.id, **cleaned)
    db.session.add(coupon)
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise ValidationError(
            _("That code is taken; choose another."),
            fields={"code": [_("That code is taken.")]},
            code="code_taken",
        ) from exc
    return coupon


def owned_coupon(actor, coupon_id, *, platform=False):
    """A coupon ``actor`` manages: their own, or (``platform``, admins) a platform coupon."""
    coupon = db.session.get(Coupon, coupon_id)
    if coupon is None:
        raise NotFound(_("No such coupon."))
    if platform:
        if not actor.is_admin or coupon.mentor_id is not None:
            raise NotFound(_("No such coupon."))
    elif coupon.mentor_id != actor.id:
        raise NotFound(_("No such coupon."))
    return coupon


@use_case
def deactivate(actor, coupon_id, *, platform=False):
    """Stop a coupon being applied from now on; holds already made may still be paid."""
    coupon = owned_coupon(actor, coupon_id, platform=platform)
    coupon.active = False
    db.session.commit()
    return coupon


def coupons_of(actor, *, platform=False):
    """The coupons ``actor`` manages, newest first, each with its usage: [(coupon, used, held)]."""
    if platform and not actor.is_admin:
        raise PermissionDenied(_("Only admins see the platform's coupons."), code="not_an_admin")
    query = select(Coupon).order_by(Coupon.created_at.desc(), Coupon.id.desc())
    query = query.where(Coupon.mentor_id.is_(None) if platform else Coupon.mentor_id == actor.id)
    coupons = list(db.session.scalars(query))
    usage = _usage([coupon.id for coupon in coupons])
    return [(coupon, *usage.get(coupon.id, (0, 0))) for coupon in coupons]


def _usage(coupon_ids):
    if not coupon_ids:
        return {}
    rows = db.session.execute(
        select(CouponRedemption.coupon_id, CouponRedemption.status, func.count(CouponRedemption.id))
        .where(
            CouponRedemption.coupon_id.in_(coupon_ids),
            CouponRedemption.status.in_(COUNTED_REDEMPTION_STATUSES),
            ~_lapsed_holds(coupon_ids, utcnow()),  # a hold that lapsed is no use any more
        )
        .group_by(CouponRedemption.coupon_id, CouponRedemption.status)
    )
    usage = {}
    for coupon_id, status, count in rows:
        used, held = usage.get(coupon_id, (0, 0))
        usage[coupon_id] = (used + count, held) if status == "used" else (used, held + count)
    return usage
