"""On a seeded market (sessions held and settled, held and pending, not held, disputed and ahead;
gifts, a refund, a paid payout and a requested one), the mentor dashboard, the earnings page,
``GET /api/earnings/`` and the monthly statement say the same words and the same amounts, to the
paisa, and the dashboard's charts add up to its cards."""

import csv
import io
import json
import re
from datetime import UTC, datetime

import pytest
import time_machine

from peerlearn.jinja import format_inr
from peerlearn.services.earnings import MONEY_STATES
from tests.money_market import EXPECTED, seed

STATES = ("pending", "available", "in_payout", "paid_out", "frozen")


@pytest.fixture
def clock():
    with time_machine.travel(datetime(2026, 10, 1, tzinfo=UTC), tick=False) as traveller:
        yield traveller


@pytest.fixture
def market(app, make_user, clock):
    return seed(make_user, clock)


def figure(page, name):
    match = re.search(rf'data-figure="{name}">([^<]+)<', page)
    assert match, f"no {name} figure"
    return match.group(1)


def charts(page):
    return json.loads(re.search(r'id="dashboard-charts">(.*?)</script>', page, re.S).group(1))


def test_every_view_says_the_same(client, auth, api_token, market):
    auth.login("asha@example.com")
    dashboard = client.get("/teach").get_data(as_text=True)
    earnings_page = client.get("/teach/earnings").get_data(as_text=True)
    statement = client.get("/teach/earnings/statement/2026-11").get_data(as_text=True)
    data = client.get("/api/earnings/", headers={"Authorization": f"Bearer {api_token('asha@example.com')}"})
    data = data.get_json()["data"]
    summary = data["summary"]

    expected = {state: EXPECTED[state] for state in STATES}
    # The API, in paise.
    assert {state: summary[f"{state}_paise"] for state in STATES} == expected
    assert summary["earned_this_month_paise"] == EXPECTED["earned_this_month"]
    assert summary["gifts"]["earned_paise"] == EXPECTED["gifts"]
    assert summary["earned_paise"] == EXPECTED["earned"] == sum(expected.values())
    # The earnings page and the dashboard, in rupees, with the same words.
    for state in STATES:
        key = state.replace("_", "-")
        assert figure(earnings_page, key) == format_inr(expected[state]), state
        assert figure(dashboard, f"money-{key}") == format_inr(expected[state]), state
    assert figure(earnings_page, "earned-this-month") == format_inr(EXPECTED["earned_this_month"])
    assert figure(dashboard, "earnings-month") == format_inr(EXPECTED["earned_this_month"])
    assert figure(earnings_page, "gifts") == format_inr(EXPECTED["gifts"])
    for word in MONEY_STATES.values():
        for page in (dashboard, earnings_page, statement):
            assert word.label in page
        assert data["states"][word.key] == {"label": word.label, "definition": word.definition}
    assert "Earned this month" in dashboard and "Earned this month" in earnings_page

    # The statement of this month closes where the money is now.
    assert figure(statement, "opening") == format_inr(EXPECTED["november_opening"])
    assert figure(statement, "closing") == format_inr(EXPECTED["november_closing"])
    for state in ("pending", "frozen", "available", "in_payout"):
        assert figure(statement, state.replace("_", "-")) == format_inr(expected[state])
    assert EXPECTED["november_closing"] == sum(
        expected[s] for s in ("pending", "frozen", "available", "in_payout")
    )
    amounts = [int(a) for a in re.findall(r'data-amount="(-?\d+)"', statement)]
    assert EXPECTED["november_opening"] + sum(amounts) == EXPECTED["november_closing"]

    # By session and by month, on the page and in the API, add up to the cards.
    sessions = data["by_session"]
    assert sum(row["pending_paise"] for row in sessions) == summary["pending_paise"]
    assert sum(row["frozen_paise"] for row in sessions) == summary["frozen_paise"]
    assert sum(row["settled_paise"] for row in sessions) == sum(
        summary[f"{s}_paise"] for s in ("available", "in_payout", "paid_out")
    )
    assert data["by_month"][0]["month"] == "2026-11"
    assert data["by_month"][0]["earned_paise"] == summary["earned_this_month_paise"]
    row = earnings_page.split('data-month="2026-11"', 1)[1].split("</tr>", 1)[0]
    assert format_inr(EXPECTED["earned_this_month"]) in row

    # The dashboard's charts: this month's bar is the card, October's the held October talk.
    drawn = charts(dashboard)
    monthly = drawn["earnings-month"]
    bars = [
        b + g for b, g in zip(monthly["series"][0]["values"], monthly["series"][1]["values"], strict=True)
    ]
    assert bars[-1] == EXPECTED["earned_this_month"] and bars[-2] == EXPECTED["earned_october"]
    assert sum(monthly["series"][1]["values"]) == EXPECTED["gifts"]
    weekly = drawn["earnings-week"]
    assert sum(sum(series["values"]) for series in weekly["series"]) == (
        EXPECTED["earned_this_month"] + EXPECTED["earned_october"]
    )
    # The mentor-dashboard API carries the same money.
    board = client.get(
        "/api/mentor-dashboard/", headers={"Authorization": f"Bearer {api_token('asha@example.com')}"}
    ).get_json()["data"]
    assert {state: board["money"][f"{state}_paise"] for state in STATES} == expected
    assert board["figures"]["earnings_this_month_paise"] == EXPECTED["earned_this_month"]
    assert board["earnings_by_month"]["earned_paise"][-1] == EXPECTED["earned_this_month"]


def test_the_statement_pages(client, auth, market, make_user):
    auth.login("asha@example.com")
    page = client.get("/teach/earnings/statement/2026-11")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "private, no-store"
    html = page.get_data(as_text=True)
    assert "@media print" in html and 'aria-label="Main"' not in html and "<footer" not in html  # no nav
    assert 'aria-label="Main"' in client.get("/teach/earnings").get_data(as_text=True)
    assert "Statement for Nov 2026 (so far)" in html and "Times in Asia/Kolkata" in html
    assert 'data-line="dispute_refund"' not in html and 'data-line="refund"' in html
    assert "Payout #1 to UPI as••••@okaxis · reference UTR412345678901" in html
    assert "Payout #2 of ₹200 requested to UPI as••••@okaxis" in html
    assert "Seat booked by Learner 2" in html and "Gift from Learner 1" in html

    download = client.get("/teach/earnings/statement/2026-11.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert 'filename="peerlearn-statement-2026-11.csv"' in download.headers["Content-Disposition"]
    text = download.get_data(as_text=True)
    assert text.startswith("\ufeff")  # spreadsheet programs then read it as UTF-8
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[1][1] == "Opening balance" and rows[1][-1] == "176.00"
    assert rows[-1][1] == "Closing balance" and rows[-1][-1] == "1700.00"
    assert rows[1][0] == "2026-11-01 00:00" and rows[-1][0] == "2026-11-20 11:30 (so far)"
    states = {row[5] for row in rows[2:-1]}
    assert states == {"Pending", "Available", "Frozen", "Paid out", "In payout", "Refunded"}
    # The session that was not held: its seat and its refund, refunded in full.
    assert [row[5] for row in rows if row[3] == "Not held"] == ["Refunded", "Refunded"]

    october = client.get("/teach/earnings/statement/2026-10").get_data(as_text=True)
    assert "Statement for Oct 2026" in october and "(so far)" not in october
    for month in ("2026-12", "2026-13", "nope", "2026-11.pdf", "2026-11.csv.csv"):
        assert client.get(f"/teach/earnings/statement/{month}").status_code == 404, month
    earnings_page = client.get("/teach/earnings").get_data(as_text=True)
    assert 'href="/teach/earnings/statement/2026-10"' in earnings_page
    assert 'href="/teach/earnings/statement/2026-11.csv"' in earnings_page
    auth.logout()

    # A learner has no statement; another mentor sees only their own (empty) one.
    auth.login(make_user().email)
    assert client.get("/teach/earnings/statement/2026-11").status_code == 403
    auth.logout()
    auth.login(make_user(role="mentor").email)
    other = client.get("/teach/earnings/statement/2026-11").get_data(as_text=True)
    assert "No money moved this month." in other and "Learner 2" not in other


def test_a_balance_owed_reads_plainly(client, auth, market):
    from peerlearn.services import refunds as refund_service

    # An admin refunds both settled seats of the paid-out session in full (what is left of them).
    p = market.payments
    refund_service.refund_payment(p["settled_l1"], 50000, key="admin-l1-full", reason="Refunded by an admin")
    refund_service.refund_payment(p["settled_l2"], 25000, key="admin-l2-rest", reason="Refunded by an admin")
    refund_service.refund_payment(p["october"], 20000, key="admin-oct-full", reason="Refunded by an admin")
    auth.login("asha@example.com")
    page = client.get("/teach/earnings").get_data(as_text=True)
    # Settled now: the gift (₹88); paid out ₹500 and ₹200 in payout: owed ₹612.
    assert "You owe ₹612; it is repaid from your next earnings." in page
    assert figure(page, "available") == "-₹612"
    dashboard = client.get("/teach").get_data(as_text=True)
    assert "You owe ₹612; it is repaid from your next earnings." in dashboard
    statement = client.get("/teach/earnings/statement/2026-11").get_data(as_text=True)
    assert "You owe ₹612; it is repaid from your next earnings." in statement
