"""Lists are paged in SQL: one page's rows (LIMIT/OFFSET) and one count, the same rows a page
at a time as the whole list, in the same order, each row once."""

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from peerlearn.extensions import db
from peerlearn.models import Booking, utcnow
from peerlearn.services import booking as booking_service
from peerlearn.services.pagination import paginate
from tests.factories import make_session


@pytest.fixture
def learner_with_bookings(make_user):
    mentor, learner = make_user(role="mentor"), make_user()
    start = utcnow() + timedelta(days=2)
    for hours in (5, 1, 3, 3, 2, 4, 0):  # two at the same time: the id breaks the tie
        session = make_session(mentor, starts_at=start + timedelta(hours=hours))
        booking_service.book(session.id, learner)
    return learner


def statements_during(action):
    seen = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement.upper())

    engine = db.engine
    event.listen(engine, "before_cursor_execute", remember)
    try:
        result = action()
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    return result, seen


def test_pages_hold_the_whole_list_in_order_once(app, learner_with_bookings):
    everything = booking_service.bookings_page(learner_with_bookings, "upcoming", page=1, per_page=100)
    whole = [b.id for b in everything.items]
    assert len(whole) == 7
    pages = [
        booking_service.bookings_page(learner_with_bookings, "upcoming", page=n, per_page=3)
        for n in (1, 2, 3)
    ]
    assert [b.id for page in pages for b in page.items] == whole
    assert [(p.total, p.pages, p.has_prev, p.has_next) for p in pages] == [
        (7, 3, False, True),
        (7, 3, True, True),
        (7, 3, True, False),
    ]
    beyond = booking_service.bookings_page(learner_with_bookings, "upcoming", page=4, per_page=3)
    assert (beyond.items, beyond.total) == ([], 7)


def test_a_page_is_cut_by_the_database(app, learner_with_bookings):
    page, statements = statements_during(
        lambda: booking_service.bookings_page(learner_with_bookings, "upcoming", page=2, per_page=2)
    )
    assert len(page.items) == 2 and page.total == 7
    rows = [s for s in statements if "FROM BOOKINGS" in s and "COUNT(" not in s]
    assert rows and all("LIMIT" in s and "OFFSET" in s for s in rows)
    assert any("COUNT(" in s for s in statements)


def test_paginate_counts_without_the_order(app, learner_with_bookings):
    query = select(Booking).order_by(Booking.id.desc())
    page = paginate(query, page=1, per_page=5)
    assert page.total == 7 and [b.id for b in page.items] == [7, 6, 5, 4, 3]


def test_my_bookings_shows_a_page_at_a_time(app, client, auth, learner_with_bookings, monkeypatch):
    from peerlearn.blueprints.booking import routes

    monkeypatch.setattr(routes, "LIST_PER_PAGE", 3)
    auth.login(learner_with_bookings.email)
    last = client.get("/bookings?tab=upcoming&page=3").get_data(as_text=True)
    assert last.count("data-booking-id=") == 1 and "Page 3 of 3" in last
    assert 'href="/bookings?tab=upcoming&amp;page=2"' in last and 'rel="next"' not in last
    bad = client.get("/bookings?page=nope").get_data(as_text=True)  # a bad page: the first one
    assert bad.count("data-booking-id=") == 3 and "Page 1 of 3" in bad
