"""Admins' views of the growth features: sessions' waitlists, session packs, moved bookings and
webhooks, with the few actions an admin takes on them.

Each action is one use case that writes its ``AuditEntry`` in the transaction of the change it
records (services.audit), like the other admin actions (services.admin): a learner taken out of a
line (and told), a pack's unused credits refunded by the pack policy (pro rata, as at expiry), a
webhook delivery sent again, a disabled endpoint enabled again. The lists are read the way
services.admin reads its lists: ``*_filters`` turn request arguments into keyword arguments (every
bad value reported at once), ``find_*`` return one page.
"""

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update

from .. import i18n, system_texts
from ..exceptions import Conflict, NotFound
from ..extensions import db
from ..inputs import arg_whole
from ..limits import ADMIN_PER_PAGE
from ..models import (
    Booking,
    DeliveryStatus,
    LearningSession,
    Notification,
    NotificationKind,
    PackCredit,
    PackPurchase,
    Payment,
    PurchaseStatus,
    Refund,
    SessionPack,
    User,
    WaitlistEntry,
    WaitlistStatus,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from ..models.payment import MoveOrder, MoveOrderStatus
from ..models.webhook import WEBHOOK_EVENT_TYPES
from . import booking as booking_service
from . import outbox, packs, refunds, webhooks
from .admin import _choice, _contains, _day_range, _finish, _reason, _require_admin, _text
from .audit import PACK_REFUND, WAITLIST_REMOVE, WEBHOOK_ENABLE, WEBHOOK_REDELIVER, record
from .notifications import notify
from .pagination import paginate
from .transactions import use_case

WAITLIST_STATES = ("open", "closed")
ENDPOINT_STATES = ("enabled", "disabled")
DELIVERY_STATES = tuple(status.value for status in DeliveryStatus)
PURCHASE_STATES = tuple(status.value for status in PurchaseStatus)
EVENT_TYPES = (webhooks.PING, *WEBHOOK_EVENT_TYPES)
_OPEN = (WaitlistStatus.WAITING.value, WaitlistStatus.OFFERED.value)


def _people(column, term):
    """``column`` (a user id) names someone whose name or email contains ``term``."""
    return column.in_(select(User.id).where(or_(_contains(User.name, term), _contains(User.email, term))))


# ---------------------------------------------------------------------------- waitlists


def waitlist_filters(args):
    """``q`` (session title or mentor) and ``state``: ``open`` (someone still waiting or offered a
    seat, the default's first rows) or ``closed`` (every entry claimed, passed, left or expired)."""
    errors = {}
    values = {"q": _text(args, "q", errors), "state": _choice(args, "state", WAITLIST_STATES, errors)}
    return _finish(errors, values)


def find_waitlists(*, q="", state=None, page=1, per_page=ADMIN_PER_PAGE):
    """One page of sessions that have had a line, soonest start first."""
    lined = select(WaitlistEntry.session_id)
    open_lines = lined.where(WaitlistEntry.status.in_(_OPEN))
    conditions = [LearningSession.id.in_(lined)]
    if state == "open":
        conditions.append(LearningSession.id.in_(open_lines))
    elif state == "closed":
        conditions.append(LearningSession.id.not_in(open_lines))
    for term in q.split():
        conditions.append(
            or_(_contains(LearningSession.title, term), _people(LearningSession.mentor_id, term))
        )
    query = select(LearningSession).where(*conditions)
    return paginate(
        query.order_by(LearningSession.starts_at.desc(), LearningSession.id.desc()),
        page=page,
        per_page=per_page,
    )


def waitlist_summaries(session_ids):
    """{session id: {status: count, "offer": the open offer or None}} for the listed sessions."""
    summaries = {session_id: {"offer": None} for session_id in session_ids}
    if not session_ids:
        return summaries
    rows = db.session.execute(
        select(WaitlistEntry.session_id, WaitlistEntry.status, func.count(WaitlistEntry.id))
        .where(WaitlistEntry.session_id.in_(session_ids))
        .group_by(WaitlistEntry.session_id, WaitlistEntry.status)
    )
    for session_id, status, count in rows:
        summaries[session_id][status] = int(count)
    offers = db.session.scalars(
        select(WaitlistEntry)
        .where(
            WaitlistEntry.session_id.in_(session_ids), WaitlistEntry.status == WaitlistStatus.OFFERED.value
        )
        .order_by(WaitlistEntry.id)
    )
    for entry in offers:
        summaries[entry.session_id]["offer"] = summaries[entry.session_id]["offer"] or entry
    return summaries


def session_waitlist(session_id):
    """A session and its whole line: the open entries in line order (offered first, then waiting
    by when they joined), then the closed ones, most recent first."""
    session = db.session.get(LearningSession, session_id)
    if session is None:
        raise NotFound(_("No such session."))
    entries = list(
        db.session.scalars(
            select(WaitlistEntry).where(WaitlistEntry.session_id == session.id).order_by(WaitlistEntry.id)
        )
    )
    line = [e for e in entries if e.status == WaitlistStatus.OFFERED] + [
        e for e in entries if e.status == WaitlistStatus.WAITING
    ]
    closed = sorted((e for e in entries if not e.is_open), key=lambda e: (e.updated_at, e.id), reverse=True)
    return {"session": session, "line": line, "closed": closed}


def _tell_removed(entry, reason):
    learner, session = entry.learner, entry.session
    with i18n.for_user(learner):
        title = _("You were taken off the waitlist for %(title)s", title=session.title)
        body = _("An admin took you off this session's waitlist. Their reason: %(reason)s", reason=reason)
    with current_app.test_request_context():
        path = url_for("sessions.detail", session_id=session.id)
    notify(
        learner,
        NotificationKind.WAITLIST_OFFER,
        title=title,
        body=body,
        url=path,
        data={"session_id": session.id, "waitlist_entry_id": entry.id},
    )


@use_case
def remove_from_waitlist(admin, entry_id, reason, *, origin=None):
    """Take a learner out of a session's line. A seat offered to them is given up: its unpaid
    hold is cancelled, which offers the seat to the next in line. The learner is told why."""
    _require_admin(admin)
    reason = _reason(reason)
    entry = db.session.get(WaitlistEntry, entry_id)
    if entry is None:
        raise NotFound(_("No such waitlist entry."))
    if not entry.is_open:
        raise Conflict(_("This learner is no longer on the waitlist."), code="not_waiting")
    was = entry.status

    def audit_and_tell():
        record(
            admin,
            WAITLIST_REMOVE,
            target_type="session",
            target_id=entry.session_id,
            details={"reason": reason, "learner_id": entry.learner_id, "was": was},
            origin=origin,
        )
        _tell_removed(entry, reason)

    if was == WaitlistStatus.OFFERED:
        held = db.session.get(Booking, entry.booking_id)
        audit_and_tell()
        # cancel() locks the session, frees the seat, closes this entry (seat_freed offers the
        # seat on) and commits the audit entry and the notice with it.
        booking_service.cancel(
            held, admin, reason=system_texts.fill(system_texts.OFF_WAITLIST_BY_ADMIN, reason=reason)
        )
        db.session.refresh(entry)
        return entry
    left = db.session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.id == entry.id, WaitlistEntry.status == WaitlistStatus.WAITING.value)
        .values(status=WaitlistStatus.LEFT.value, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not left:  # offered a seat meanwhile: take that back instead
        db.session.rollback()
        return remove_from_waitlist(admin, entry_id, reason, origin=origin)
    audit_and_tell()
    db.session.commit()
    outbox.dispatch()
    db.session.refresh(entry)
    return entry


# ---------------------------------------------------------------------------- packs


def pack_filters(args):
    """The packs on sale: ``q`` (mentor name or email, or the pack's title)."""
    errors = {}
    return _finish(errors, {"q": _text(args, "q", errors)})


def find_packs(*, q="", page=1, per_page=ADMIN_PER_PAGE):
    """One page of the packs on sale, by mentor, cheapest first."""
    conditions = [SessionPack.active.is_(True)]
    for term in q.split():
        conditions.append(or_(_contains(SessionPack.title, term), _people(SessionPack.mentor_id, term)))
    query = select(SessionPack).join(User, User.id == SessionPack.mentor_id).where(*conditions)
    return paginate(
        query.order_by(User.name, SessionPack.price_paise, SessionPack.id), page=page, per_page=per_page
    )


def pack_sales(pack_ids):
    """{pack id: purchases paid for}."""
    if not pack_ids:
        return {}
    rows = db.session.execute(
        select(PackPurchase.pack_id, func.count(PackPurchase.id))
        .where(PackPurchase.pack_id.in_(pack_ids), PackPurchase.status != PurchaseStatus.PENDING.value)
        .group_by(PackPurchase.pack_id)
    )
    return {pack_id: int(count) for pack_id, count in rows}


def purchase_filters(args):
    """``status`` and ``q`` (the learner's or the mentor's name or email)."""
    errors = {}
    values = {
        "status": _choice(args, "status", PURCHASE_STATES, errors),
        "q": _text(args, "q", errors),
    }
    return _finish(errors, values)


def find_purchases(*, status=None, q="", page=1, per_page=ADMIN_PER_PAGE):
    """One page of pack purchases, newest first."""
    conditions = []
    if status:
        conditions.append(PackPurchase.status == status)
    for term in q.split():
        conditions.append(or_(_people(PackPurchase.learner_id, term), _people(PackPurchase.mentor_id, term)))
    query = select(PackPurchase).where(*conditions)
    return paginate(
        query.order_by(PackPurchase.created_at.desc(), PackPurchase.id.desc()), page=page, per_page=per_page
    )


def purchase_details(purchases):
    """{purchase id: {"learner", "mentor", "payment", "refundable_paise"}} for a page of purchases:
    who, the payment that bought it, and what refunding its unused credits would send back."""
    ids = [p.id for p in purchases]
    users = {
        u.id: u
        for u in db.session.scalars(
            select(User).where(
                User.id.in_({p.learner_id for p in purchases} | {p.mentor_id for p in purchases})
            )
        )
    }
    payments = {
        p.id: p
        for p in db.session.scalars(select(Payment).where(Payment.id.in_([p.payment_id for p in purchases])))
    }
    taken = dict(
        db.session.execute(
            select(PackCredit.purchase_id, func.sum(PackCredit.value_paise))
            .where(PackCredit.purchase_id.in_(ids), PackCredit.status.in_(packs.OPEN_CREDIT))
            .group_by(PackCredit.purchase_id)
        ).all()
    )
    return {
        p.id: {
            "learner": users.get(p.learner_id),
            "mentor": users.get(p.mentor_id),
            "payment": payments.get(p.payment_id),
            "refundable_paise": (
                p.price_paise - int(taken.get(p.id) or 0) if p.status == PurchaseStatus.ACTIVE else 0
            ),
        }
        for p in purchases
    }


@use_case
def refund_pack_purchase(admin, purchase_id, reason, *, origin=None):
    """Close an active pack purchase and refund its unused credits pro rata, as its expiry would
    (services.packs.close_purchase): credits already booked follow their sessions. Returns the
    Refund, or None when every credit's value is already taken."""
    _require_admin(admin)
    reason = _reason(reason)
    purchase = db.session.get(PackPurchase, purchase_id)
    if purchase is None:
        raise NotFound(_("No such pack purchase."))
    if purchase.learner_id == admin.id:
        raise Conflict(_("Another admin must refund a pack you bought."), code="own_payment")
    if purchase.status != PurchaseStatus.ACTIVE:
        raise Conflict(_("Only an active pack can be refunded."), code="pack_not_active")
    now = utcnow()
    amount = packs.unused_value(purchase)
    refund = packs.close_purchase(
        purchase.id,
        PurchaseStatus.REFUNDED.value,
        now=now,
        key=f"pack-{purchase.id}-admin",
        reason=system_texts.fill(system_texts.PACK_BY_AN_ADMIN, reason=reason),
    )
    db.session.refresh(purchase)
    if purchase.status != PurchaseStatus.REFUNDED:  # expired or closed by another caller meanwhile
        db.session.rollback()
        raise Conflict(_("This pack changed meanwhile; reload and try again."), code="pack_changed")
    record(
        admin,
        PACK_REFUND,
        target_type="payment",
        target_id=purchase.payment_id,
        details={
            "reason": reason,
            "purchase_id": purchase.id,
            "amount_paise": refund.amount_paise if refund is not None else 0,
            "refund_id": refund.id if refund is not None else None,
            "credits_left": purchase.credits_left,
            "learner_id": purchase.learner_id,
            "unused_paise": amount,
        },
        origin=origin,
    )
    db.session.commit()
    outbox.dispatch()
    if refund is not None:
        refunds.dispatch_refund(refund)
        db.session.refresh(refund)
    return refund


# ---------------------------------------------------------------------------- moves


def move_filters(args, zone):
    """``q`` (learner, mentor or session title) and ``date_from``/``date_to`` (the day moved)."""
    errors = {}
    q = _text(args, "q", errors)
    moved_from, moved_before = _day_range(args, zone, errors)
    return _finish(errors, {"q": q, "moved_from": moved_from, "moved_before": moved_before})


def find_moves(*, q="", moved_from=None, moved_before=None, page=1, per_page=ADMIN_PER_PAGE):
    """One page of bookings a learner moved to another session, most recently moved first."""
    conditions = [Booking.moved_at.is_not(None)]
    for term in q.split():
        conditions.append(
            or_(
                _people(Booking.learner_id, term),
                Booking.session_id.in_(
                    select(LearningSession.id).where(
                        or_(_contains(LearningSession.title, term), _people(LearningSession.mentor_id, term))
                    )
                ),
            )
        )
    if moved_from:
        conditions.append(Booking.moved_at >= moved_from)
    if moved_before:
        conditions.append(Booking.moved_at < moved_before)
    query = select(Booking).where(*conditions)
    return paginate(query.order_by(Booking.moved_at.desc(), Booking.id.desc()), page=page, per_page=per_page)


def move_details(bookings):
    """{booking id: {"from": the session it left or None, "refunds": [...], "charges": [...]}}.

    The booking row itself moves. Where it came from is the last move's: a paid move's order
    names its from-session (``MoveOrder``); a move without a charge is read off the notice sent
    to the learner at the move (its ``from_session_id``). Refunds are those moves made
    (``booking-<id>-move-…``); charges are the move orders paid (or being paid) for a dearer
    session, each with its payment."""
    ids = [b.id for b in bookings]
    details = {booking_id: {"from": None, "refunds": [], "charges": []} for booking_id in ids}
    if not ids:
        return details
    came_from = {}  # booking id: (when, session id), the latest wins
    notices = db.session.scalars(
        select(Notification)
        .where(
            Notification.kind == NotificationKind.SESSION_RESCHEDULED.value,
            Notification.user_id.in_({b.learner_id for b in bookings}),
        )
        .order_by(Notification.id)
    )
    for notice in notices:
        data = notice.data or {}
        if data.get("booking_id") in details and data.get("from_session_id"):
            came_from[data["booking_id"]] = (notice.created_at, data["from_session_id"])
    orders = db.session.scalars(select(MoveOrder).where(MoveOrder.booking_id.in_(ids)).order_by(MoveOrder.id))
    for order in orders:
        details[order.booking_id]["charges"].append(order)
        if order.status == MoveOrderStatus.MOVED and order.settled_at is not None:
            known = came_from.get(order.booking_id)
            if known is None or known[0] <= order.settled_at:
                came_from[order.booking_id] = (order.settled_at, order.from_session_id)
    from_ids = {session_id for _when, session_id in came_from.values()}
    sessions = {
        s.id: s for s in db.session.scalars(select(LearningSession).where(LearningSession.id.in_(from_ids)))
    }
    for booking_id, (_when, session_id) in came_from.items():
        details[booking_id]["from"] = sessions.get(session_id)
    refund_rows = db.session.execute(
        select(Payment.booking_id, Refund)
        .join(Payment, Payment.id == Refund.payment_id)
        .where(
            Payment.booking_id.in_(ids),
            or_(*(Refund.idempotency_key.startswith(f"booking-{i}-move-", autoescape=True) for i in ids)),
        )
        .order_by(Refund.id)
    )
    for booking_id, refund in refund_rows:
        details[booking_id]["refunds"].append(refund)
    return details


# ---------------------------------------------------------------------------- webhooks


def endpoint_filters(args):
    """``q`` (owner's name or email, or part of the URL) and ``state`` (enabled or disabled)."""
    errors = {}
    values = {"q": _text(args, "q", errors), "state": _choice(args, "state", ENDPOINT_STATES, errors)}
    return _finish(errors, values)


def find_endpoints(*, q="", state=None, page=1, per_page=ADMIN_PER_PAGE):
    """One page of every owner's webhook endpoints, disabled ones first, then newest."""
    conditions = []
    if state:
        conditions.append(WebhookEndpoint.enabled.is_(state == "enabled"))
    for term in q.split():
        conditions.append(or_(_contains(WebhookEndpoint.url, term), _people(WebhookEndpoint.user_id, term)))
    query = select(WebhookEndpoint).where(*conditions)
    ordered = query.order_by(WebhookEndpoint.enabled, WebhookEndpoint.id.desc())
    return paginate(ordered, page=page, per_page=per_page)


def last_deliveries(endpoint_ids):
    """{endpoint id: its latest delivery}."""
    if not endpoint_ids:
        return {}
    latest = (
        select(func.max(WebhookDelivery.id))
        .where(WebhookDelivery.endpoint_id.in_(endpoint_ids))
        .group_by(WebhookDelivery.endpoint_id)
    )
    rows = db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.id.in_(latest)))
    return {delivery.endpoint_id: delivery for delivery in rows}


def delivery_filters(args):
    """``endpoint_id``, ``status`` and ``event`` (the event type)."""
    errors = {}
    values = {
        "endpoint_id": arg_whole(args, "endpoint_id", errors),
        "status": _choice(args, "status", DELIVERY_STATES, errors),
        "event_type": _choice(args, "event", EVENT_TYPES, errors),
    }
    return _finish(errors, values)


def find_deliveries(*, endpoint_id=None, status=None, event_type=None, page=1, per_page=ADMIN_PER_PAGE):
    """One page of the delivery log of every endpoint, newest first."""
    conditions = []
    if endpoint_id is not None:
        conditions.append(WebhookDelivery.endpoint_id == endpoint_id)
    if status:
        conditions.append(WebhookDelivery.status == status)
    if event_type:
        conditions.append(WebhookDelivery.event_type == event_type)
    query = select(WebhookDelivery).where(*conditions)
    return paginate(query.order_by(WebhookDelivery.id.desc()), page=page, per_page=per_page)


@use_case
def redeliver(admin, delivery_id, *, origin=None):
    """Send a delivery's event again to its endpoint (services.webhooks.redeliver: a new delivery,
    same event id and payload), audited. Returns the new delivery."""
    _require_admin(admin)
    original = db.session.get(WebhookDelivery, delivery_id)
    if original is None:
        raise NotFound(_("No such delivery."))
    endpoint = original.endpoint
    record(
        admin,
        WEBHOOK_REDELIVER,
        target_type="webhook",
        target_id=endpoint.id,
        details={"delivery_id": original.id, "event": original.event_type, "owner_id": endpoint.user_id},
        origin=origin,
    )
    # The owner's own redelivery: it commits the audit entry with the new delivery.
    return webhooks.redeliver(endpoint.user, original.id)


@use_case
def enable_endpoint(admin, endpoint_id, *, origin=None):
    """Enable a disabled endpoint again (its failures forgotten), audited with why it had been
    disabled. Returns the endpoint."""
    _require_admin(admin)
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(_("No such webhook."))
    if endpoint.enabled:
        raise Conflict(_("This webhook is already enabled."), code="already_enabled")
    record(
        admin,
        WEBHOOK_ENABLE,
        target_type="webhook",
        target_id=endpoint.id,
        details={"previous_reason": endpoint.disabled_reason, "owner_id": endpoint.user_id},
        origin=origin,
    )
    return webhooks.set_enabled(endpoint.user, endpoint.id, True)
