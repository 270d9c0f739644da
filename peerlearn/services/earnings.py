"""Mentors' money, from the ledger: the words for its states, the figures every page shows, monthly
statements, and payout requests. The dashboard, the earnings page, ``/api/earnings/``, the
statement and the emails all take their words and amounts from here.

A mentor's earning entries (``mentor_earning`` and ``earning_reversal``) are grouped by the
payment they belong to (a booking or a gift), and each payment's earning is in one state:

- **frozen** while the payment has an open Dispute (a learner reported a problem);
- else **available** once its session's ``settles_at`` has passed (held sessions settle
  ``SETTLEMENT_HOURS`` after their end);
- else **pending**.

A refund reserved but not processed yet has not reversed its earning in the ledger; the mentor's
share of it (rounded up) is taken off its payment's earning here already (``refunding_paise``), so
money on its way back to a learner is never counted as earned or paid out.

Settled money is available, in payout (requested, not paid yet) or paid out, so
``available = settled − paid out − in payout``. It is negative when a refund came after a payout:
the mentor owes that much, and later earnings repay it. To the paisa:
``earned = pending + frozen + available + in payout + paid out``.

"Earned this month" counts held (completed) sessions only, in the month the session ended in
the mentor's timezone: bookings and gifts, net of refunds. ``by_month`` groups held sessions the
same way, so its row for this month is that figure, and the dashboard's charts are its bars.
"""

import csv
import io
import re
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, case, func, select, update
from sqlalchemy.orm import aliased

from .. import events, system_texts
from ..exceptions import Conflict, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..formats import format_inr
from ..models import (
    Dispute,
    DisputeStatus,
    EntryKind,
    LearningSession,
    LedgerEntry,
    Payment,
    PaymentPurpose,
    PaymentStatus,
    Payout,
    PayoutStatus,
    Refund,
    RefundStatus,
    SessionStatus,
    User,
    utcnow,
)
from ..periods import month_periods
from . import audit, outbox, payout_accounts
from .transactions import use_case

EARNING_KINDS = (EntryKind.MENTOR_EARNING.value, EntryKind.EARNING_REVERSAL.value)
MIN_PAYOUT_PAISE = 100

PENDING, AVAILABLE, IN_PAYOUT, PAID_OUT, FROZEN = "pending", "available", "in_payout", "paid_out", "frozen"


@dataclass(frozen=True)
class MoneyWord:
    """A state of a mentor's money: its key, and its name and meaning in the reader's language."""

    key: str
    lazy_label: object
    lazy_definition: object

    @property
    def label(self):
        return str(self.lazy_label)

    @property
    def definition(self):
        return str(self.lazy_definition)


# The one vocabulary of a mentor's money, in the order pages show it.
MONEY_STATES = {
    word.key: word
    for word in (
        MoneyWord(
            PENDING,
            _l("Pending"),
            _l(
                "Not settled yet: the session hasn't been held yet, or was held too recently "
                "(learners can still report a problem)."
            ),
        ),
        MoneyWord(AVAILABLE, _l("Available"), _l("Settled and yours: it can be paid out.")),
        MoneyWord(IN_PAYOUT, _l("In payout"), _l("Requested for payout; not paid yet.")),
        MoneyWord(PAID_OUT, _l("Paid out"), _l("Sent to your payout account.")),
        MoneyWord(
            FROZEN,
            _l("Frozen"),
            _l("Under dispute: a learner reported a problem, and an admin hasn't decided yet."),
        ),
    )
}
# Money past pending, wherever it is now: available, in payout or paid out.
SETTLED = MoneyWord("settled", _l("Settled"), _l("Past pending: available, in payout or paid out."))
EARNED_THIS_MONTH = MoneyWord(
    "earned_this_month",
    _l("Earned this month"),
    _l(
        "Your share from sessions held this month (by when they ended, in your timezone), bookings and "
        "gifts, net of refunds."
    ),
)
# A statement line of a payment refunded in full: none of it is the mentor's, in any state.
REFUNDED = MoneyWord("refunded", _l("Refunded"), _l("Paid back to the learner in full: none of it is yours."))
GIFTS = MoneyWord("gifts", _l("Gifts"), _l("Tips learners sent you in the room, after the platform fee."))
BOOKINGS = MoneyWord("bookings", _l("Bookings"), _l("Your share of seats sold, after the platform fee."))
# The states a payment's earning can be in (the others are where settled money went).
EARNING_STATES = (PENDING, FROZEN, AVAILABLE)

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def state_label(key):
    if key == REFUNDED.key:
        return REFUNDED.label
    return MONEY_STATES[key].label if key in MONEY_STATES else SETTLED.label


def _state_of(payment_id, now):
    """A payment's earning state, as SQL: frozen under an open dispute, else available once its
    session settled, else pending."""
    disputed = (
        select(Dispute.id)
        .where(Dispute.payment_id == payment_id, Dispute.status == DisputeStatus.OPEN.value)
        .exists()
    )
    return case(
        (disputed, FROZEN),
        (LearningSession.settles_at <= now, AVAILABLE),
        else_=PENDING,
    )


def _zone(tz):
    return ZoneInfo(tz or "UTC")


def month_key(moment, tz):
    return moment.astimezone(_zone(tz)).strftime("%Y-%m")


def month_label(month):
    """'2026-12' -> 'Dec 2026'."""
    return datetime.strptime(month, "%Y-%m").strftime("%b %Y")


def month_bounds(month, tz):
    """The first instant of ``month`` ('YYYY-MM') in ``tz`` and of the next one. ValueError if
    it is not a month."""
    match = _MONTH.fullmatch(month or "")
    if not match:
        raise ValueError(f"not a month: {month!r}")
    year, number = int(match.group(1)), int(match.group(2))
    if not (2000 <= year <= 2999 and 1 <= number <= 12):
        raise ValueError(f"not a month: {month!r}")
    zone = _zone(tz)
    following = date(year + number // 12, number % 12 + 1, 1)
    return (
        datetime(year, number, 1, tzinfo=zone),
        datetime(following.year, following.month, 1, tzinfo=zone),
    )


@dataclass
class _Share:
    """Earnings of one session, one purpose (booking or gift), in one state."""

    session_id: int | None
    title: str
    status: str | None
    starts_at: datetime | None
    ended_at: datetime | None
    settles_at: datetime | None
    purpose: str
    state: str
    amount: int

    @property
    def held(self):
        return self.status == SessionStatus.COMPLETED

    @property
    def dated(self):
        """When the session ended (held), or starts or started (otherwise)."""
        return self.ended_at or self.starts_at


# The statements of ``Money``, built once and run with the parameters ``mentor_id`` and ``now``:
# SQLAlchemy keeps a statement's cache key on the object, so a prebuilt statement skips building
# the expression and working out its key each time (more CPU than running it).
_PREBUILT = {}


def _prebuilt(key, build):
    statement = _PREBUILT.get(key)
    if statement is None:
        statement = _PREBUILT[key] = build()
    return statement


def _shares_statement():
    now = bindparam("now")
    inner = (
        select(
            LedgerEntry.session_id.label("session_id"),
            LearningSession.title.label("title"),
            LearningSession.status.label("status"),
            LearningSession.starts_at.label("starts_at"),
            LearningSession.ended_at.label("ended_at"),
            LearningSession.settles_at.label("settles_at"),
            # A pack credit, or a move's difference, pays for a booking: counted with the bookings'.
            case(
                (
                    Payment.purpose.in_((PaymentPurpose.PACK.value, PaymentPurpose.MOVE.value)),
                    PaymentPurpose.BOOKING.value,
                ),
                else_=Payment.purpose,
            ).label("purpose"),
            _state_of(LedgerEntry.payment_id, now).label("state"),
            LedgerEntry.amount_paise.label("amount"),
        )
        .join(Payment, Payment.id == LedgerEntry.payment_id)
        .outerjoin(LearningSession, LearningSession.id == LedgerEntry.session_id)
        .where(LedgerEntry.mentor_id == bindparam("mentor_id"), LedgerEntry.kind.in_(EARNING_KINDS))
        .subquery()
    )
    keys = [c for c in inner.c if c.name != "amount"]
    return select(*keys, func.sum(inner.c.amount)).group_by(*keys)


def _pending_refunds_statement():
    earning = aliased(LedgerEntry)
    return (
        select(
            earning.session_id,
            case(
                (Payment.purpose == PaymentPurpose.MOVE.value, PaymentPurpose.BOOKING.value),
                else_=Payment.purpose,
            ),
            _state_of(Payment.id, bindparam("now")),
            Refund.amount_paise,
            Payment.amount_paise,
            earning.amount_paise,
        )
        .select_from(Refund)
        .join(Payment, Payment.id == Refund.payment_id)
        .join(
            earning,
            and_(
                earning.payment_id == Payment.id,
                earning.kind == EntryKind.MENTOR_EARNING.value,
                earning.refund_id.is_(None),
            ),
        )
        .outerjoin(LearningSession, LearningSession.id == earning.session_id)
        .where(
            Payment.mentor_id == bindparam("mentor_id"),
            Refund.status == RefundStatus.PENDING.value,
            # A pack's refunds give back money held for the learner, never the mentor's earning.
            Payment.purpose != PaymentPurpose.PACK.value,
        )
    )


def _payouts_statement():
    """What was paid out and what waits in a requested payout: one statement, two sums."""
    mentor_id = bindparam("mentor_id")
    paid_out = select(func.coalesce(func.sum(LedgerEntry.amount_paise), 0)).where(
        LedgerEntry.mentor_id == mentor_id, LedgerEntry.kind == EntryKind.PAYOUT.value
    )
    in_payout = select(func.coalesce(func.sum(Payout.amount_paise), 0)).where(
        Payout.mentor_id == mentor_id, Payout.status == PayoutStatus.REQUESTED.value
    )
    return select(paid_out.scalar_subquery(), in_payout.scalar_subquery())


class Money:
    """One mentor's money at ``now``, read once (three statements) and shown many ways."""

    def __init__(self, mentor_id, *, now=None, tz=None):
        self.mentor_id = mentor_id
        self.now = now or utcnow()
        if tz is None:
            tz = db.session.scalar(select(User.timezone).where(User.id == mentor_id)) or "UTC"
        self.tz = tz
        self.shares = self._read_shares()
        self._months = None
        self.refunding = self._take_off_pending_refunds()
        paid, requested = db.session.execute(_prebuilt("payouts", _payouts_statement), self._params()).one()
        self.paid_out, self.in_payout = -int(paid), int(requested)

    # --- reading

    def _params(self):
        return {"mentor_id": self.mentor_id, "now": self.now}

    def _read_shares(self):
        rows = db.session.execute(_prebuilt("shares", _shares_statement), self._params()).all()
        return {
            (row.session_id, row.purpose, row.state): _Share(
                session_id=row.session_id,
                title=row.title or "",
                status=row.status,
                starts_at=row.starts_at,
                ended_at=row.ended_at,
                settles_at=row.settles_at,
                purpose=row.purpose,
                state=row.state,
                amount=int(row[-1]),
            )
            for row in rows
        }

    def _take_off_pending_refunds(self):
        """Subtract the mentor's share of each reserved, unprocessed refund (rounded up) from its
        payment's earning; returns the total."""
        rows = db.session.execute(
            _prebuilt("pending_refunds", _pending_refunds_statement), self._params()
        ).all()
        total = 0
        for session_id, purpose, state, refund, paid, earned in rows:
            share = -(-refund * earned // paid)
            total += share
            key = (session_id, purpose, state)
            if key in self.shares:
                self.shares[key].amount -= share
            else:  # the payment's earning is in another bucket only if its state changed between reads
                self.shares[key] = _Share(session_id, "", None, None, None, None, purpose, state, -share)
        return total

    # --- figures

    def _totals(self, shares):
        totals = dict.fromkeys(EARNING_STATES, 0)
        for share in shares:
            totals[share.state] += share.amount
        return totals

    def _split(self, shares):
        totals = self._totals(shares)
        return {
            "earned_paise": sum(totals.values()),
            "pending_paise": totals[PENDING],
            "frozen_paise": totals[FROZEN],
            "settled_paise": totals[AVAILABLE],
        }

    def summary(self):
        """The cards: every figure in paise. ``available_paise`` is the balance that can be paid out
        (negative when owed); ``requested_paise`` is the old name of ``in_payout_paise``."""
        shares = list(self.shares.values())
        totals = self._totals(shares)
        settled = totals[AVAILABLE]
        available = settled - self.paid_out - self.in_payout
        return {
            "earned_paise": sum(totals.values()),
            "pending_paise": totals[PENDING],
            "available_paise": available,
            "paid_out_paise": self.paid_out,
            "requested_paise": self.in_payout,
            "refunding_paise": self.refunding,
            "currency": "INR",
            "in_payout_paise": self.in_payout,
            "frozen_paise": totals[FROZEN],
            "settled_paise": settled,
            "balance_owed_paise": max(0, -available),
            "earned_this_month_paise": self.earned_this_month(),
            "month": month_key(self.now, self.tz),
            "timezone": self.tz,
            "bookings": self._split(s for s in shares if s.purpose == PaymentPurpose.BOOKING),
            "gifts": self._split(s for s in shares if s.purpose == PaymentPurpose.GIFT),
        }

    def by_session(self):
        """Per session with earnings, latest first: what it earned, split by purpose and state."""
        sessions = {}
        for share in self.shares.values():
            row = sessions.get(share.session_id)
            if row is None:
                row = sessions[share.session_id] = {
                    "session_id": share.session_id,
                    "title": share.title,
                    "starts_at": share.starts_at,
                    "ended_at": share.ended_at,
                    "status": share.status,
                    "held": share.held,
                    "settles_at": share.settles_at,
                    "earned_paise": 0,
                    "bookings_paise": 0,
                    "gifts_paise": 0,
                    "pending_paise": 0,
                    "frozen_paise": 0,
                    "settled_paise": 0,
                    "_dated": share.dated,
                }
            if share.title and not row["title"]:
                row.update(title=share.title, starts_at=share.starts_at, status=share.status)
            row["earned_paise"] += share.amount
            row[f"{share.purpose}s_paise"] += share.amount
            row[
                {PENDING: "pending_paise", FROZEN: "frozen_paise", AVAILABLE: "settled_paise"}[share.state]
            ] += share.amount
        epoch = datetime.min.replace(tzinfo=ZoneInfo("UTC"))
        rows = sorted(
            sessions.values(), key=lambda r: (r["_dated"] or epoch, r["session_id"] or 0), reverse=True
        )
        for row in rows:
            del row["_dated"]
        return rows

    def _held_months(self):
        """Held shares by the month (in the mentor's timezone) their session ended; worked out
        once per read, as the cards and the charts both ask."""
        if self._months is None:
            self._months = defaultdict(list)
            for share in self.shares.values():
                if share.held and share.dated is not None:
                    self._months[month_key(share.dated, self.tz)].append(share)
        return self._months

    def by_month(self):
        """Held sessions by the month they ended in (the mentor's timezone), latest first."""
        rows = []
        for month, shares in sorted(self._held_months().items(), reverse=True):
            split = self._split(shares)
            rows.append(
                {
                    "month": month,
                    "label": month_label(month),
                    **split,
                    "bookings_paise": sum(s.amount for s in shares if s.purpose == PaymentPurpose.BOOKING),
                    "gifts_paise": sum(s.amount for s in shares if s.purpose == PaymentPurpose.GIFT),
                    "sessions": len({s.session_id for s in shares}),
                }
            )
        return rows

    def earned_this_month(self):
        shares = self._held_months().get(month_key(self.now, self.tz), [])
        return sum(share.amount for share in shares)

    def held_by_periods(self, periods):
        """Held sessions' earnings per period (by when each ended): (bookings, gifts), each a list
        with one value per period. ``periods`` have aware ``start`` (inclusive) and ``end``."""
        bookings, gifts = [0] * len(periods), [0] * len(periods)
        if not periods:
            return bookings, gifts
        # Periods are in order: find each share's by bisection, not by trying every period.
        starts = [period.start for period in periods]
        first, last = periods[0].start, periods[-1].end
        for share in self.shares.values():
            dated = share.dated
            if not share.held or dated is None or not first <= dated < last:
                continue
            index = bisect_right(starts, dated) - 1
            if dated < periods[index].end:
                (bookings if share.purpose == PaymentPurpose.BOOKING else gifts)[index] += share.amount
        return bookings, gifts


def load(mentor_id, *, now=None, tz=None):
    return Money(mentor_id, now=now, tz=tz)


def summary(mentor_id, now=None, tz=None):
    """Totals in paise (see ``Money.summary``)."""
    return load(mentor_id, now=now, tz=tz).summary()


def by_session(mentor_id, now=None, tz=None):
    return load(mentor_id, now=now, tz=tz).by_session()


def by_month(mentor_id, now=None, tz=None):
    return load(mentor_id, now=now, tz=tz).by_month()


# ------------------------------------------------------------------------------- statements

STATEMENT_KINDS = {
    "booking": _l("Booking"),
    "gift": _l("Gift"),
    "refund": _l("Refund"),
    "dispute_refund": _l("Dispute refund"),
    "payout": _l("Payout"),
    "payout_requested": _l("Payout requested"),
}


PAYOUT_HISTORY_LIMIT = 100


def mentor_payouts(mentor_id, *, limit=PAYOUT_HISTORY_LIMIT):
    """The mentor's payouts, latest first: the ``limit`` most recent."""
    return list(
        db.session.scalars(
            select(Payout)
            .where(Payout.mentor_id == mentor_id)
            .order_by(Payout.created_at.desc(), Payout.id.desc())
            .limit(limit)
        )
    )


def statement_months(mentor_id, *, now=None, tz=None):
    """The months ('YYYY-MM', the mentor's timezone) in which the mentor's money moved (ledger
    entries) or a payout was requested, latest first."""
    now = now or utcnow()
    moments = [
        *db.session.scalars(
            select(func.min(LedgerEntry.created_at)).where(
                LedgerEntry.mentor_id == mentor_id,
                LedgerEntry.kind.in_((*EARNING_KINDS, EntryKind.PAYOUT.value)),
            )
        ),
        *db.session.scalars(select(func.min(Payout.created_at)).where(Payout.mentor_id == mentor_id)),
    ]
    moments = [m for m in moments if m is not None]
    if not moments:
        return []
    first = min(moments).astimezone(_zone(tz))
    local_now = now.astimezone(_zone(tz))
    count = (local_now.year - first.year) * 12 + local_now.month - first.month + 1
    periods = month_periods(now, tz or "UTC", count=max(count, 1))
    active = set()
    for column, where in (
        (
            LedgerEntry.created_at,
            and_(
                LedgerEntry.mentor_id == mentor_id,
                LedgerEntry.kind.in_((*EARNING_KINDS, EntryKind.PAYOUT.value)),
            ),
        ),
        (Payout.created_at, Payout.mentor_id == mentor_id),
    ):
        bucket = case(*((column >= p.start, i) for i, p in reversed(list(enumerate(periods))))).label(
            "bucket"
        )
        inner = select(bucket).where(where, column >= periods[0].start, column < periods[-1].end).subquery()
        active.update(
            int(b)
            for (b,) in db.session.execute(select(inner.c.bucket).group_by(inner.c.bucket))
            if b is not None
        )
    return [periods[i].key for i in sorted(active, reverse=True)]


def statement(mentor_id, month, *, now=None, tz=None):
    """One month of a mentor's money: the opening balance, every line (booking earnings, gifts,
    refunds, dispute refunds, payouts, payouts requested), the closing balance and the state of
    each line now. The balance is the ledger's: earnings net of refunds, less what was paid out.
    Months are in the mentor's timezone. NotFound for a malformed or future month."""
    now = now or utcnow()
    if tz is None:
        tz = db.session.scalar(select(User.timezone).where(User.id == mentor_id)) or "UTC"
    try:
        start, end = month_bounds(month, tz)
    except ValueError as exc:
        raise NotFound(_("No such month (use YYYY-MM).")) from exc
    if start > now:
        raise NotFound(_("That month hasn't started yet."))
    kinds = (*EARNING_KINDS, EntryKind.PAYOUT.value)
    opening = int(
        db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount_paise), 0)).where(
                LedgerEntry.mentor_id == mentor_id,
                LedgerEntry.kind.in_(kinds),
                LedgerEntry.created_at < start,
            )
        )
    )
    payer = aliased(User)
    disputed_refund = select(Dispute.id).where(Dispute.refund_id == LedgerEntry.refund_id).exists()
    rows = db.session.execute(
        select(
            LedgerEntry.id,
            LedgerEntry.kind,
            LedgerEntry.amount_paise,
            LedgerEntry.created_at,
            LedgerEntry.session_id,
            LearningSession.title,
            Payment.purpose,
            Payment.amount_paise,
            Payment.status,
            payer.name,
            Refund.reason,
            disputed_refund,
            Payout.id,
            Payout.account_masked,
            Payout.reference,
            _state_of(LedgerEntry.payment_id, now),
        )
        .select_from(LedgerEntry)
        .outerjoin(Payment, Payment.id == LedgerEntry.payment_id)
        .outerjoin(payer, payer.id == Payment.payer_id)
        .outerjoin(LearningSession, LearningSession.id == LedgerEntry.session_id)
        .outerjoin(Refund, Refund.id == LedgerEntry.refund_id)
        .outerjoin(Payout, Payout.id == LedgerEntry.payout_id)
        .where(
            LedgerEntry.mentor_id == mentor_id,
            LedgerEntry.kind.in_(kinds),
            LedgerEntry.created_at >= start,
            LedgerEntry.created_at < end,
        )
        .order_by(LedgerEntry.created_at, LedgerEntry.id)
    ).all()

    lines = []
    for (
        _id,
        kind,
        amount,
        at,
        session_id,
        title,
        purpose,
        paid,
        payment_status,
        payer_name,
        reason,
        is_dispute,
        payout_id,
        masked,
        reference,
        state,
    ) in rows:
        line = {
            "at": at,
            "amount_paise": int(amount),
            "counted": True,
            "session_id": session_id,
            "session_title": title or "",
            "learner": payer_name or "",
            "state": REFUNDED.key if payment_status == PaymentStatus.REFUNDED else state,
        }
        if kind == EntryKind.PAYOUT:
            line.update(
                kind="payout",
                state=PAID_OUT,
                learner="",
                description=_(
                    "Payout #%(id)s to %(account)s", id=payout_id, account=masked or _("your payout account")
                )
                + (" · " + _("reference %(reference)s", reference=reference) if reference else ""),
            )
        elif kind == EntryKind.MENTOR_EARNING:
            if purpose == PaymentPurpose.GIFT:
                line.update(
                    kind="gift",
                    description=_(
                        "Gift from %(name)s (%(amount)s sent)", name=payer_name, amount=format_inr(paid)
                    ),
                )
            elif purpose == PaymentPurpose.PACK:
                line.update(
                    kind="booking",
                    description=_("Seat booked by %(name)s with a pack credit", name=payer_name),
                )
            else:
                line.update(
                    kind="booking",
                    description=_(
                        "Seat booked by %(name)s (%(amount)s paid)", name=payer_name, amount=format_inr(paid)
                    ),
                )
        else:
            line.update(
                kind="dispute_refund" if is_dispute else "refund",
                description=_("Refund to %(name)s", name=payer_name)
                + (f": {system_texts.translate(reason)}" if reason else ""),
            )
        lines.append(line)
    for payout in db.session.scalars(
        select(Payout)
        .where(
            Payout.mentor_id == mentor_id,
            Payout.status == PayoutStatus.REQUESTED.value,
            Payout.created_at >= start,
            Payout.created_at < end,
        )
        .order_by(Payout.created_at, Payout.id)
    ):
        lines.append(
            {
                "at": payout.created_at,
                "amount_paise": 0,
                "requested_paise": payout.amount_paise,
                "counted": False,
                "session_id": None,
                "session_title": "",
                "learner": "",
                "state": IN_PAYOUT,
                "kind": "payout_requested",
                "description": _(
                    "Payout #%(id)s of %(amount)s requested to %(account)s; taken off the balance when paid",
                    id=payout.id,
                    amount=format_inr(payout.amount_paise),
                    account=payout.account_masked or _("your payout account"),
                ),
            }
        )
    lines.sort(key=lambda line: line["at"])
    balance = opening
    for line in lines:
        line["kind_label"] = str(STATEMENT_KINDS[line["kind"]])
        line["state_label"] = state_label(line["state"])
        if line["counted"]:
            balance += line["amount_paise"]
            line["balance_paise"] = balance
        else:
            line["balance_paise"] = None
    totals = defaultdict(int)
    for line in lines:
        if line["counted"]:
            totals[line["kind"]] += line["amount_paise"]
    result = {
        "month": month,
        "label": month_label(month),
        "timezone": tz,
        "start": start,
        "end": end,
        "opening_paise": opening,
        "closing_paise": balance,
        "lines": lines,
        "totals": {kind: totals.get(kind, 0) for kind in STATEMENT_KINDS if kind != "payout_requested"},
        "current": start <= now < end,
        # The closing balance is the balance at this moment: the month's end, or now.
        "as_of": min(now, end),
        "currency": "INR",
    }
    if result["current"]:
        # The closing balance now, by where the money is: it adds up to the paisa.
        money = load(mentor_id, now=now, tz=tz).summary()
        result["now"] = {
            "pending_paise": money["pending_paise"],
            "frozen_paise": money["frozen_paise"],
            "available_paise": money["available_paise"],
            "in_payout_paise": money["in_payout_paise"],
            "refunding_paise": money["refunding_paise"],
        }
    return result


def rupees(paise):
    """Exact rupees for files: 44000 -> '440.00', -5 -> '-0.05'."""
    sign = "-" if paise < 0 else ""
    whole, rest = divmod(abs(int(paise)), 100)
    return f"{sign}{whole}.{rest:02d}"


def _cell(text):
    """Text that a spreadsheet would run as a formula is kept as text."""
    text = str(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def statement_csv(data):
    """The statement as CSV: amounts in rupees with exact paise, times in the mentor's timezone."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    zone = _zone(data["timezone"])
    writer.writerow(
        [
            _("Date"),
            _("Type"),
            _("Description"),
            _("Session"),
            _("Learner"),
            _("State"),
            _("Amount (INR)"),
            _("Balance (INR)"),
        ]
    )
    writer.writerow(
        [
            data["start"].strftime("%Y-%m-%d 00:00"),
            _("Opening balance"),
            "",
            "",
            "",
            "",
            "",
            rupees(data["opening_paise"]),
        ]
    )
    for line in data["lines"]:
        writer.writerow(
            [
                line["at"].astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                line["kind_label"],
                _cell(line["description"]),
                _cell(line["session_title"]),
                _cell(line["learner"]),
                line["state_label"],
                rupees(line["amount_paise"]) if line["counted"] else "",
                rupees(line["balance_paise"]) if line["counted"] else "",
            ]
        )
    closing_at = data["as_of"].astimezone(zone).strftime("%Y-%m-%d %H:%M")
    writer.writerow(
        [
            closing_at + (" (so far)" if data["current"] else ""),
            _("Closing balance"),
            "",
            "",
            "",
            "",
            rupees(data["closing_paise"] - data["opening_paise"]),
            rupees(data["closing_paise"]),
        ]
    )
    return out.getvalue()


# ------------------------------------------------------------------------------- payouts


class _WholeBalance:
    """What ``request_payout`` is given to ask for everything available."""

    def __repr__(self):
        return "WHOLE_BALANCE"


# Asking for the whole balance is said explicitly: a missing or null amount (None) is refused,
# so no caller pays out everything by forgetting to pass the amount.
WHOLE_BALANCE = _WholeBalance()


@use_case
def request_payout(mentor, amount_paise=WHOLE_BALANCE, *, now=None):
    """Ask for a payout of ``amount_paise`` (``WHOLE_BALANCE``, the default: everything
    available) to the mentor's payout details.

    Requests of one mentor run one at a time: the transaction starts by writing the mentor's
    users row (a no-op update), which PostgreSQL locks until commit and which takes SQLite's
    write lock, so the balance is read after every earlier request committed. Pending and frozen
    money is never in the balance, so no request can include it, however many arrive at once.
    """
    if not mentor.is_mentor:
        raise PermissionDenied(_("Only mentors have earnings."))
    if amount_paise is not WHOLE_BALANCE and (
        isinstance(amount_paise, bool) or not isinstance(amount_paise, int) or amount_paise < MIN_PAYOUT_PAISE
    ):
        raise ValidationError(
            _("A payout is at least ₹1."), fields={"amount_paise": [_("Enter at least 100 paise.")]}
        )
    mentor_id = mentor.id
    # Whatever this session read so far ends here: the lock must open the transaction.
    db.session.commit()
    locked = db.session.execute(
        update(User)
        .where(User.id == mentor_id, User.suspended_at.is_(None))
        .values(updated_at=User.updated_at)
        .execution_options(synchronize_session=False)
    ).rowcount
    if locked != 1:
        db.session.rollback()
        raise PermissionDenied(_("This account can't request payouts."), code="account_suspended")

    account = payout_accounts.account_of(mentor_id)
    if account is None:
        db.session.rollback()
        raise Conflict(
            _("Add your payout details (a UPI id or a bank account) before asking for a payout."),
            code="payout_details_required",
        )
    available = load(mentor_id, now=now, tz="UTC").summary()["available_paise"]
    if amount_paise is WHOLE_BALANCE:
        amount_paise = available
        if amount_paise < MIN_PAYOUT_PAISE:
            db.session.rollback()
            raise ValidationError(
                _("A payout is at least ₹1, and less is available."),
                fields={"amount_paise": [_("Less than ₹1 is available.")]},
            )
    if amount_paise > available:
        db.session.rollback()
        raise Conflict(_("That is more than your available balance."), code="insufficient_balance")
    payout = Payout(
        mentor_id=mentor_id,
        amount_paise=amount_paise,
        account_kind=account.kind,
        account_masked=account.masked,
        account_encrypted=account.details_encrypted,
    )
    db.session.add(payout)
    db.session.commit()
    return payout


def _decide(admin, payout_id, action, details, origin, **values):
    """Move a requested payout to paid or rejected, once, and write the admin's audit entry
    beside it (uncommitted; the caller commits both or rolls both back); returns the payout."""
    if not admin.is_admin:
        raise PermissionDenied(_("Only admins can decide payouts."))
    payout = db.session.get(Payout, payout_id)
    if payout is None:
        raise NotFound(_("No such payout."))
    now = utcnow()
    won = db.session.execute(
        update(Payout)
        .where(Payout.id == payout.id, Payout.status == PayoutStatus.REQUESTED.value)
        .values(decided_by_id=admin.id, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        raise Conflict(_("This payout was already decided."), code="payout_decided")
    audit.record(
        admin,
        action,
        target_type="payout",
        target_id=payout.id,
        details={
            "amount_paise": payout.amount_paise,
            "mentor_id": payout.mentor_id,
            "to": payout.account_masked,
            **details,
        },
        origin=origin,
    )
    db.session.refresh(payout)
    return payout


@use_case
def mark_payout_paid(admin, payout_id, reference, *, origin=None):
    """An admin transferred the money: the reference, the ledger's payout entry and the audit
    entry (``origin``: where the admin acted from) are committed together, or none of them."""

    reference = (reference or "").strip()
    if admin.is_admin and (not reference or len(reference) > 100):
        raise ValidationError(
            _("Give the bank or UPI reference."), fields={"reference": [_("Required, ≤ 100 characters.")]}
        )
    payout = _decide(
        admin,
        payout_id,
        audit.PAYOUT_PAID,
        {"reference": reference},
        origin,
        status=PayoutStatus.PAID.value,
        reference=reference,
        paid_at=utcnow(),
    )
    db.session.add(
        LedgerEntry(
            kind=EntryKind.PAYOUT.value,
            amount_paise=-payout.amount_paise,
            payout_id=payout.id,
            mentor_id=payout.mentor_id,
        )
    )
    events.record("payout_paid", payout)
    db.session.commit()
    outbox.dispatch()
    db.session.refresh(payout)
    return payout


@use_case
def reject_payout(admin, payout_id, note="", *, origin=None):
    """Decline a request; its amount is available again. The decision and its audit entry are
    committed together, or neither."""
    note = (note or "")[:500]
    payout = _decide(
        admin,
        payout_id,
        audit.PAYOUT_REJECT,
        {"note": note},
        origin,
        status=PayoutStatus.REJECTED.value,
        note=note,
    )
    db.session.commit()
    db.session.refresh(payout)
    return payout
