"""The dashboards as people see them: the figures on /learn, /teach and /admin and in their APIs,
who may see which, the charts' data in the page, and a mentor dashboard whose statement count does
not grow with the number of sessions."""

import json
import re
from datetime import timedelta

import pytest
import time_machine

from peerlearn.extensions import db
from peerlearn.models import Booking, Interaction, LedgerEntry, Review, utcnow
from tests.factories import make_session
from tests.support.dashboards_market import OCT, TZ, seed
from tests.support.statements import counting_statements


@pytest.fixture
def clock():
    with time_machine.travel(OCT, tick=False) as traveller:
        yield traveller


@pytest.fixture
def market(app, make_user, clock):
    return seed(app, make_user, clock)


def figure(page, name):
    match = re.search(rf'data-figure="{name}">([^<]+)<', page)
    assert match, f"no {name} figure"
    return match.group(1).strip()


def chart_data(page):
    match = re.search(r'<script type="application/json" id="dashboard-charts">(.*?)</script>', page, re.S)
    assert match, "no chart data in the page"
    return json.loads(match.group(1))


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


# --- the learner -----------------------------------------------------------------------------


def test_learner_dashboard_page(client, auth, market):
    auth.login("l1@example.com")
    page = client.get("/learn").get_data(as_text=True)
    assert figure(page, "time-learned") == "50 min"
    assert figure(page, "sessions-completed") == "1"
    assert figure(page, "upcoming-bookings") == "2"
    # Bala's session is live: its Join button shows now; the room of "SQL windows" opens in 8 days,
    # so its button waits, hidden, for the countdown.
    live = re.search(
        r'data-booking-id="\d+" x-data="countdown" data-config=\'([^\']+)\'>'
        r".*?Bala live.*?(<a[^>]*data-join[^>]*>)",
        page,
        re.S,
    )
    assert live and 'style="display: none"' not in live.group(2)
    timer = json.loads(live.group(1))
    assert timer["joinable"] is True and timer["now"].startswith("2026-11-22T08:00:00")
    later = re.search(r"SQL windows.*?(<a[^>]*data-join[^>]*>)", page, re.S)
    assert later and 'style="display: none"' in later.group(1)
    assert 'href="/sessions/{}/room"'.format(market.sessions["live"].id) in page
    # Skills practised: the chart's data and the same figures as a table.
    skills = chart_data(page)["skills"]
    assert skills["kind"] == "stacked" and skills["labels"][-1] == "Nov 2026"
    assert [(s["label"], s["values"][-1]) for s in skills["series"]] == [("Pandas", 1), ("Python", 1)]
    assert 'data-chart-table="skills"' in page
    for link in ('href="/sessions"', 'href="/bookings"', 'href="/following"', 'href="#recommended-heading"'):
        assert link in page
    # Nobody else's seats: L4's "Office hours" and "Autumn talk" are not among L1's sessions.
    upcoming = page[page.index('id="upcoming-heading"') : page.index('id="skills-heading"')]
    assert "Bala live" in upcoming and "SQL windows" in upcoming
    assert "Office hours" not in upcoming and "Autumn talk" not in upcoming


def test_learner_api_matches_the_page(client, market, api_token):
    token = api_token("l1@example.com")
    body = client.get("/api/learner-dashboard/", headers=bearer(token)).get_json()
    assert body["success"] is True
    data = body["data"]
    assert data["figures"] == {
        "minutes_learned": 50,
        "hours_learned": 0.8,
        "sessions_completed": 1,
        "upcoming_bookings": 2,
    }
    assert data["timezone"] == TZ
    first = data["upcoming"][0]
    assert first["title"] == "Bala live" and first["can_join"] is True
    assert first["room_url"].endswith(f"/sessions/{market.sessions['live'].id}/room")
    assert first["starts_at"] == market.sessions["live"].starts_at.isoformat()
    assert data["skills_by_month"]["series"][0] == {"skill": "Pandas", "counts": [0] * 11 + [1]}


def test_a_learner_with_nothing_yet(client, auth, make_user):
    make_user(email="fresh@example.com")
    auth.login("fresh@example.com")
    page = client.get("/learn").get_data(as_text=True)
    assert figure(page, "time-learned") == "0 min" and figure(page, "sessions-completed") == "0"
    assert "No upcoming sessions booked" in page and "after you attend a session" in page
    assert chart_data(page) == {}


# --- the mentor ------------------------------------------------------------------------------


def test_mentor_dashboard_page(client, auth, market):
    auth.login("asha@example.com")
    page = client.get("/teach").get_data(as_text=True)
    # Held sessions that ended this month: "Validating models" (2 × ₹440); "SQL windows" is ahead.
    assert figure(page, "earnings-month") == "₹880"
    assert figure(page, "money-pending") == "₹1,144"  # ₹880 settles 48 hours after its end, + ₹264
    assert figure(page, "money-available") == "₹176" and figure(page, "money-frozen") == "₹0"
    assert figure(page, "upcoming-sessions") == "3"
    assert figure(page, "rating") == "4.50 ★"
    assert figure(page, "followers") == "2"
    assert figure(page, "pending-requests") == "1"
    assert figure(page, "conversion") == "85.7%"
    assert figure(page, "attendance") == "50.0%"  # L4 missed the autumn talk Asha gave
    assert figure(page, "repeat-learners") == "2"
    assert (
        figure(page, "count-upcoming"),
        figure(page, "count-drafts"),
        figure(page, "count-completed"),
    ) == ("3", "1", "3")
    # Today: "Office hours" is inside its room's window, so its Go live button shows.
    soon = re.search(r'data-session-id="{}".*?</li>'.format(market.sessions["soon"].id), page, re.S).group(0)
    assert "1/5 booked" in soon and "Go live" in soon and 'style="display: none"' not in soon
    tonight = re.search(
        r'data-session-id="{}".*?</li>'.format(market.sessions["tonight"].id), page, re.S
    ).group(0)
    assert "Go live" in tonight and 'style="display: none"' in tonight
    charts = chart_data(page)
    assert [s["label"] for s in charts["earnings-week"]["series"]] == ["Bookings", "Gifts"]
    assert charts["earnings-week"]["series"][0]["values"][-1] == 88000
    assert charts["earnings-week"]["labels"][-1] == "16 Nov" and charts["earnings-week"]["unit"] == "inr"
    assert charts["earnings-month"]["series"][0]["values"][-2:] == [17600, 88000]
    assert charts["rating-month"]["series"][0]["values"][-3:] == [4.0, None, 5.0]
    assert charts["conversion"]["labels"][2] == "Validating models"
    assert [s["values"][2] for s in charts["conversion"]["series"]] == [4, 2]
    # The tables beside the charts carry the same figures.
    assert "₹880</td>" in page and "₹176</td>" in page
    for link in ("/requests/inbox", "/teach/earnings", "/teach/sessions/new", "/teach/sessions?tab=drafts"):
        assert f'href="{link}"' in page
    assert "Bala live" not in page


def test_mentor_api_matches_the_page(client, market, api_token):
    data = client.get("/api/mentor-dashboard/", headers=bearer(api_token("asha@example.com"))).get_json()[
        "data"
    ]
    assert data["figures"]["earnings_this_month_paise"] == 88000
    assert data["money"]["pending_paise"] == 114400 and data["money"]["available_paise"] == 17600
    assert data["figures"]["rating"] == {"average": 4.5, "count": 2}
    assert (data["conversion"]["views"], data["conversion"]["bookings"]) == (7, 6)
    assert data["attendance"]["rate"] == 0.5 and data["repeat_learners"]["repeat"] == 2
    assert [row["title"] for row in data["sessions"]["today"]] == ["Office hours", "Evening review"]
    assert data["sessions"]["today"][0]["can_go_live"] is True
    assert data["earnings_by_month"]["earned_paise"][-1] == 88000
    other = client.get("/api/mentor-dashboard/", headers=bearer(api_token("bala@example.com"))).get_json()[
        "data"
    ]
    # Bala's live session is not held yet: its ₹352 is pending, not earned this month.
    assert other["figures"]["earnings_this_month_paise"] == 0 and other["money"]["pending_paise"] == 35200
    assert other["figures"]["followers"] == 1
    assert [row["title"] for row in other["sessions"]["today"]] == ["Bala live"]


# --- the admin -------------------------------------------------------------------------------


def test_admin_overview_page_and_api(client, auth, market, api_token):
    auth.login("admin@example.com")
    page = client.get("/admin").get_data(as_text=True)
    assert (figure(page, "users-learner"), figure(page, "users-mentor"), figure(page, "users-admin")) == (
        "5",
        "2",
        "1",
    )
    assert figure(page, "users-suspended") == "1"
    assert figure(page, "sessions-held") == "3" and figure(page, "rooms-live") == "1"
    assert figure(page, "gross-booking-value") == "₹2,200"
    assert figure(page, "platform-revenue") == "₹228"
    assert figure(page, "refunds-amount") == "₹300" and "1 processed" in page
    signups = chart_data(page)["signups"]
    assert signups["labels"][-1] == "16 Nov" and sum(signups["series"][0]["values"]) == 8
    for section in ("users", "sessions", "payments", "reviews", "audit", "payouts"):
        assert f'href="/admin/{section}"' in page
    data = client.get("/api/admin-dashboard/", headers=bearer(api_token("admin@example.com"))).get_json()[
        "data"
    ]
    assert data["gross_booking_value_paise"] == 220000 and data["platform_revenue_paise"] == 22800
    assert data["refunds"] == {"count": 1, "amount_paise": 30000} and data["rooms_live"] == 1


# --- who may see what ------------------------------------------------------------------------


# Capability mixes: (factory arguments, what they hold). Every account learns.
MIXES = {
    "learner": ({"role": "learner"}, {"learner"}),
    "learner+mentor": ({"role": "mentor"}, {"learner", "mentor"}),
    "admin": ({"role": "admin"}, {"learner", "admin"}),
    "admin+mentor": ({"role": "admin", "mentor": True}, {"learner", "mentor", "admin"}),
}


@pytest.mark.parametrize(
    ("path", "needs"),
    [("/learn", "learner"), ("/teach", "mentor"), ("/admin", "admin")],
)
def test_each_page_is_for_its_capability(client, auth, make_user, path, needs):
    response = client.get(path)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    for mix, (spec, holds) in MIXES.items():
        email = f"{mix.replace('+', '-')}@example.com"
        make_user(email=email, **spec)
        auth.login(email)
        assert client.get(path).status_code == (200 if needs in holds else 403), mix
        auth.logout()


@pytest.mark.parametrize(
    ("path", "needs", "code"),
    [
        ("/api/learner-dashboard/", "learner", None),
        ("/api/mentor-dashboard/", "mentor", "not_a_mentor"),
        ("/api/admin-dashboard/", "admin", "not_an_admin"),
    ],
)
def test_each_api_is_for_its_capability(client, make_user, api_token, path, needs, code):
    response = client.get(path)
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "authentication_required"
    for mix, (spec, holds) in MIXES.items():
        email = f"{mix.replace('+', '-')}@example.com"
        make_user(email=email, **spec)
        response = client.get(path, headers=bearer(api_token(email)))
        if needs in holds:
            assert response.status_code == 200 and response.get_json()["success"] is True, mix
        else:
            assert response.status_code == 403 and response.get_json()["error"]["code"] == code, mix


# --- no N+1 ----------------------------------------------------------------------------------


def busy_mentor(make_user, email, sessions):
    """A mentor with ``sessions`` sessions, half of them past and completed, each with a booking,
    a page view, ledger earnings and (past ones) a review; one of them is today."""
    mentor = make_user(role="mentor", email=email)
    learners = [make_user() for _ in range(3)]
    now = utcnow()
    for index in range(sessions):
        past = index % 2 == 1
        starts_at = (
            now + timedelta(minutes=10) if index == 0 else now + timedelta(days=(-index if past else index))
        )
        session = make_session(
            mentor,
            title=f"Session {index}",
            skills=["Python"],
            starts_at=starts_at,
            price_paise=20000,
            status="completed" if past else "scheduled",
            seats_taken=0 if past else 1,
        )
        learner = learners[index % len(learners)]
        booking = Booking(
            session_id=session.id,
            learner_id=learner.id,
            status=("attended" if index % 4 == 1 else "no_show") if past else "confirmed",
            amount_paise=20000,
        )
        db.session.add(booking)
        db.session.flush()
        db.session.add(
            Interaction(user_id=learner.id, kind="view", session_id=session.id, mentor_id=mentor.id)
        )
        db.session.add(
            LedgerEntry(kind="mentor_earning", amount_paise=17600, mentor_id=mentor.id, session_id=session.id)
        )
        if past:
            db.session.add(
                Review(
                    booking_id=booking.id,
                    session_id=session.id,
                    mentor_id=mentor.id,
                    learner_id=learner.id,
                    rating=4 + index % 2,
                    created_at=starts_at,
                )
            )
    db.session.commit()
    return mentor


def test_mentor_dashboard_statements_do_not_grow_with_sessions(client, auth, make_user, api_token):
    counts = {}
    for sessions in (2, 20):
        email = f"mentor{sessions}@example.com"
        busy_mentor(make_user, email, sessions)
        auth.login(email)
        token = api_token(email)
        for path, headers in (("/teach", {}), ("/api/mentor-dashboard/", bearer(token))):
            client.get(path, headers=headers)  # warm: first-request caches
            with counting_statements() as statements:
                response = client.get(path, headers=headers)
            assert response.status_code == 200
            counts[(path, sessions)] = len(statements)
        auth.logout()
    assert counts[("/teach", 2)] == counts[("/teach", 20)], counts
    assert counts[("/api/mentor-dashboard/", 2)] == counts[("/api/mentor-dashboard/", 20)], counts
    data = client.get("/api/mentor-dashboard/", headers=bearer(api_token("mentor20@example.com"))).get_json()[
        "data"
    ]
    assert data["conversion"]["views"] == 20 and data["conversion"]["bookings"] == 20
    assert len(data["conversion"]["sessions"]) == 12


# --- the profile checklist -------------------------------------------------------------------


def checklist_item(page, label):
    """Whether the checklist shows ``label`` as done (struck through)."""
    match = re.search(
        rf'<li class="flex items-center gap-2 ([^"]+)">(?:(?!</li>).)*<span>{label}</span>', page, re.S
    )
    assert match, f"no {label!r} in the checklist"
    return "line-through" in match.group(1)


def test_the_checklist_and_the_skill_count_follow_the_profile(client, auth, make_user):
    from peerlearn.models import User
    from peerlearn.services import skills as skill_service

    mentor = make_user(email="new-mentor@example.com", role="mentor")
    learner = make_user(email="new-learner@example.com")
    auth.login("new-mentor@example.com")
    page = client.get("/teach").text
    assert not checklist_item(page, "List your skills")
    assert re.search(r"Skills listed</dt><dd[^>]*>0</dd>", page)
    auth.logout()
    auth.login("new-learner@example.com")
    assert not checklist_item(client.get("/learn").text, "List your skills")
    auth.logout()

    for user_id, names in ((mentor.id, ["Flask", "SQL"]), (learner.id, ["Pandas"])):
        db.session.get(User, user_id).skills = skill_service.resolve(names)
    db.session.commit()
    auth.login("new-mentor@example.com")
    page = client.get("/teach").text
    assert checklist_item(page, "List your skills")
    assert re.search(r"Skills listed</dt><dd[^>]*>2</dd>", page)
    auth.logout()
    auth.login("new-learner@example.com")
    assert checklist_item(client.get("/learn").text, "List your skills")
