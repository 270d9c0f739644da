"""Admins' tools: finding and moderating users, overseeing sessions, payments, refunds and reviews.

Every admin action writes an AuditEntry in the same transaction as the change it records, so
the log never claims an action that was rolled back, nor misses one that happened. The list
filters are read from request arguments (a MultiDict or a plain dict) by the ``*_filters``
functions, which report every bad value at once in a ValidationError naming the parameters.
"""

import re
from datetime import UTC, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from .. import events, system_texts
from ..exceptions import Conflict, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..formats import format_inr
from ..inputs import arg_day, arg_flag, arg_text, arg_whole
from ..limits import ADMIN_PER_PAGE, MAX_PAGE, MAX_QUERY_LENGTH
from ..models import (
    AuditEntry,
    AuthSession,
    Booking,
    Dispute,
    Gift,
    LearningSession,
    Payment,
    PaymentPurpose,
    PaymentStatus,
    Payout,
    PayoutStatus,
    Refund,
    RefundStatus,
    Review,
    Role,
    SessionStatus,
    User,
    utcnow,
)
from . import ledger, outbox, packs, realtime, refunds, reviews, sessions
from .audit import (
    ACTIONS,
    MENTOR_PUBLISHING_RESTORE,
    MENTOR_UNVERIFY,
    MENTOR_VERIFY,
    PAYMENT_REFUND,
    REVIEW_HIDE,
    SESSION_CANCEL,
    TARGET_TYPES,
    USER_SUSPEND,
    USER_UNSUSPEND,
    record,
)
from .pagination import paginate
from .transactions import use_case

MAX_REASON_LENGTH = 500

REVIEW_STATES = ("visible", "hidden")


def _require_admin(actor):
    if actor is None or not actor.is_admin:
        raise PermissionDenied(_("Only admins can do this."), code="not_an_admin")


def _reason(reason, field="reason"):
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise ValidationError(_("Give a reason."), fields={field: [_("A reason is required.")]})
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationError(
            _("Use at most %(count)s characters.", count=MAX_REASON_LENGTH),
            fields={field: [_("Use at most %(count)s characters.", count=MAX_REASON_LENGTH)]},
        )
    return reason


def _contains(column, term):
    """``column`` contains ``term``, ignoring the case of ASCII letters, ``%`` and ``_`` literal."""
    return func.lower(column).contains(term.lower(), autoescape=True)


# ---------------------------------------------------------------------------- reading filters


def _text(args, name, errors, max_length=MAX_QUERY_LENGTH):
    value = " ".join(arg_text(args, name).split())
    if len(value) > max_length:
        errors[name] = [_("Use at most %(count)s characters.", count=max_length)]
        return ""
    return value


def _choice(args, name, choices, errors):
    value = arg_text(args, name).lower()
    if not value:
        return None
    if value not in choices:
        errors[name] = [_("Choose one of: %(choices)s.", choices=", ".join(choices))]
        return None
    return value


def _day_range(args, zone, errors):
    """``date_from``/``date_to`` (days in ``zone``, both included) as a half-open UTC range."""
    date_from, date_to = arg_day(args, "date_from", errors), arg_day(args, "date_to", errors)
    if date_from and date_to and date_from > date_to:
        errors["date_to"] = [_("The end date is before the start date.")]
    start = datetime.combine(date_from, time.min, tzinfo=zone).astimezone(UTC) if date_from else None
    end = None
    if date_to:
        end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
    return start, end


def page_number(args):
    """``page`` from the arguments, 1 when absent."""
    errors = {}
    page = arg_whole(args, "page", errors, 1, MAX_PAGE)
    if errors:
        raise ValidationError(_("Check the page number."), fields=errors)
    return page or 1


def _finish(errors, values):
    if errors:
        raise ValidationError(_("Some filters are not valid."), fields=errors)
    return values


# ---------------------------------------------------------------------------- users


def user_filters(args):
    """``q`` (name or email), ``role`` (a capability: learner means learning only), ``suspended``
    and ``verified`` (mentors checked by an admin)."""
    errors = {}
    values = {
        "q": _text(args, "q", errors),
        "role": _choice(args, "role", tuple(r.value for r in Role), errors),
        "suspended": arg_flag(args, "suspended", errors),
        "verified": arg_flag(args, "verified", errors),
    }
    return _finish(errors, values)


def find_users(*, q="", role=None, suspended=None, verified=None, page=1, per_page=ADMIN_PER_PAGE):
    """One page of users, newest first, and how many match in all."""
    conditions = []
    for term in q.split():
        conditions.append(or_(_contains(User.name, term), _contains(User.email, term)))
    if role == Role.MENTOR:
        conditions.append(User.is_mentor)  # admins who teach too
    elif role == Role.ADMIN:
        conditions.append(User.is_admin)
    elif role == Role.LEARNER:
        conditions.append(User.role == Role.LEARNER.value)  # everyone learns: those who only learn
    if suspended is not None:
        conditions.append(User.suspended_at.is_not(None) if suspended else User.suspended_at.is_(None))
    if verified is not None:
        conditions.append(User.is_mentor)
        column = User.mentor_verified_at
        conditions.append(column.is_not(None) if verified else column.is_(None))
    query = select(User).where(*conditions)
    return paginate(query.order_by(User.created_at.desc(), User.id.desc()), page=page, per_page=per_page)


def get_user(user_id):
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("No such user."))
    return user


def _audit_about(target_type, target_id, *, limit=None):
    """The audit entries about one user, session or payment, newest first."""
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.target_type == target_type, AuditEntry.target_id == target_id)
            .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
            .limit(limit)
        )
    )


def user_overview(user_id):
    """A user with what an admin needs to judge them: activity counts and the audit entries
    about them (newest first)."""
    user = get_user(user_id)
    counts = {
        "bookings": db.session.scalar(select(func.count(Booking.id)).where(Booking.learner_id == user.id)),
        "sessions": db.session.scalar(
            select(func.count(LearningSession.id)).where(LearningSession.mentor_id == user.id)
        ),
        "payments": db.session.scalar(select(func.count(Payment.id)).where(Payment.payer_id == user.id)),
        "sign_ins": db.session.scalar(
            select(func.count(AuthSession.id)).where(
                AuthSession.user_id == user.id, AuthSession.expires_at > utcnow()
            )
        ),
    }
    audit = _audit_about("user", user.id, limit=50)
    return user, counts, audit


def _moderatable(admin, user_id):
    _require_admin(admin)
    user = get_user(user_id)
    if user.id == admin.id:
        raise PermissionDenied(_("You cannot suspend your own account."), code="cannot_suspend_self")
    if user.is_admin:
        raise PermissionDenied(_("Admins cannot be suspended."), code="cannot_suspend_admin")
    return user


@use_case
def suspend_user(admin, user_id, reason, *, origin=None):
    """Suspend a learner or mentor: they cannot sign in, and every web session, API token and
    open socket of theirs ends now. Their sessions leave the catalog (search.mentor_active)."""
    user = _moderatable(admin, user_id)
    reason = _reason(reason)
    if user.suspended_at is not None:
        raise Conflict(_("This account is already suspended."), code="already_suspended")
    user.suspended_at = utcnow()
    user.suspension_reason = reason
    if user.is_mentor:
        packs.close_mentor_packs(user.id, now=user.suspended_at)  # unused credits refunded
    ended = list(db.session.scalars(select(AuthSession.id).where(AuthSession.user_id == user.id)))
    if ended:
        db.session.execute(delete(AuthSession).where(AuthSession.id.in_(ended)))
    record(
        admin,
        USER_SUSPEND,
        target_type="user",
        target_id=user.id,
        details={"reason": reason, "signed_out": len(ended)},
        origin=origin,
    )
    db.session.commit()
    # Sockets carry a copy of the sign-in taken at connect: close them now rather than at their
    # next event (which would be refused anyway, the user being inactive).
    realtime.end_auth_sessions(ended)
    return user


@use_case
def unsuspend_user(admin, user_id, *, origin=None):
    user = _moderatable(admin, user_id)
    if user.suspended_at is None:
        raise Conflict(_("This account is not suspended."), code="not_suspended")
    previous = user.suspension_reason
    user.suspended_at = None
    user.suspension_reason = ""
    record(
        admin,
        USER_UNSUSPEND,
        target_type="user",
        target_id=user.id,
        details={"previous_reason": previous},
        origin=origin,
    )
    db.session.commit()
    return user


@use_case
def lift_publishing_suspension(admin, user_id, reason, *, origin=None):
    """Let a mentor whose publishing was suspended by strikes (services.settlement) publish
    again. The strikes stay on record; the reason goes to the audit log and the mentor is told."""
    _require_admin(admin)
    reason = _reason(reason)
    user = get_user(user_id)
    suspended_at = user.publishing_suspended_at
    # Conditional: of two admins lifting at once, one lifts and the other is told it's done.
    lifted = db.session.execute(
        update(User)
        .where(User.id == user.id, User.publishing_suspended_at.is_not(None))
        .values(publishing_suspended_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if lifted != 1:
        db.session.rollback()
        raise Conflict(_("This mentor's publishing is not suspended."), code="not_publishing_suspended")
    record(
        admin,
        MENTOR_PUBLISHING_RESTORE,
        target_type="user",
        target_id=user.id,
        details={"reason": reason, "suspended_at": suspended_at.isoformat() if suspended_at else None},
        origin=origin,
    )
    db.session.refresh(user)
    events.record("publishing_restored", user, reason)
    db.session.commit()
    outbox.dispatch()
    return user


def _mentor(admin, user_id):
    _require_admin(admin)
    user = get_user(user_id)
    if not user.is_mentor:
        raise Conflict(_("Only mentors can be verified."), code="not_a_mentor_account")
    return user


@use_case
def verify_mentor(admin, user_id, *, origin=None):
    """Mark a mentor as checked by an admin (the "Verified" badge)."""
    user = _mentor(admin, user_id)
    if user.mentor_verified_at is not None:
        raise Conflict(_("This mentor is already verified."), code="already_verified")
    user.mentor_verified_at = utcnow()
    record(admin, MENTOR_VERIFY, target_type="user", target_id=user.id, origin=origin)
    db.session.commit()
    return user


@use_case
def unverify_mentor(admin, user_id, *, origin=None):
    user = _mentor(admin, user_id)
    if user.mentor_verified_at is None:
        raise Conflict(_("This mentor is not verified."), code="not_verified")
    user.mentor_verified_at = None
    record(admin, MENTOR_UNVERIFY, target_type="user", target_id=user.id, origin=origin)
    db.session.commit()
    return user


# ---------------------------------------------------------------------------- sessions


def session_filters(args, zone):
    """``q`` (title or mentor name), ``status``, and ``date_from``/``date_to`` (start day in ``zone``)."""
    errors = {}
    q = _text(args, "q", errors)
    status = _choice(args, "status", tuple(s.value for s in SessionStatus), errors)
    starts_from, starts_before = _day_range(args, zone, errors)
    return _finish(
        errors, {"q": q, "status": status, "starts_from": starts_from, "starts_before": starts_before}
    )


def find_sessions(
    *, q="", status=None, starts_from=None, starts_before=None, page=1, per_page=ADMIN_PER_PAGE
):
    """One page of sessions in every state, latest start first."""
    conditions = []
    for term in q.split():
        conditions.append(
            or_(
                _contains(LearningSession.title, term),
                LearningSession.mentor_id.in_(select(User.id).where(_contains(User.name, term))),
            )
        )
    if status:
        conditions.append(LearningSession.status == status)
    if starts_from:
        conditions.append(LearningSession.starts_at >= starts_from)
    if starts_before:
        conditions.append(LearningSession.starts_at < starts_before)
    query = select(LearningSession).where(*conditions)
    ordered = query.order_by(LearningSession.starts_at.desc(), LearningSession.id.desc())
    return paginate(ordered, page=page, per_page=per_page)


def session_overview(session_id):
    """A session of any status with its bookings, their payments and refunds, and the audit
    entries about it."""
    session = db.session.get(LearningSession, session_id)
    if session is None:
        raise NotFound(_("No such session."))
    bookings = list(
        db.session.scalars(
            select(Booking).where(Booking.session_id == session.id).order_by(Booking.created_at, Booking.id)
        )
    )
    payments = list(
        db.session.scalars(
            select(Payment)
            .where(Payment.booking_id.in_([b.id for b in bookings]))
            .order_by(Payment.created_at, Payment.id)
        )
    )
    refunds = list(
        db.session.scalars(
            select(Refund)
            .where(Refund.payment_id.in_([p.id for p in payments]))
            .order_by(Refund.created_at, Refund.id)
        )
    )
    audit = _audit_about("session", session.id)
    return {
        "session": session,
        "bookings": bookings,
        "payments": payments,
        "refunds": refunds,
        "audit": audit,
    }


@use_case
def cancel_session(admin, session_id, reason, *, origin=None):
    """Cancel any session that has not ended: every booking is cancelled and refunded in full
    (sessions.cancel_session), the mentor is told why, and the audit entry is committed with it.
    Of admins cancelling one session at once, only the one whose cancellation won is audited and
    tells the mentor; the others get a Conflict."""
    _require_admin(admin)
    reason = _reason(reason)

    def audit(session, previous_status):
        record(
            admin,
            SESSION_CANCEL,
            target_type="session",
            target_id=session.id,
            details={"reason": reason, "previous_status": previous_status, "mentor_id": session.mentor_id},
            origin=origin,
        )
        events.record("session_cancelled_by_admin", session, reason)

    return sessions.cancel_session(admin, session_id, reason=reason, on_cancelled=audit)


# ---------------------------------------------------------------------------- payments and refunds


def payment_filters(args, zone):
    """``status``, ``purpose``, ``date_from``/``date_to`` (day created, in ``zone``) and ``email``
    (part of the payer's email)."""
    errors = {}
    values = {
        "status": _choice(args, "status", tuple(s.value for s in PaymentStatus), errors),
        "purpose": _choice(args, "purpose", tuple(p.value for p in PaymentPurpose), errors),
        "email": _text(args, "email", errors, max_length=254).lower(),
    }
    values["created_from"], values["created_before"] = _day_range(args, zone, errors)
    return _finish(errors, values)


def find_payments(
    *,
    status=None,
    purpose=None,
    email="",
    created_from=None,
    created_before=None,
    page=1,
    per_page=ADMIN_PER_PAGE,
):
    """One page of payments of every payer, newest first."""
    conditions = []
    if status:
        conditions.append(Payment.status == status)
    if purpose:
        conditions.append(Payment.purpose == purpose)
    if email:
        conditions.append(Payment.payer_id.in_(select(User.id).where(_contains(User.email, email))))
    if created_from:
        conditions.append(Payment.created_at >= created_from)
    if created_before:
        conditions.append(Payment.created_at < created_before)
    query = select(Payment).where(*conditions)
    return paginate(
        query.order_by(Payment.created_at.desc(), Payment.id.desc()), page=page, per_page=per_page
    )


def refund_filters(args):
    errors = {}
    return _finish(errors, {"status": _choice(args, "status", tuple(s.value for s in RefundStatus), errors)})


def find_refunds(*, status=None, page=1, per_page=ADMIN_PER_PAGE):
    query = select(Refund).where(Refund.status == status) if status else select(Refund)
    return paginate(query.order_by(Refund.created_at.desc(), Refund.id.desc()), page=page, per_page=per_page)


_REQUEST_KEY = re.compile(r"^[A-Za-z0-9_-]{8,40}$")


def payment_overview(payment_id):
    """A payment of any purpose with its refunds, its ledger totals, the gift or booking it paid
    for, its dispute, and the audit entries about it."""

    payment = db.session.get(Payment, payment_id)
    if payment is None:
        raise NotFound(_("No such payment."))
    refunds = list(
        db.session.scalars(
            select(Refund).where(Refund.payment_id == payment.id).order_by(Refund.created_at, Refund.id)
        )
    )
    audit = _audit_about("payment", payment.id)
    session_id = ledger.payment_session_id(payment)
    return {
        "payment": payment,
        "refunds": refunds,
        "ledger": ledger.payment_balance(payment.id),
        "gift": db.session.scalar(select(Gift).where(Gift.payment_id == payment.id)),
        "session": db.session.get(LearningSession, session_id) if session_id else None,
        "dispute": db.session.scalar(select(Dispute).where(Dispute.payment_id == payment.id)),
        "audit": audit,
    }


@use_case
def refund_payment(admin, payment_id, *, amount_paise=None, reason, request_key, origin=None):
    """Refund a captured payment (a booking or a gift, whatever its session's state) with a
    reason: ``amount_paise`` (default: all that is still refundable). Returns ``(refund, created)``.

    ``request_key`` names the request (the form's one-time nonce, or the API client's
    idempotency key): asking again with it, even twice at once, is the same single refund.
    The mentor's share and the fee are reversed in proportion when the gateway has processed it,
    even if the mentor was already paid out (their balance then goes negative and later
    earnings repay it); the payer hears of it by the usual refund email.
    """

    _require_admin(admin)
    reason = _reason(reason)
    if not isinstance(request_key, str) or not _REQUEST_KEY.match(request_key):
        raise ValidationError(
            _("The request key is missing or malformed."),
            fields={"idempotency_key": [_("8 to 40 letters, digits, '-' or '_'.")]},
        )
    payment = db.session.get(Payment, payment_id)
    if payment is None:
        raise NotFound(_("No such payment."))
    if payment.payer_id == admin.id:
        raise PermissionDenied(_("Another admin must refund a payment you made."), code="own_payment")
    key = f"admin-{payment.id}-{request_key}"

    def made_before():
        return db.session.scalar(select(Refund).where(Refund.idempotency_key == key))

    existing = made_before()
    if existing is not None:
        return existing, False
    if not payment.is_captured:
        raise Conflict(_("Only a captured payment can be refunded."), code="not_captured")
    refundable = payment.refundable_paise
    if refundable < refunds.MIN_REFUND_PAISE:
        raise Conflict(_("Everything paid has already been refunded."), code="nothing_to_refund")
    amount = refundable if amount_paise is None else amount_paise
    if (
        isinstance(amount, bool)
        or not isinstance(amount, int)
        or not (refunds.MIN_REFUND_PAISE <= amount <= refundable)
    ):
        message = _(
            "Refund between ₹1 and %(amount)s (what is still refundable).", amount=format_inr(refundable)
        )
        raise ValidationError(message, fields={"amount_paise": [message]})
    try:
        refund = refunds.reserve_refund(
            payment, amount, key=key, reason=system_texts.fill(system_texts.BY_AN_ADMIN, reason=reason)
        )
        record(
            admin,
            PAYMENT_REFUND,
            target_type="payment",
            target_id=payment.id,
            details={
                "amount_paise": amount,
                "reason": reason,
                "refund_id": refund.id,
                "purpose": payment.purpose,
                "booking_id": payment.booking_id,
                "payer_id": payment.payer_id,
                "mentor_id": payment.mentor_id,
            },
            origin=origin,
        )
        db.session.commit()
    except (IntegrityError, Conflict):
        # The same request's other click reserved it first (same key), or another refund took
        # what was left meanwhile.
        db.session.rollback()
        existing = made_before()
        if existing is not None:
            return existing, False
        raise Conflict(
            _("The payment changed meanwhile (another refund); reload and try again."),
            code="refund_exceeds_payment",
        ) from None
    outbox.dispatch()
    refunds.dispatch_refund(refund)
    db.session.refresh(refund)
    return refund, True


# ---------------------------------------------------------------------------- payouts

DECIDED_PAYOUT_STATES = (PayoutStatus.PAID.value, PayoutStatus.REJECTED.value)


def payout_filters(args):
    """The decided payouts' filters: status (paid or rejected) and mentor (name or email)."""
    errors = {}
    return _finish(
        errors,
        {
            "status": _choice(args, "status", DECIDED_PAYOUT_STATES, errors),
            "mentor": _text(args, "mentor", errors),
        },
    )


def requested_payouts():
    """The payout queue: every payout still waiting for an admin, oldest request first."""
    return list(
        db.session.scalars(
            select(Payout)
            .where(Payout.status == PayoutStatus.REQUESTED.value)
            .order_by(Payout.created_at, Payout.id)
        )
    )


def find_payouts(*, status=None, mentor="", page=1, per_page=ADMIN_PER_PAGE):
    """Decided payouts, most recently decided first."""
    query = select(Payout).where(Payout.status.in_((status,) if status else DECIDED_PAYOUT_STATES))
    if mentor:
        query = query.join(User, User.id == Payout.mentor_id).where(
            or_(_contains(User.name, mentor), _contains(User.email, mentor))
        )
    return paginate(query.order_by(Payout.updated_at.desc(), Payout.id.desc()), page=page, per_page=per_page)


# ---------------------------------------------------------------------------- reviews


def review_filters(args):
    errors = {}
    return _finish(errors, {"state": _choice(args, "state", REVIEW_STATES, errors)})


def find_reviews(*, state=None, page=1, per_page=ADMIN_PER_PAGE):
    query = select(Review)
    if state == "visible":
        query = query.where(Review.hidden_at.is_(None))
    elif state == "hidden":
        query = query.where(Review.hidden_at.is_not(None))
    return paginate(query.order_by(Review.created_at.desc(), Review.id.desc()), page=page, per_page=per_page)


@use_case
def hide_review(admin, review_id, reason, *, origin=None):
    """Hide a review (services.reviews): it stays stored, out of every list and average."""
    _require_admin(admin)
    reason = _reason(reason)
    review = db.session.get(Review, review_id)
    if review is None:
        raise NotFound(_("No such review."))
    if review.hidden_at is not None:
        raise Conflict(_("This review is already hidden."), code="already_hidden")
    reviews.hide_review(admin, review.id, reason, commit=False)
    record(
        admin,
        REVIEW_HIDE,
        target_type="review",
        target_id=review.id,
        details={"reason": reason, "session_id": review.session_id, "learner_id": review.learner_id},
        origin=origin,
    )
    db.session.commit()
    return review


# ---------------------------------------------------------------------------- audit log


def audit_filters(args):
    """``actor`` (part of the admin's email), ``action``, ``target_type`` and ``target_id``."""
    errors = {}
    values = {
        "actor": _text(args, "actor", errors, max_length=254).lower(),
        "action": _choice(args, "action", ACTIONS, errors),
        "target_type": _choice(args, "target_type", TARGET_TYPES, errors),
        "target_id": arg_whole(args, "target_id", errors),
    }
    return _finish(errors, values)


def find_audit(*, actor="", action=None, target_type=None, target_id=None, page=1, per_page=ADMIN_PER_PAGE):
    conditions = []
    if actor:
        conditions.append(AuditEntry.actor_id.in_(select(User.id).where(_contains(User.email, actor))))
    if action:
        conditions.append(AuditEntry.action == action)
    if target_type:
        conditions.append(AuditEntry.target_type == target_type)
    if target_id is not None:
        conditions.append(AuditEntry.target_id == target_id)
    query = select(AuditEntry).where(*conditions)
    ordered = query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    return paginate(ordered, page=page, per_page=per_page)
