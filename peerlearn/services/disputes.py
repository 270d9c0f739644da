"""Learners' reported problems (disputes) and admins' decisions on them.

A learner with a paid booking of a held (completed) session may report a problem until the
session's earnings settle (``settles_at``, SETTLEMENT_HOURS after its end); one report per
booking, kept by the unique index on ``disputes.booking_id``. While a dispute is open, the
mentor's share of that booking is frozen: services.earnings reads open disputes, so opening one
writes nothing to the ledger.

An admin decides once: a full refund, a partial one (any amount up to what is still refundable),
or a release (the mentor keeps the money). The decision is one conditional UPDATE on
``status = 'open'``, so two admins deciding at once apply it once and the other is told
(``dispute_decided``). A refund is reserved in the decision's transaction
(``refunds.reserve_refund``, one idempotency key per dispute) and sent to the gateway after the
commit; when the gateway has processed it, the ledger reverses the platform fee and the mentor's
share in proportion (services.ledger.record_refund). Both sides are told, and every step is in
the audit log.
"""

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from .. import events, system_texts
from ..exceptions import Conflict, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..formats import format_inr
from ..models import (
    DISPUTE_REASON_LABELS,
    BookingStatus,
    Dispute,
    DisputeReason,
    DisputeStatus,
    LearningSession,
    Payment,
    PaymentStatus,
    Refund,
    SessionStatus,
    User,
    utcnow,
)
from . import admin, audit, outbox, refunds
from .admin import _choice, _finish
from .attendance import minutes_attended
from .audit import DISPUTE_DECIDE, DISPUTE_OPEN
from .booking import learner_booking
from .ledger import refund_split
from .pagination import paginate
from .refunds import MIN_REFUND_PAISE
from .transactions import use_case

MIN_DETAILS_LENGTH = 10
MAX_DETAILS_LENGTH = 2000

# What an admin can decide.
REFUND_FULL = "refund_full"
REFUND_PARTIAL = "refund_partial"
RELEASE = "release"
OUTCOMES = (REFUND_FULL, REFUND_PARTIAL, RELEASE)
OUTCOME_LABELS = {
    REFUND_FULL: _l("Refund in full"),
    REFUND_PARTIAL: _l("Refund part of it"),
    RELEASE: _l("Release to the mentor (no refund)"),
}

# How each state reads to the people involved.
STATUS_LABELS = {
    DisputeStatus.OPEN: _l("Under review"),
    DisputeStatus.REFUNDED: _l("Refunded in full"),
    DisputeStatus.PARTIALLY_REFUNDED: _l("Partly refunded"),
    DisputeStatus.RELEASED: _l("Closed without a refund"),
}

# The audit log's target type (the actions are services.audit.DISPUTE_OPEN and DISPUTE_DECIDE).
TARGET_TYPE = "dispute"

# Bookings whose seat was used (or paid for and kept): cancelled and expired ones are not reported.
REPORTABLE_BOOKING_STATES = (
    BookingStatus.CONFIRMED.value,
    BookingStatus.ATTENDED.value,
    BookingStatus.NO_SHOW.value,
)
_PAID_STATES = (PaymentStatus.CAPTURED.value, PaymentStatus.PARTIALLY_REFUNDED.value)


def reason_choices():
    """(value, label) pairs for the report form's select, in the model's order."""
    return [(reason.value, DISPUTE_REASON_LABELS[reason]) for reason in DisputeReason]


def reason_label(value):
    try:
        return DISPUTE_REASON_LABELS[DisputeReason(value)]
    except ValueError:
        return value


def status_label(value):
    try:
        return str(STATUS_LABELS[DisputeStatus(value)])
    except ValueError:
        return value


# ---------------------------------------------------------------------------- reading


def for_booking(booking_id):
    return db.session.scalar(select(Dispute).where(Dispute.booking_id == booking_id))


def refund_of(dispute):
    """The refund an admin's decision on ``dispute`` gave the learner, or None."""
    return db.session.get(Refund, dispute.refund_id) if dispute is not None and dispute.refund_id else None


def get(dispute_id):
    dispute = db.session.get(Dispute, dispute_id) if isinstance(dispute_id, int) else None
    if dispute is None:
        raise NotFound(_("No such dispute."))
    return dispute


def paid_payment(booking):
    """The captured payment of ``booking`` that still has money to give back, or None."""
    return db.session.scalar(
        select(Payment)
        .where(
            Payment.booking_id == booking.id,
            Payment.status.in_(_PAID_STATES),
            Payment.refunded_paise < Payment.amount_paise,
        )
        .order_by(Payment.id)
        .limit(1)
    )


def _refusal(booking, now):
    """Why the booking's learner cannot report a problem now, as a domain error, or None."""
    session = booking.session
    if for_booking(booking.id) is not None:
        return Conflict(_("You already reported a problem with this booking."), code="already_reported")
    if session.status == SessionStatus.CANCELLED:
        return Conflict(
            _("This session was cancelled, so its payments are refunded in full."), code="session_cancelled"
        )
    if session.status != SessionStatus.COMPLETED or session.settles_at is None:
        return Conflict(
            _("You can report a problem once the session has ended."), code="session_not_completed"
        )
    if booking.status not in REPORTABLE_BOOKING_STATES or paid_payment(booking) is None:
        return Conflict(
            _("Only a paid booking that has not been refunded in full can be reported."), code="not_paid"
        )
    if now >= session.settles_at:
        return Conflict(
            _("The time to report a problem with this session has ended."), code="report_window_closed"
        )
    return None


def can_report(booking, now=None):
    """True while the booking's learner may report a problem (the page shows the form)."""
    return _refusal(booking, now or utcnow()) is None


def report_deadline(booking):
    """Until when a problem with this booking can be reported (the session's settling time)."""
    return booking.session.settles_at


# ---------------------------------------------------------------------------- reporting


def _clean_report(reason, details):
    """The report's reason and details, cleaned; every problem with them named at once."""
    errors, cleaned = {}, []
    for clean, value in ((_clean_reason, reason), (_clean_details, details)):
        try:
            cleaned.append(clean(value))
        except ValidationError as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationError(_("Choose what went wrong and tell us what happened."), fields=errors)
    return cleaned


def _clean_reason(reason):
    try:
        return DisputeReason(reason).value
    except ValueError:
        raise ValidationError(
            _("Choose what went wrong."), fields={"reason": [_("Choose one of the listed problems.")]}
        ) from None


def _clean_details(details):
    details = details.strip() if isinstance(details, str) else ""
    if len(details) < MIN_DETAILS_LENGTH:
        message = _("Tell us what happened in at least %(count)s characters.", count=MIN_DETAILS_LENGTH)
        raise ValidationError(message, fields={"details": [message]})
    if len(details) > MAX_DETAILS_LENGTH:
        message = _("Use at most %(count)s characters.", count=MAX_DETAILS_LENGTH)
        raise ValidationError(message, fields={"details": [message]})
    return details


@use_case
def report(learner, booking_id, reason, details, now=None):
    """Open a dispute on the learner's own booking. Returns the Dispute.

    Only the booking's learner (anyone else: 404), only for a paid booking of a completed session
    before its ``settles_at``; once per booking (a second report, even a concurrent double click,
    is ``already_reported``).
    """

    now = now or utcnow()
    booking = learner_booking(learner, booking_id)
    reason, details = _clean_report(reason, details)
    refusal = _refusal(booking, now)
    if refusal is not None:
        raise refusal
    payment = paid_payment(booking)
    dispute = Dispute(
        booking_id=booking.id,
        payment_id=payment.id,
        session_id=booking.session_id,
        learner_id=learner.id,
        mentor_id=booking.session.mentor_id,
        reason=reason,
        details=details,
        status=DisputeStatus.OPEN.value,
        created_at=now,
        updated_at=now,
    )
    db.session.add(dispute)
    try:
        db.session.flush()
    except IntegrityError:
        # The same learner's other click won: one report per booking.
        db.session.rollback()
        raise Conflict(
            _("You already reported a problem with this booking."), code="already_reported"
        ) from None
    audit.record(
        learner,
        DISPUTE_OPEN,
        target_type=TARGET_TYPE,
        target_id=dispute.id,
        details={
            "booking_id": booking.id,
            "payment_id": payment.id,
            "session_id": booking.session_id,
            "mentor_id": dispute.mentor_id,
            "reason": reason,
            "amount_paise": payment.refundable_paise,
        },
    )
    events.record("dispute_opened", dispute, payment)
    db.session.commit()
    outbox.dispatch()
    return dispute


# ---------------------------------------------------------------------------- deciding


def _refund_amount(outcome, amount_paise, payment):
    """How much the outcome gives back, checked against what is still refundable."""

    if outcome == RELEASE:
        return 0
    refundable = payment.refundable_paise
    if refundable < MIN_REFUND_PAISE:
        raise Conflict(
            _("Nothing is left to refund on this payment; release the dispute instead."),
            code="nothing_to_refund",
        )
    if outcome == REFUND_FULL:
        return refundable
    if isinstance(amount_paise, bool) or not isinstance(amount_paise, int):
        raise ValidationError(
            _("Give the amount to refund."), fields={"amount_paise": [_("A whole number of paise.")]}
        )
    if not MIN_REFUND_PAISE <= amount_paise <= refundable:
        message = _("Refund between ₹1 and %(amount)s (what is still refundable).", amount=_inr(refundable))
        raise ValidationError(message, fields={"amount_paise": [message]})
    return amount_paise


def _inr(paise):
    return format_inr(paise)


@use_case
def decide(admin_user, dispute_id, outcome, amount_paise=None, *, reason, origin=None, now=None):
    """Decide an open dispute: ``refund_full``, ``refund_partial`` (``amount_paise``) or
    ``release``, with a reason both sides are told. Returns the Dispute.

    Applied once: the status moves from ``open`` by a conditional UPDATE, and an admin who lost
    the race gets Conflict ``dispute_decided`` with nothing changed.
    """

    admin._require_admin(admin_user)
    errors = {}
    if outcome not in OUTCOMES:
        errors["outcome"] = [_("Choose one of: %(choices)s.", choices=", ".join(OUTCOMES))]
    try:
        reason = admin._reason(reason)
    except ValidationError as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationError(_("Choose a decision and give a reason."), fields=errors)
    now = now or utcnow()
    dispute = get(dispute_id)
    if admin_user.id in (dispute.mentor_id, dispute.learner_id):
        # An admin who also teaches or learns never judges their own case.
        raise PermissionDenied(_("Another admin must decide a dispute you are part of."), code="own_dispute")
    if not dispute.is_open:
        raise Conflict(_("This dispute has already been decided."), code="dispute_decided")
    payment = db.session.get(Payment, dispute.payment_id)
    amount = _refund_amount(outcome, amount_paise, payment)
    if outcome == RELEASE:
        status = DisputeStatus.RELEASED
    elif amount == payment.refundable_paise:  # everything still paid goes back
        status = DisputeStatus.REFUNDED
    else:
        status = DisputeStatus.PARTIALLY_REFUNDED
    mentor_share = _mentor_share_of(payment, amount)
    won = db.session.execute(
        update(Dispute)
        .where(Dispute.id == dispute.id, Dispute.status == DisputeStatus.OPEN.value)
        .values(
            status=status.value,
            refund_paise=amount,
            decision_reason=reason,
            decided_by_id=admin_user.id,
            decided_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        db.session.rollback()
        raise Conflict(_("Another admin decided this dispute a moment ago."), code="dispute_decided")
    refund = None
    if amount:
        try:
            refund = refunds.reserve_refund(
                payment,
                amount,
                key=f"dispute-{dispute.id}-refund",
                reason=system_texts.fill(system_texts.DISPUTE, number=dispute.id, reason=reason),
            )
        except Conflict:
            db.session.rollback()  # the dispute stays open
            raise Conflict(
                _("The payment changed meanwhile (another refund); reload and decide again."),
                code="refund_exceeds_payment",
            ) from None
        db.session.execute(
            update(Dispute)
            .where(Dispute.id == dispute.id)
            .values(refund_id=refund.id)
            .execution_options(synchronize_session=False)
        )
    db.session.refresh(dispute)
    audit.record(
        admin_user,
        DISPUTE_DECIDE,
        target_type=TARGET_TYPE,
        target_id=dispute.id,
        details={
            "outcome": outcome,
            "status": dispute.status,
            "refund_paise": amount,
            "mentor_share_paise": mentor_share,
            "refund_id": refund.id if refund else None,
            "reason": reason,
            "booking_id": dispute.booking_id,
            "payment_id": payment.id,
            "learner_id": dispute.learner_id,
            "mentor_id": dispute.mentor_id,
        },
        origin=origin,
    )
    events.record("dispute_decided", dispute, payment, mentor_share)
    db.session.commit()
    outbox.dispatch()
    if refund is not None:
        refunds.dispatch_refund(refund)
    db.session.refresh(dispute)
    return dispute


def _mentor_share_of(payment, amount_paise):
    """The part of a refund of ``amount_paise`` that comes out of the mentor's share (the rest
    is the platform fee), as services.ledger.record_refund will write it."""

    return refund_split(payment, amount_paise)[1] if amount_paise else 0


# ---------------------------------------------------------------------------- the admins' queue

DISPUTE_STATES = ("open", "decided")


def dispute_filters(args):
    """``state``: ``open`` (the default, oldest first) or ``decided`` (latest decision first)."""

    errors = {}
    state = _choice(args, "state", DISPUTE_STATES, errors) or "open"
    return _finish(errors, {"state": state})


def find_disputes(*, state="open", page=1, per_page=25):
    """One page of open disputes (oldest first: the queue) or decided ones (latest first)."""
    if state == "decided":
        query = select(Dispute).where(Dispute.status != DisputeStatus.OPEN.value)
        ordered = query.order_by(Dispute.decided_at.desc(), Dispute.id.desc())
    else:
        query = select(Dispute).where(Dispute.status == DisputeStatus.OPEN.value)
        ordered = query.order_by(Dispute.created_at, Dispute.id)
    return paginate(ordered, page=page, per_page=per_page)


def open_count():
    return db.session.scalar(select(func.count(Dispute.id)).where(Dispute.status == DisputeStatus.OPEN.value))


@dataclass(frozen=True)
class Facts:
    """What an admin weighs for one dispute: the money and who was in the room (no chat)."""

    payment: Payment
    refundable_paise: int
    duration_minutes: int
    mentor_present_minutes: int | None
    learner_minutes: int
    refund: Refund | None
    decided_by: User | None


def facts(dispute, now=None):
    payment = db.session.get(Payment, dispute.payment_id)
    session = db.session.get(LearningSession, dispute.session_id)
    return Facts(
        payment=payment,
        refundable_paise=payment.refundable_paise,
        duration_minutes=session.duration_minutes,
        mentor_present_minutes=session.mentor_present_minutes,
        learner_minutes=minutes_attended(session.id, dispute.learner_id, now),
        refund=db.session.get(Refund, dispute.refund_id) if dispute.refund_id else None,
        decided_by=db.session.get(User, dispute.decided_by_id) if dispute.decided_by_id else None,
    )
