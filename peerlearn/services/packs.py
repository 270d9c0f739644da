"""Session packs: a mentor sells N sessions for one price, valid for some days; the learner then
books that mentor's eligible sessions with a credit instead of paying.

Money. Buying a pack is one gateway order (a Payment with purpose ``pack``). On capture the
ledger holds its whole price for the learner (``held_for_learner``), with no fee or earning yet.
A credit is worth the pack price over its credits; the credit that fills the pack carries the
remainder, so a full pack's credits sum to its price exactly. When a session booked with a credit
is held (or the learner cancels too late to get the credit back), the credit is earned: its value
moves from held to the platform fee and the mentor's earning. Credits never used are refunded pro
rata when the pack expires; a credit given back after that is refunded too. For every pack
payment: captured − refunded = fee + earning + still held.

Limits. Taking a credit is one conditional UPDATE (``credits_used < credits``, active, not
expired) in the booking's transaction, after the session's row lock: concurrent bookings queue
on the purchase's row, and no pack is ever overdrawn. Coupons do not apply to packs.
"""

import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from .. import events, system_texts
from ..exceptions import Conflict, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..formats import format_inr
from ..limits import MAX_PRICE_PAISE
from ..models import (
    Booking,
    BookingStatus,
    CreditStatus,
    EntryKind,
    LearningSession,
    LedgerEntry,
    PackCredit,
    PackPurchase,
    Payment,
    PaymentPurpose,
    PaymentStatus,
    PurchaseStatus,
    SessionPack,
    utcnow,
)
from ..models.pack import MAX_PACK_CREDITS, MAX_PACK_VALID_DAYS
from ..payments import get_gateway
from . import booking as booking_service
from . import interactions, ledger, orders, outbox, refunds

MAX_PACK_PRICE_PAISE = MAX_PRICE_PAISE  # a pack costs no more than the dearest seat
OPEN_CREDIT = (CreditStatus.BOOKED.value, CreditStatus.EARNED.value)

# ---------------------------------------------------------------------------- the mentor's packs


def _whole(fields, name, low, high, message, default=None):
    value = fields.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(message, fields={name: [message]})
    return value


def create_pack(mentor, fields):
    """A new pack of ``mentor``'s, from ``title``, ``credits``, ``price_paise``, ``valid_days``,
    ``one_to_one_only`` and ``max_session_price_paise`` (0: any price)."""
    if not mentor.is_mentor:
        raise PermissionDenied(_("Only mentors sell session packs."), code="not_mentor")
    title = fields.get("title")
    if not isinstance(title, str) or not title.strip() or len(title.strip()) > 120:
        raise ValidationError(_("Give the pack a title."), fields={"title": [_("1 to 120 characters.")]})
    credits = _whole(
        fields, "credits", 1, MAX_PACK_CREDITS, _("From 1 to %(num)s sessions.", num=MAX_PACK_CREDITS)
    )
    price_message = _("A price from ₹1 to %(price)s.", price=format_inr(MAX_PACK_PRICE_PAISE))
    price = _whole(fields, "price_paise", 100, MAX_PACK_PRICE_PAISE, price_message)
    if price < 100 * credits:
        message = _("Each session in the pack is worth at least ₹1.")
        raise ValidationError(message, fields={"price_paise": [message]})
    valid_days = _whole(
        fields, "valid_days", 1, MAX_PACK_VALID_DAYS, _("From 1 to %(num)s days.", num=MAX_PACK_VALID_DAYS)
    )
    max_price = _whole(
        fields, "max_session_price_paise", 0, MAX_PACK_PRICE_PAISE, _("A price cap from ₹0 (none) up."), 0
    )
    one_to_one = fields.get("one_to_one_only", True)
    if not isinstance(one_to_one, bool):
        raise ValidationError(_("Yes or no."), fields={"one_to_one_only": [_("true or false.")]})
    pack = SessionPack(
        mentor_id=mentor.id,
        title=title.strip(),
        credits=credits,
        price_paise=price,
        valid_days=valid_days,
        one_to_one_only=one_to_one,
        max_session_price_paise=max_price,
        active=True,
    )
    db.session.add(pack)
    db.session.commit()
    return pack


def deactivate_pack(mentor, pack_id):
    """Stop selling a pack. Packs already bought keep their credits until they expire."""
    pack = db.session.get(SessionPack, pack_id)
    if pack is None or pack.mentor_id != mentor.id:
        raise NotFound(_("No such pack."))
    pack.active = False
    db.session.commit()
    return pack


def mentor_packs(mentor_id, *, active_only=True):
    query = select(SessionPack).where(SessionPack.mentor_id == mentor_id)
    if active_only:
        query = query.where(SessionPack.active.is_(True))
    return list(db.session.scalars(query.order_by(SessionPack.price_paise, SessionPack.id)))


def sales_counts(mentor_id):
    """{pack id: purchases paid for} for a mentor's packs."""
    rows = db.session.execute(
        select(PackPurchase.pack_id, func.count(PackPurchase.id))
        .where(PackPurchase.mentor_id == mentor_id, PackPurchase.status != PurchaseStatus.PENDING.value)
        .group_by(PackPurchase.pack_id)
    )
    return {pack_id: int(count) for pack_id, count in rows}


def saving_percent(pack, list_price_paise):
    """How much cheaper a credit is than ``list_price_paise`` a session, in whole percent."""
    if list_price_paise <= 0:
        return 0
    full = list_price_paise * pack.credits
    return max(0, (full - pack.price_paise) * 100 // full)


# ---------------------------------------------------------------------------- buying


def purchase_of(pack, learner_id, payment_id, **state):
    """A purchase of ``pack`` paid by ``payment_id``: the pack's terms as they are now, kept with
    the purchase so a later change to the pack does not change what was bought."""
    return PackPurchase(
        pack_id=pack.id,
        learner_id=learner_id,
        mentor_id=pack.mentor_id,
        payment_id=payment_id,
        credits=pack.credits,
        price_paise=pack.price_paise,
        valid_days=pack.valid_days,
        one_to_one_only=pack.one_to_one_only,
        max_session_price_paise=pack.max_session_price_paise,
        **state,
    )


def start_pack_payment(learner, pack_id):
    """The order a learner pays for a pack with: their unpaid order for it, else a new one. The
    purchase snapshots the pack now; it is active once the payment is captured."""
    pack = db.session.get(SessionPack, pack_id)
    if pack is None or not pack.active:
        raise NotFound(_("No such pack."))
    if pack.mentor_id == learner.id:
        raise Conflict(_("You can't buy your own pack."), code="own_pack")
    if not learner.is_verified:
        raise PermissionDenied(_("Confirm your email address before buying."), code="email_unverified")
    gateway = get_gateway()
    open_order = db.session.scalar(
        select(Payment)
        .join(PackPurchase, PackPurchase.payment_id == Payment.id)
        .where(
            PackPurchase.pack_id == pack.id,
            PackPurchase.learner_id == learner.id,
            PackPurchase.status == PurchaseStatus.PENDING.value,
            Payment.status.in_((PaymentStatus.CREATED.value, PaymentStatus.FAILED.value)),
            Payment.gateway == gateway.name,
            Payment.amount_paise == pack.price_paise,
        )
        .order_by(Payment.id.desc())
        .limit(1)
    )
    if open_order is not None:
        return open_order
    payment = orders.open_order(
        purpose=PaymentPurpose.PACK.value,
        payer_id=learner.id,
        mentor_id=pack.mentor_id,
        amount_paise=pack.price_paise,  # from the database, never from the client
        receipt=f"pk_{pack.id}_{secrets.token_hex(6)}",
        notes={"purpose": "pack", "pack_id": str(pack.id), "learner_id": str(learner.id)},
    )
    db.session.add(purchase_of(pack, learner.id, payment.id, status=PurchaseStatus.PENDING.value))
    db.session.commit()
    return payment


def purchase_for_payment(payment):
    return db.session.scalar(select(PackPurchase).where(PackPurchase.payment_id == payment.id))


def activate(payment, now):
    """Start the purchase a captured pack payment pays for (in the capture's transaction): its
    validity counts from now."""
    purchase = purchase_for_payment(payment)
    if purchase is None:
        return None
    db.session.execute(
        update(PackPurchase)
        .where(PackPurchase.id == purchase.id, PackPurchase.status == PurchaseStatus.PENDING.value)
        .values(
            status=PurchaseStatus.ACTIVE.value,
            expires_at=now + timedelta(days=purchase.valid_days),
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(purchase)
    return purchase


# ---------------------------------------------------------------------------- booking with a credit


def eligibility_refusal(purchase, session, now):
    """Why a credit of ``purchase`` cannot book ``session`` now, or None."""
    if purchase.status != PurchaseStatus.ACTIVE or purchase.expires_at <= now:
        return Conflict(_("This pack has expired."), code="pack_expired")
    if purchase.credits_used >= purchase.credits:
        return Conflict(_("This pack has no credits left."), code="no_credits_left")
    if session.mentor_id != purchase.mentor_id:
        return Conflict(_("This pack is for another mentor's sessions."), code="pack_not_eligible")
    if session.price_paise == 0:
        return Conflict(_("This session is free: book it without a credit."), code="pack_not_eligible")
    if purchase.one_to_one_only and session.capacity != 1:
        return Conflict(_("This pack's credits book one-to-one sessions only."), code="pack_not_eligible")
    if purchase.max_session_price_paise and session.price_paise > purchase.max_session_price_paise:
        return Conflict(
            _("This session costs more than a credit of this pack covers."), code="pack_not_eligible"
        )
    return None


def usable_purchases(learner, session, now=None):
    """The learner's packs a credit of which can book ``session`` now, soonest expiring first."""
    now = now or utcnow()
    candidates = db.session.scalars(
        select(PackPurchase)
        .where(
            PackPurchase.learner_id == learner.id,
            PackPurchase.mentor_id == session.mentor_id,
            PackPurchase.status == PurchaseStatus.ACTIVE.value,
            PackPurchase.expires_at > now,
            PackPurchase.credits_used < PackPurchase.credits,
        )
        .order_by(PackPurchase.expires_at, PackPurchase.id)
    )
    return [p for p in candidates if eligibility_refusal(p, session, now) is None]


def _credit_value(purchase_id):
    """The value of the credit just taken (``credits_used`` already counts it): the price over the
    credits, or, for the credit that fills the pack, what the other credits leave of the price."""
    purchase = db.session.get(PackPurchase, purchase_id, populate_existing=True)
    if purchase.credits_used < purchase.credits:
        return purchase.price_paise // purchase.credits
    others = db.session.scalar(
        select(func.coalesce(func.sum(PackCredit.value_paise), 0)).where(
            PackCredit.purchase_id == purchase_id, PackCredit.status.in_(OPEN_CREDIT)
        )
    )
    return purchase.price_paise - others


def book_with_credit(session_id, learner, *, purchase_id=None, now=None):
    """Take a seat of ``session_id`` and a credit of one of the learner's packs, atomically: the
    booking is confirmed without a payment. Returns ``(booking, created)``; asking again while a
    booking is active returns that booking."""
    now = now or utcnow()
    existing = booking_service.active_booking(session_id, learner.id)
    if existing is not None:
        return existing, False
    session = db.session.get(LearningSession, session_id)
    refusal = booking_service.booking_refusal(session, learner, now)
    if refusal is not None:
        raise refusal
    if purchase_id is None:
        usable = usable_purchases(learner, session, now)
        if not usable:
            raise Conflict(_("None of your packs has a credit for this session."), code="no_credits_left")
        purchase = usable[0]
    else:
        purchase = db.session.get(PackPurchase, purchase_id)
        if purchase is None or purchase.learner_id != learner.id:
            raise NotFound(_("No such pack."))
        refusal = eligibility_refusal(purchase, session, now)
        if refusal is not None:
            raise refusal
    booking_service.lock_session(session_id)  # sessions before purchases, as cancelling does
    taken = db.session.execute(
        update(PackPurchase)
        .where(
            PackPurchase.id == purchase.id,
            PackPurchase.status == PurchaseStatus.ACTIVE.value,
            PackPurchase.expires_at > now,
            PackPurchase.credits_used < PackPurchase.credits,
        )
        .values(credits_used=PackPurchase.credits_used + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        db.session.rollback()
        raise Conflict(_("This pack has no credits left."), code="no_credits_left")
    if not booking_service.take_seat(session_id, now):
        db.session.rollback()  # gives the credit back too
        db.session.expire_all()
        refusal = booking_service.booking_refusal(db.session.get(LearningSession, session_id), learner, now)
        raise refusal or Conflict(_("This session is full."), code="session_full")
    booking = Booking(
        session_id=session_id,
        learner_id=learner.id,
        amount_paise=0,
        currency=session.currency,
        status=BookingStatus.CONFIRMED.value,
        confirmed_at=now,
    )
    db.session.add(booking)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()  # a concurrent click of the same learner won; seat and credit go back
        existing = booking_service.active_booking(session_id, learner.id)
        if existing is None:
            raise
        return existing, False
    db.session.add(
        PackCredit(purchase_id=purchase.id, booking_id=booking.id, value_paise=_credit_value(purchase.id))
    )
    db.session.flush()
    events.record("booking_confirmed", booking)
    interactions.booked(booking)
    db.session.commit()
    outbox.dispatch()
    events.record("learner_interests_changed", learner.id)
    return booking, True


def credit_for_booking(booking_id):
    return db.session.scalar(select(PackCredit).where(PackCredit.booking_id == booking_id))


# ---------------------------------------------------------------------------- settling credits


def _settle_credit(credit, status, now):
    """Move a booked credit to ``status`` once; True for the caller that won."""
    won = db.session.execute(
        update(PackCredit)
        .where(PackCredit.id == credit.id, PackCredit.status == CreditStatus.BOOKED.value)
        .values(status=status, settled_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    return won == 1


def earn(credit, now):
    """The credit's session was held (or cancelled too late): its value moves from held for the
    learner to the platform fee and the mentor's earning."""
    if not _settle_credit(credit, CreditStatus.EARNED.value, now):
        return False
    purchase = credit.purchase
    fee = ledger.platform_fee(credit.value_paise)
    session_id = db.session.scalar(select(Booking.session_id).where(Booking.id == credit.booking_id))
    for kind, amount in (
        (EntryKind.HELD_RELEASE, -credit.value_paise),
        (EntryKind.PLATFORM_FEE, fee),
        (EntryKind.MENTOR_EARNING, credit.value_paise - fee),
    ):
        db.session.add(
            LedgerEntry(
                kind=kind.value,
                amount_paise=amount,
                payment_id=purchase.payment_id,
                mentor_id=purchase.mentor_id,
                session_id=session_id,
                pack_credit_id=credit.id,
                created_at=now,
            )
        )
    return True


def give_back(credit, now):
    """Return a booked credit: to the pack while it is active, else as a refund of its value.
    Returns the Refund reserved, if any: it is sent after the caller's commit (the outbox)."""
    if not _settle_credit(credit, CreditStatus.RETURNED.value, now):
        return None
    # Whatever the pack's state, the credit is no longer in use; the row lock orders this with
    # the expiry, which counts the credits in use after its own UPDATE of the same row.
    status = db.session.execute(
        update(PackPurchase)
        .where(PackPurchase.id == credit.purchase_id, PackPurchase.credits_used > 0)
        .values(credits_used=PackPurchase.credits_used - 1, updated_at=now)
        .returning(PackPurchase.status)
        .execution_options(synchronize_session=False)
    ).scalar()
    if status == PurchaseStatus.ACTIVE:
        return None
    payment = db.session.get(Payment, credit.purchase.payment_id, populate_existing=True)
    refund = refunds.reserve_refund(
        payment,
        credit.value_paise,
        key=f"pack-credit-{credit.id}-return",
        reason=system_texts.PACK_CREDIT_AFTER_CLOSE,
    )
    return outbox.stage(refund)  # sent once the caller's transaction commits


def _booked_credits_of_session(session_id):
    return list(
        db.session.scalars(
            select(PackCredit)
            .join(Booking, Booking.id == PackCredit.booking_id)
            .where(Booking.session_id == session_id, PackCredit.status == CreditStatus.BOOKED.value)
            .order_by(PackCredit.id)
        )
    )


def session_held(session, *_args, **_kwargs):
    """Subscriber of ``session_completed``: every credit booked for the session is earned."""
    now = utcnow()
    for credit in _booked_credits_of_session(session.id):
        earn(credit, now)


def session_not_taking_place(session, *_args, **_kwargs):
    """Subscriber of ``session_cancelled`` and ``session_not_held``: every credit booked for the
    session goes back to the learner."""
    now = utcnow()
    for credit in _booked_credits_of_session(session.id):
        give_back(credit, now)


def booking_cancelled(booking, *_args, **_kwargs):
    """Subscriber of ``booking_cancelled``. A credit comes back when the mentor or an admin
    cancels, when the session was moved after booking, or when the learner cancels at least
    FULL_REFUND_HOURS before the start; a later cancellation by the learner spends it (earned,
    as a late cancellation keeps a payment)."""
    credit = credit_for_booking(booking.id)
    if credit is None or credit.status != CreditStatus.BOOKED:
        return
    row = db.session.execute(
        select(
            Booking.cancelled_by_id, Booking.cancelled_at, Booking.rescheduled_at, Booking.learner_id
        ).where(Booking.id == booking.id)
    ).one()
    now = row.cancelled_at or utcnow()
    starts_at = db.session.scalar(
        select(LearningSession.starts_at).where(LearningSession.id == booking.session_id)
    )
    in_window = starts_at - now >= timedelta(hours=current_app.config["FULL_REFUND_HOURS"])
    if row.cancelled_by_id != row.learner_id or row.rescheduled_at is not None or in_window:
        give_back(credit, now)
    else:
        earn(credit, now)


# ---------------------------------------------------------------------------- expiry


def unused_value(purchase):
    """The part of the purchase's price its credits have not taken: the pro rata value of the
    credits never used (exact, with the remainder on the last credit)."""
    taken = db.session.scalar(
        select(func.coalesce(func.sum(PackCredit.value_paise), 0)).where(
            PackCredit.purchase_id == purchase.id, PackCredit.status.in_(OPEN_CREDIT)
        )
    )
    return purchase.price_paise - taken


def close_purchase(purchase_id, status, *, now, key, reason):
    """Close an active purchase (expired, or cancelled with its mentor) and reserve the refund of
    its unused credits, in one transaction. Returns the Refund, or None (nothing was left, or
    another caller closed it first)."""
    closed = db.session.execute(
        update(PackPurchase)
        .where(PackPurchase.id == purchase_id, PackPurchase.status == PurchaseStatus.ACTIVE.value)
        .values(status=status, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if closed != 1:
        return None
    purchase = db.session.get(PackPurchase, purchase_id, populate_existing=True)
    amount = unused_value(purchase)
    if amount < refunds.MIN_REFUND_PAISE:
        return None
    payment = db.session.get(Payment, purchase.payment_id, populate_existing=True)
    return refunds.reserve_refund(payment, amount, key=key, reason=reason)


def expire_purchases(now=None, limit=200):
    """Close packs whose validity has ended and refund their unused credits pro rata. Credits
    already booked stay booked: held sessions earn them, others refund them. Returns how many."""
    now = now or utcnow()
    ids = db.session.scalars(
        select(PackPurchase.id)
        .where(PackPurchase.status == PurchaseStatus.ACTIVE.value, PackPurchase.expires_at <= now)
        .order_by(PackPurchase.expires_at, PackPurchase.id)
        .limit(limit)
    ).all()
    expired = 0
    for purchase_id in ids:
        refund = close_purchase(
            purchase_id,
            PurchaseStatus.EXPIRED.value,
            now=now,
            key=f"pack-{purchase_id}-expired",
            reason=system_texts.PACK_EXPIRED,
        )
        db.session.commit()
        expired += 1
        if refund is not None:
            refunds.dispatch_refund(refund)
    return expired


def close_mentor_packs(mentor_id, *, now=None):
    """A mentor suspended or their account deleted: their packs stop selling, and every active
    purchase of theirs is cancelled with its unused credits refunded pro rata (in the caller's
    transaction; the refunds are sent after its commit). Credits already booked follow their
    sessions: held, they are earned; not held or cancelled, they are refunded. Returns the
    refunds."""
    now = now or utcnow()
    db.session.execute(
        update(SessionPack)
        .where(SessionPack.mentor_id == mentor_id, SessionPack.active.is_(True))
        .values(active=False, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    ids = db.session.scalars(
        select(PackPurchase.id)
        .where(PackPurchase.mentor_id == mentor_id, PackPurchase.status == PurchaseStatus.ACTIVE.value)
        .order_by(PackPurchase.id)
    ).all()
    closed = []
    for purchase_id in ids:
        refund = close_purchase(
            purchase_id,
            PurchaseStatus.CANCELLED.value,
            now=now,
            key=f"pack-{purchase_id}-mentor-gone",
            reason=system_texts.PACK_MENTOR_GONE,
        )
        if refund is not None:
            closed.append(outbox.stage(refund))
    return closed


# ---------------------------------------------------------------------------- dashboards


def learner_purchases(learner):
    """The learner's paid packs, active first, soonest expiry first."""
    return list(
        db.session.scalars(
            select(PackPurchase)
            .where(PackPurchase.learner_id == learner.id, PackPurchase.status != PurchaseStatus.PENDING.value)
            .order_by((PackPurchase.status != PurchaseStatus.ACTIVE.value), PackPurchase.expires_at.desc())
        )
    )
