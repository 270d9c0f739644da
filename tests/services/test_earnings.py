"""A mentor's money from the ledger: its states, the balance a payout may draw on, statements,
and payout requests that can never take pending or frozen money, even twenty at once."""

import csv
import io
import time
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
import time_machine
from sqlalchemy import func, select

from peerlearn.exceptions import Conflict, NotFound, ValidationError
from peerlearn.extensions import db
from peerlearn.models import Dispute, Payout
from peerlearn.services import earnings
from peerlearn.services import refunds as refund_service
from tests.factories import hold, make_session, paid_booking
from tests.money_market import EXPECTED, NOW, TZ, add_upi, dispute, seed
from tests.races import at_once


@pytest.fixture
def clock():
    with time_machine.travel(datetime(2026, 10, 1, tzinfo=UTC), tick=False) as traveller:
        yield traveller


@pytest.fixture
def market(app, make_user, clock):
    assert app.config["PLATFORM_FEE_PERCENT"] == 12
    return seed(make_user, clock)


def test_the_words_are_defined_once():
    assert list(earnings.MONEY_STATES) == ["pending", "available", "in_payout", "paid_out", "frozen"]
    labels = [word.label for word in earnings.MONEY_STATES.values()]
    assert labels == ["Pending", "Available", "In payout", "Paid out", "Frozen"]
    assert all(word.definition.endswith(".") for word in earnings.MONEY_STATES.values())


def test_summary_of_the_seeded_market(market):
    summary = earnings.summary(market.mentor.id)
    assert {
        key: summary[f"{key}_paise"] for key in ("pending", "frozen", "paid_out", "in_payout", "available")
    } == {key: EXPECTED[key] for key in ("pending", "frozen", "paid_out", "in_payout", "available")}
    assert summary["settled_paise"] == EXPECTED["settled"]
    assert summary["earned_paise"] == EXPECTED["earned"]
    # Every paisa earned is in exactly one place.
    assert summary["earned_paise"] == sum(
        summary[f"{key}_paise"] for key in ("pending", "frozen", "available", "in_payout", "paid_out")
    )
    # The old names keep their meaning.
    assert summary["requested_paise"] == summary["in_payout_paise"] and summary["refunding_paise"] == 0
    assert summary["balance_owed_paise"] == 0 and summary["currency"] == "INR"
    assert summary["earned_this_month_paise"] == EXPECTED["earned_this_month"]
    assert summary["gifts"]["earned_paise"] == EXPECTED["gifts"]
    assert summary["bookings"]["earned_paise"] + summary["gifts"]["earned_paise"] == summary["earned_paise"]
    assert summary["gifts"] == {
        "earned_paise": 13200,
        "pending_paise": 4400,
        "frozen_paise": 0,
        "settled_paise": 8800,
    }


def test_by_session_and_by_month_add_up_to_the_cards(market):
    money = earnings.load(market.mentor.id)
    summary, sessions, months = money.summary(), money.by_session(), money.by_month()
    rows = {row["title"]: row for row in sessions}
    assert [row["title"] for row in sessions] == [
        "Ahead",
        "Held and pending",
        "Disputed",
        "Not held",
        "Held and settled",
        "October talk",
    ]
    assert (rows["Held and settled"]["bookings_paise"], rows["Held and settled"]["gifts_paise"]) == (
        66000,
        8800,
    )
    assert rows["Held and settled"]["settled_paise"] == 74800 and rows["Held and settled"]["held"]
    assert (rows["Disputed"]["frozen_paise"], rows["Disputed"]["pending_paise"]) == (35200, 35200)
    assert rows["Not held"]["earned_paise"] == 0 and not rows["Not held"]["held"]
    assert rows["Ahead"]["pending_paise"] == 26400 and not rows["Ahead"]["held"]
    for part in ("pending", "frozen"):
        assert sum(row[f"{part}_paise"] for row in sessions) == summary[f"{part}_paise"]
    assert sum(row["settled_paise"] for row in sessions) == (
        summary["available_paise"] + summary["in_payout_paise"] + summary["paid_out_paise"]
    )
    assert sum(row["earned_paise"] for row in sessions) == summary["earned_paise"]
    # Held sessions only, by the month they ended in India.
    assert [(m["month"], m["earned_paise"]) for m in months] == [
        ("2026-11", EXPECTED["earned_this_month"]),
        ("2026-10", EXPECTED["earned_october"]),
    ]
    assert months[0]["gifts_paise"] == 13200 and months[0]["sessions"] == 3
    assert months[0]["earned_paise"] == summary["earned_this_month_paise"]


def test_a_held_sessions_money_becomes_available_exactly_when_it_settles(market, clock):
    mentor, session = market.mentor, market.sessions["pending"]
    settles_at = session.settles_at
    assert settles_at == datetime(2026, 11, 21, 4, 0, tzinfo=UTC)
    before = earnings.summary(mentor.id, now=settles_at - timedelta(microseconds=1))
    at = earnings.summary(mentor.id, now=settles_at)
    assert at["pending_paise"] == before["pending_paise"] - 30800
    assert at["available_paise"] == before["available_paise"] + 30800
    assert at["earned_paise"] == before["earned_paise"]

    # A payout of it is refused a second before, and accepted at the moment it settles.
    clock.move_to(settles_at - timedelta(seconds=1))
    with pytest.raises(Conflict) as refused:
        earnings.request_payout(mentor, before["available_paise"] + 100)
    assert refused.value.code == "insufficient_balance"
    clock.move_to(settles_at)
    payout = earnings.request_payout(mentor, before["available_paise"] + 30800)
    # By then the disputed session's other seat settled too (the frozen one stays out).
    assert before["available_paise"] == EXPECTED["available"] + 35200
    assert payout.amount_paise == EXPECTED["available"] + 35200 + 30800
    assert earnings.summary(mentor.id)["available_paise"] == 0


def test_a_disputes_share_is_frozen_until_decided(market):
    mentor = market.mentor
    disputed = db.session.scalar(select(Dispute))
    later = market.sessions["disputed"].settles_at + timedelta(hours=1)
    summary = earnings.summary(mentor.id, now=later)
    # Past settlement, the other seat is available; the disputed one stays frozen.
    assert summary["frozen_paise"] == 35200
    assert summary["available_paise"] == EXPECTED["available"] + 35200
    with pytest.raises(Conflict):
        earnings.request_payout(mentor, summary["available_paise"] + 1, now=later)
    disputed.status = "released"
    db.session.commit()
    released = earnings.summary(mentor.id, now=later)
    assert released["frozen_paise"] == 0 and released["available_paise"] == summary["available_paise"] + 35200


def test_a_refund_after_a_payout_leaves_a_balance_owed(app, make_user, clock):
    mentor = make_user(role="mentor", timezone=TZ)
    learner = make_user()
    clock.move_to(NOW)
    session = make_session(mentor, price_paise=50000, starts_at=NOW + timedelta(days=1))
    _booking, payment = paid_booking(session, learner)
    hold(session, session.ends_at, settlement=timedelta(hours=0))
    clock.move_to(session.ends_at + timedelta(hours=1))
    add_upi(mentor)
    payout = earnings.request_payout(mentor)  # everything: ₹440
    admin = make_user(role="admin")
    earnings.mark_payout_paid(admin, payout.id, "UTR1")
    refund_service.refund_payment(payment, 50000, key="admin-full-1", reason="Refunded by an admin")
    summary = earnings.summary(mentor.id)
    assert summary["available_paise"] == -44000 and summary["balance_owed_paise"] == 44000
    assert summary["paid_out_paise"] == 44000 and summary["earned_paise"] == 0
    with pytest.raises(ValidationError):
        earnings.request_payout(mentor)  # nothing to take


def test_a_refund_on_its_way_is_held_back(app, make_user, clock):
    mentor, learner = make_user(role="mentor", timezone=TZ), make_user()
    clock.move_to(NOW)
    session = make_session(mentor, price_paise=49900, starts_at=NOW + timedelta(days=1))
    _booking, payment = paid_booking(session, learner)
    hold(session, session.ends_at, settlement=timedelta(0))
    # Reserved, not processed yet (the gateway has not answered).
    refund_service.reserve_refund(payment, 10000, key="pending-1", reason="Partly refunded")
    db.session.commit()
    summary = earnings.summary(mentor.id, now=session.ends_at)
    # The mentor's share of ₹100 of a ₹499 seat whose earning is 43,912, rounded up: 8,800.
    assert summary["refunding_paise"] == 8800
    assert summary["available_paise"] == 43912 - 8800 and summary["earned_paise"] == 43912 - 8800


def test_statement_lines_and_balances(market):
    mentor = market.mentor
    october = earnings.statement(mentor.id, "2026-10", now=NOW)
    assert (october["opening_paise"], october["closing_paise"]) == (0, 17600)
    assert [(line["kind"], line["amount_paise"], line["state"]) for line in october["lines"]] == [
        ("booking", 17600, "available")
    ]
    november = earnings.statement(mentor.id, "2026-11", now=NOW)
    assert november["opening_paise"] == EXPECTED["november_opening"]
    assert november["closing_paise"] == EXPECTED["november_closing"]
    counted = [line for line in november["lines"] if line["counted"]]
    assert (
        november["opening_paise"] + sum(line["amount_paise"] for line in counted) == november["closing_paise"]
    )
    assert november["totals"] == {
        "booking": 2 * 44000 + 26400 + 17600 + 2 * 35200 + 26400,
        "gift": 13200,
        "refund": -39600,
        "dispute_refund": 0,
        "payout": -50000,
    }
    kinds = [(line["kind"], line["state"]) for line in november["lines"]]
    assert ("booking", "refunded") in kinds and ("refund", "refunded") in kinds  # the session not held
    assert ("payout", "paid_out") in kinds and ("payout_requested", "in_payout") in kinds
    assert (
        ("booking", "frozen") in kinds and ("gift", "pending") in kinds and ("refund", "available") in kinds
    )
    refund = next(line for line in november["lines"] if line["kind"] == "refund")
    assert refund["learner"] == "Learner 2" and "joined late" in refund["description"]
    payout = next(line for line in november["lines"] if line["kind"] == "payout")
    assert "UPI as••••@okaxis" in payout["description"] and "UTR412345678901" in payout["description"]
    # This month's closing balance is where the money is now, to the paisa.
    now = november["now"]
    assert sum(now.values()) == november["closing_paise"]


def test_statement_csv_is_exact(market):
    data = earnings.statement(market.mentor.id, "2026-11", now=NOW)
    rows = list(csv.reader(io.StringIO(earnings.statement_csv(data))))
    assert rows[0][:2] == ["Date", "Type"] and rows[1][1] == "Opening balance" and rows[1][-1] == "176.00"
    assert rows[-1][1] == "Closing balance" and rows[-1][-1] == earnings.rupees(EXPECTED["november_closing"])
    amounts = [row[6] for row in rows[2:-1] if row[6]]
    total = sum(int(a.replace(".", "").replace("-", "")) * (-1 if a.startswith("-") else 1) for a in amounts)
    assert total == EXPECTED["november_closing"] - EXPECTED["november_opening"]
    assert "440.00" in amounts and "-220.00" in amounts and "-500.00" in amounts
    assert earnings.rupees(-5) == "-0.05" and earnings.rupees(12345678) == "123456.78"


def test_a_statement_month_must_be_a_month_that_began(market):
    for month in ("2026-13", "26-11", "2026-1", "nope", "2026-12"):
        with pytest.raises(NotFound):
            earnings.statement(market.mentor.id, month, now=NOW)
    assert earnings.statement_months(market.mentor.id, now=NOW, tz=TZ) == ["2026-11", "2026-10"]


def test_a_payout_needs_payout_details(app, make_user):
    mentor = make_user(role="mentor")
    with pytest.raises(Conflict) as refused:
        earnings.request_payout(mentor, 100)
    assert refused.value.code == "payout_details_required"


# --- twenty requests at once ---------------------------------------------------------------


@pytest.fixture
def slow_balance(monkeypatch):
    """Widen the gap between reading the balance and recording the payout, so requests that were
    not serialised would overlap and over-draw (the assertions then fail, as they should)."""
    read = earnings.Money.summary

    def summary_then_pause(self):
        figures = read(self)
        time.sleep(0.02)
        return figures

    monkeypatch.setattr(earnings.Money, "summary", summary_then_pause)


def _concurrent_payouts(app, mentor_id, amounts, now):
    """Each request from its own thread, database connection and app context, released together."""

    def request(mentor, amount):
        payout = earnings.request_payout(mentor, amount, now=now)
        return ("requested", payout.amount_paise)

    attempts = [(mentor_id, partial(request, amount=amount)) for amount in amounts]
    return at_once(app, attempts, timeout=120)


def _race(app, make_user):
    """A mentor with ₹440 available (one settled seat), ₹264 pending and ₹352 frozen."""
    mentor = make_user(role="mentor", timezone=TZ)
    learners = [make_user() for _ in range(3)]
    with time_machine.travel(NOW - timedelta(days=10), tick=False):
        settled = make_session(mentor, title="Settled", price_paise=50000, starts_at=NOW - timedelta(days=5))
        pending = make_session(mentor, title="Pending", price_paise=30000, starts_at=NOW - timedelta(days=4))
        disputed = make_session(
            mentor, title="Disputed", price_paise=40000, starts_at=NOW - timedelta(days=3)
        )
        paid_booking(settled, learners[0])
        paid_booking(pending, learners[1])
        booking, payment = paid_booking(disputed, learners[2])
    hold(settled, settled.ends_at)
    hold(pending, NOW - timedelta(hours=1))
    hold(disputed, disputed.ends_at, settlement=timedelta(days=30))
    disputed.settles_at = NOW - timedelta(hours=1)  # would be available, but for the dispute
    db.session.commit()
    dispute(booking, payment)
    add_upi(mentor)
    summary = earnings.summary(mentor.id, now=NOW)
    assert (summary["available_paise"], summary["pending_paise"], summary["frozen_paise"]) == (
        44000,
        26400,
        35200,
    )
    return mentor.id


def _check_race(outcomes, mentor_id):
    requested = [amount for kind, amount in outcomes if kind == "requested"]
    refused = [code for kind, code in outcomes if kind == "refused"]
    assert len(outcomes) == 20
    assert sum(requested) <= 44000
    assert len(requested) == 4 and set(refused) == {"insufficient_balance"}
    db.session.expire_all()
    stored = db.session.scalar(
        select(func.coalesce(func.sum(Payout.amount_paise), 0)).where(Payout.mentor_id == mentor_id)
    )
    assert stored == sum(requested)
    summary = earnings.summary(mentor_id, now=NOW)
    assert summary["available_paise"] >= 0
    assert (summary["pending_paise"], summary["frozen_paise"]) == (26400, 35200)


# ₹100 each: four fit in ₹440; the rest would draw on pending or frozen money.
RACE_AMOUNTS = [10000] * 20


def test_twenty_payout_requests_at_once_never_take_pending_or_frozen_money(threaded_app, slow_balance):
    from tests.factories import UserFactory

    mentor_id = _race(threaded_app, lambda **kw: UserFactory(**kw))
    db.session.remove()
    outcomes = _concurrent_payouts(threaded_app, mentor_id, RACE_AMOUNTS, NOW)
    _check_race(outcomes, mentor_id)


@pytest.mark.postgres
def test_twenty_payout_requests_at_once_on_postgres(app, make_user, database_url, slow_balance):
    if not database_url.startswith("postgres"):
        from tests.conftest import unavailable

        unavailable("set TEST_DATABASE_URL=postgresql://… to run the payout race on PostgreSQL")
    mentor_id = _race(app, make_user)
    db.session.remove()
    outcomes = _concurrent_payouts(app, mentor_id, RACE_AMOUNTS, NOW)
    _check_race(outcomes, mentor_id)
