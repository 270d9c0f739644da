"""The mentor's "My sessions" is read a tab and a page at a time in SQL: each tab holds the
sessions it always held, in the same order, and its pages together hold the whole tab once."""

from datetime import timedelta

import pytest

from peerlearn.models import utcnow
from peerlearn.services import sessions as session_service
from tests.factories import make_session


@pytest.fixture
def mentor_with_sessions(app, make_user):
    mentor, now = make_user(role="mentor"), utcnow()
    made = {}

    def add(name, **values):
        made[name] = make_session(mentor, title=f"Session {name}", **values).id

    for hours in (5, 1, 3, 3):  # two at the same time: the id breaks the tie
        add(f"soon+{hours}h#{len(made)}", starts_at=now + timedelta(hours=hours))
    add("live", status="live", starts_at=now - timedelta(minutes=10))
    # Started 2 hours ago: the 3-hour one still runs, the 90-minute one has ended.
    add("running", starts_at=now - timedelta(hours=2), duration_minutes=180)
    add("just-ended", starts_at=now - timedelta(hours=2), duration_minutes=90)
    add("ended-long-ago", starts_at=now - timedelta(days=3))
    add("completed", status="completed", starts_at=now - timedelta(days=1))
    add("draft-late", status="draft", starts_at=now + timedelta(days=9))
    add("draft-early", status="draft", starts_at=now + timedelta(days=4))
    add("cancelled-first", status="cancelled", cancelled_at=now - timedelta(days=2))
    add("cancelled-last", status="cancelled", cancelled_at=now - timedelta(hours=1))
    return mentor, now, made


def whole_tab(mentor, tab, now, per_page):
    first = session_service.sessions_by_tab(mentor, tab, page=1, per_page=per_page, now=now)
    pages = [first] + [
        session_service.sessions_by_tab(mentor, tab, page=n, per_page=per_page, now=now)
        for n in range(2, first.pages + 1)
    ]
    return [s.title.removeprefix("Session ") for page in pages for s in page.items], pages


def test_each_tab_holds_its_sessions_in_order_across_pages(mentor_with_sessions):
    mentor, now, made = mentor_with_sessions
    upcoming, pages = whole_tab(mentor, "upcoming", now, per_page=2)
    assert upcoming == ["running", "live", "soon+1h#1", "soon+3h#2", "soon+3h#3", "soon+5h#0"]
    assert made["soon+3h#2"] < made["soon+3h#3"]
    assert [(p.page, p.pages, p.total, len(p.items)) for p in pages] == [
        (1, 3, 6, 2),
        (2, 3, 6, 2),
        (3, 3, 6, 2),
    ]
    assert whole_tab(mentor, "past", now, per_page=2)[0] == ["just-ended", "completed", "ended-long-ago"]
    assert whole_tab(mentor, "drafts", now, per_page=1)[0] == ["draft-early", "draft-late"]
    assert whole_tab(mentor, "cancelled", now, per_page=1)[0] == ["cancelled-last", "cancelled-first"]


def test_tab_counts_match_the_tabs(mentor_with_sessions):
    mentor, now, _ = mentor_with_sessions
    counts = session_service.session_tab_counts(mentor, now=now)
    assert counts == {"upcoming": 6, "past": 3, "drafts": 2, "cancelled": 2}
    # The running session moves to the past once its three hours are up.
    later = session_service.session_tab_counts(mentor, now=now + timedelta(hours=1, minutes=1))
    assert later["past"] == 4


def test_my_sessions_page_shows_a_page_at_a_time(client, auth, mentor_with_sessions, monkeypatch):
    from peerlearn.blueprints.sessions import manage

    mentor, _, made = mentor_with_sessions
    monkeypatch.setattr(manage, "LIST_PER_PAGE", 4)
    auth.login(mentor.email)
    first = client.get("/teach/sessions").get_data(as_text=True)
    assert first.count("data-session-id=") == 4 and "Page 1 of 2" in first
    assert 'href="/teach/sessions?tab=upcoming&amp;page=2"' in first
    second = client.get("/teach/sessions?tab=upcoming&page=2").get_data(as_text=True)
    assert second.count("data-session-id=") == 2 and "Page 2 of 2" in second
    assert f'data-session-id="{made["soon+5h#0"]}"' in second and 'rel="next"' not in second
    assert '<span class="badge">6</span>' in second  # the tab's count is the whole tab's
    bad = client.get("/teach/sessions?page=nope").get_data(as_text=True)  # a bad page: the first one
    assert bad.count("data-session-id=") == 4 and "Page 1 of 2" in bad
