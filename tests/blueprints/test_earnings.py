"""Mentor earnings pages, payout details, statements and payouts: the figures come from the
ledger, payouts draw on what has settled and go where the mentor's payout details say."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from peerlearn.extensions import db
from peerlearn.models import LedgerEntry, Payout
from peerlearn.services import room as room_service
from peerlearn.services import sessions as session_service
from tests.conftest import extract_csrf
from tests.factories import SessionFactory, paid_booking
from tests.money_market import add_upi

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
# With the default 12% platform fee: ₹500 seats earn the mentor ₹440, a ₹300 seat ₹264.
COMPLETED_EARNING = 2 * 44000
PENDING_EARNING = 26400


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", name="Asha Raman", email="asha@example.com")


@pytest.fixture
def admin(make_user):
    return make_user(role="admin", email="admin@example.com")


@pytest.fixture
def earned(clock, app, mentor, make_user):
    """Two paid seats in a session that was held and has settled since, one in a later session;
    the mentor's payouts go to a UPI id."""
    assert app.config["PLATFORM_FEE_PERCENT"] == 12
    done = SessionFactory(
        mentor=mentor, title="Validating models", price_paise=50000, starts_at=NOW + timedelta(days=2)
    )
    later = SessionFactory(
        mentor=mentor, title="SQL windows", price_paise=30000, starts_at=NOW + timedelta(days=10)
    )
    first, second = make_user(), make_user()
    paid_booking(done, first)
    paid_booking(done, second, method="card")
    paid_booking(later, first)
    # The mentor gives it (in the room for the whole slot), so the sweep completes it as held.
    room_service.record_join(done.id, mentor.id, "mentor-1", now=done.starts_at)
    room_service.record_leave(done.id, mentor.id, "mentor-1", now=done.ends_at)
    clock.move_to(NOW + timedelta(days=3))
    assert session_service.complete_due_sessions() == 1
    db.session.refresh(done)
    assert done.settles_at == done.ended_at + timedelta(hours=48)
    clock.move_to(done.settles_at)
    add_upi(mentor, "asha.raman@okaxis")
    return done, later


def figure(page, name):
    match = re.search(rf'data-figure="{name}">([^<]+)<', page)
    assert match, f"no {name} figure"
    return match.group(1)


def ledger_earnings(mentor_id):
    return db.session.scalar(
        select(func.sum(LedgerEntry.amount_paise)).where(
            LedgerEntry.mentor_id == mentor_id, LedgerEntry.kind == "mentor_earning"
        )
    )


def request_payout(client, amount):
    token = extract_csrf(client.get("/teach/earnings").get_data(as_text=True))
    return client.post("/teach/earnings/payout", data={"csrf_token": token, "amount": amount})


def test_earnings_page_figures_match_the_ledger(client, auth, mentor, earned):
    done, later = earned
    assert ledger_earnings(mentor.id) == COMPLETED_EARNING + PENDING_EARNING
    auth.login(mentor.email)
    page = client.get("/teach/earnings").get_data(as_text=True)
    assert figure(page, "available") == "₹880"
    assert figure(page, "pending") == "₹264"
    assert figure(page, "paid-out") == "₹0"
    assert figure(page, "in-payout") == "₹0"
    assert figure(page, "frozen") == "₹0"
    assert figure(page, "earned-this-month") == "₹880"  # held sessions only
    row = page.split(f'data-session-id="{done.id}"', 1)[1].split("</tr>", 1)[0]
    assert "Validating models" in row and "₹880" in row and "held" in row and "Settled ₹880" in row
    row = page.split(f'data-session-id="{later.id}"', 1)[1].split("</tr>", 1)[0]
    assert "₹264" in row and "scheduled" in row and "Pending ₹264" in row
    row = page.split('data-month="2026-11"', 1)[1].split("</tr>", 1)[0]
    assert "Nov 2026" in row and "₹880" in row
    assert 'value="880.00"' in page  # the request form offers the whole available balance
    assert "UPI as••••@okaxis" in page and "asha.raman" not in page
    assert 'data-statement="2026-11"' in page


def test_a_payout_over_the_available_balance_is_refused(client, auth, mentor, earned):
    auth.login(mentor.email)
    response = request_payout(client, "880.01")
    assert response.status_code == 409
    assert "That is more than your available balance." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Payout.id))) == 0

    response = request_payout(client, "500")
    assert response.status_code == 303
    page = client.get("/teach/earnings").get_data(as_text=True)
    assert figure(page, "available") == "₹380" and figure(page, "in-payout") == "₹500"
    assert request_payout(client, "380.01").status_code == 409
    payout = db.session.scalar(select(Payout))
    assert (payout.account_kind, payout.account_masked) == ("upi", "UPI as••••@okaxis")
    assert "asha.raman" not in payout.account_encrypted


def test_admin_marks_a_payout_paid_with_its_reference(client, auth, mentor, admin, earned):
    auth.login(mentor.email)
    request_payout(client, "500")
    payout = db.session.scalar(select(Payout))
    auth.logout()

    auth.login(admin.email)
    page = client.get("/admin/payouts").get_data(as_text=True)
    assert f'data-payout-id="{payout.id}"' in page and "Asha Raman" in page and "₹500" in page
    # The admin sees where to pay in full: the details the request was made with.
    assert "asha.raman@okaxis" in page and "Pay to UPI as••••@okaxis" in page
    token = extract_csrf(page)
    response = client.post(f"/admin/payouts/{payout.id}/paid", data={"csrf_token": token, "reference": " "})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Payout, payout.id).status == "requested"

    response = client.post(
        f"/admin/payouts/{payout.id}/paid", data={"csrf_token": token, "reference": "UTR412345678901"}
    )
    assert response.status_code == 303
    db.session.expire_all()
    payout = db.session.get(Payout, payout.id)
    assert (
        payout.status == "paid" and payout.reference == "UTR412345678901" and payout.decided_by_id == admin.id
    )
    entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.payout_id == payout.id))
    assert entry.kind == "payout" and entry.amount_paise == -50000 and entry.mentor_id == mentor.id

    # Deciding twice changes nothing.
    client.post(f"/admin/payouts/{payout.id}/reject", data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.get(Payout, payout.id).status == "paid"
    auth.logout()

    auth.login(mentor.email)
    page = client.get("/teach/earnings").get_data(as_text=True)
    assert figure(page, "paid-out") == "₹500" and figure(page, "available") == "₹380"
    assert "UTR412345678901" in page


def test_rejecting_a_payout_returns_the_amount(client, auth, mentor, admin, earned):
    auth.login(mentor.email)
    request_payout(client, "880")
    payout = db.session.scalar(select(Payout))
    auth.logout()
    auth.login(admin.email)
    token = auth.csrf("/admin/payouts")
    client.post(
        f"/admin/payouts/{payout.id}/reject", data={"csrf_token": token, "note": "Add your bank details"}
    )
    auth.logout()
    auth.login(mentor.email)
    page = client.get("/teach/earnings").get_data(as_text=True)
    assert figure(page, "available") == "₹880" and figure(page, "in-payout") == "₹0"
    assert "Add your bank details" in page


def test_only_admins_decide_payouts_and_only_mentors_have_earnings(client, auth, mentor, make_user, earned):
    auth.login(mentor.email)
    request_payout(client, "100")
    payout = db.session.scalar(select(Payout))
    token = auth.csrf("/teach/earnings")
    assert client.get("/admin/payouts").status_code == 403
    response = client.post(f"/admin/payouts/{payout.id}/paid", data={"csrf_token": token, "reference": "x"})
    assert response.status_code == 403
    assert client.post(f"/admin/payouts/{payout.id}/reject", data={"csrf_token": token}).status_code == 403
    auth.logout()

    auth.login(make_user().email)
    assert client.get("/teach/earnings").status_code == 403
    assert client.get("/admin/payouts").status_code == 403
    db.session.expire_all()
    assert db.session.get(Payout, payout.id).status == "requested"


def test_api_earnings_and_payouts(client, mentor, make_user, api_token, earned):
    headers = {"Authorization": f"Bearer {api_token(mentor.email)}"}
    data = client.get("/api/earnings/", headers=headers).get_json()["data"]
    assert data["summary"]["available_paise"] == COMPLETED_EARNING
    assert data["summary"]["pending_paise"] == PENDING_EARNING
    assert sorted(row["earned_paise"] for row in data["by_session"]) == [PENDING_EARNING, COMPLETED_EARNING]
    # Held sessions by the month they ended (the later one is still ahead).
    assert [(m["month"], m["earned_paise"]) for m in data["by_month"]] == [("2026-11", COMPLETED_EARNING)]
    assert data["payouts"] == []
    assert data["payout_account"]["masked"] == "UPI as••••@okaxis"
    assert data["states"]["frozen"]["label"] == "Frozen"
    assert [s["month"] for s in data["statements"]] == ["2026-11"]

    response = client.post("/api/payouts/", json={"amount_paise": COMPLETED_EARNING + 1}, headers=headers)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "insufficient_balance"
    response = client.post("/api/payouts/", json={}, headers=headers)  # everything available
    assert response.status_code == 201 and response.get_json()["data"]["amount_paise"] == COMPLETED_EARNING
    data = client.get("/api/earnings/", headers=headers).get_json()["data"]
    assert data["summary"]["available_paise"] == 0 and data["payouts"][0]["status"] == "requested"
    assert data["summary"]["in_payout_paise"] == COMPLETED_EARNING
    assert data["payouts"][0]["account_masked"] == "UPI as••••@okaxis"

    learner = {"Authorization": f"Bearer {api_token(make_user().email)}"}
    assert client.get("/api/earnings/", headers=learner).status_code == 403
    assert client.post("/api/payouts/", json={}, headers=learner).status_code == 403


def test_admin_filters_decided_payouts_by_status_and_mentor(client, auth, mentor, admin, make_user, earned):
    other = make_user(role="mentor", name="Bala Menon", email="bala@example.com")
    decided = [
        Payout(mentor_id=mentor.id, amount_paise=10000, status="paid", reference="UTR1"),
        Payout(mentor_id=mentor.id, amount_paise=20000, status="rejected", note="Wrong account"),
        Payout(mentor_id=other.id, amount_paise=30000, status="paid", reference="UTR3"),
    ]
    db.session.add_all(decided)
    db.session.commit()
    auth.login(admin.email)

    def shown(query=""):
        response = client.get(f"/admin/payouts{query}")
        ids = {int(i) for i in re.findall(r'data-payout-id="(\d+)"', response.get_data(as_text=True))}
        return response.status_code, ids

    paid_asha, rejected_asha, paid_bala = (p.id for p in decided)
    assert shown() == (200, {paid_asha, rejected_asha, paid_bala})
    assert shown("?status=paid") == (200, {paid_asha, paid_bala})
    assert shown("?mentor=bala%40example") == (200, {paid_bala})
    assert shown("?status=rejected&mentor=Asha") == (200, {rejected_asha})
    status, _ids = shown("?status=requested")  # not a decided state
    assert status == 422
    assert 'data-total="1"' in client.get("/admin/payouts?mentor=Bala").get_data(as_text=True)
