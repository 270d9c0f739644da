"""The public pages' cached fragments (services/fragments.py): kept while nothing changes, drawn
again at the next request after a change commits, in one process and across processes sharing
the version in Redis, and never carrying one viewer's bits to another."""

import re

import pytest
from sqlalchemy import text

from peerlearn.extensions import db
from peerlearn.models import User
from peerlearn.services import booking as booking_service
from peerlearn.services import fragments
from peerlearn.services import sessions as session_service
from tests import factories
from tests.support.statements import counting_statements
from tests.support.two_apps import two_apps_sharing_redis


def presentable_mentor(**fields):
    return factories.UserFactory(role="mentor", headline="Teaches Flask for a living", **fields)


def test_a_page_drawn_twice_reads_the_database_once(client):
    mentor = presentable_mentor()
    factories.SessionFactory(mentor=mentor, title="Flask from the ground up")
    for path in ("/", "/sessions", "/mentors"):
        assert "Flask from the ground up" in client.get(path).text or path == "/mentors"
        with counting_statements() as statements:
            page = client.get(path)
        assert page.status_code == 200
        assert statements == [], f"{path} queried again: {statements}"


def test_editing_a_session_shows_on_the_next_landing_page_and_catalog(client):
    mentor = presentable_mentor()
    session = factories.SessionFactory(mentor=mentor, title="Flask from the ground up")
    assert "Flask from the ground up" in client.get("/").text
    assert "Flask from the ground up" in client.get("/sessions").text

    session_service.update_session(mentor, session.id, {"title": "Flask, rebuilt"})

    for path in ("/", "/sessions"):
        page = client.get(path).text
        assert "Flask, rebuilt" in page
        assert "Flask from the ground up" not in page


def test_a_seat_taken_changes_the_seats_left_on_the_card(client):
    session = factories.SessionFactory(mentor=presentable_mentor(), capacity=2)
    assert "2 seats left" in client.get("/sessions").text

    booking_service.book(session.id, factories.UserFactory())

    page = client.get("/sessions").text
    assert "1 seat left" in page
    assert "2 seats left" not in page


def test_a_cancelled_session_leaves_the_catalog(client):
    mentor = presentable_mentor()
    session = factories.SessionFactory(mentor=mentor, title="Going away soon")
    assert "Going away soon" in client.get("/sessions").text

    session_service.cancel_session(mentor, session.id, reason="Ill")

    assert "Going away soon" not in client.get("/sessions").text


def test_a_profile_edit_shows_on_the_mentor_cards(client):
    mentor = presentable_mentor(name="Asha Raman")
    factories.SessionFactory(mentor=mentor)
    assert "Asha Raman" in client.get("/mentors").text

    mentor.name = "Asha R. Iyer"
    db.session.commit()

    for path in ("/mentors", "/"):
        assert "Asha R. Iyer" in client.get(path).text


def test_raw_sql_writes_count_as_changes(client):
    mentor = presentable_mentor()
    session = factories.SessionFactory(mentor=mentor, title="Before the update")
    assert "Before the update" in client.get("/sessions").text

    db.session.execute(
        text("UPDATE learning_sessions SET title = 'After the update' WHERE id = :id"), {"id": session.id}
    )
    db.session.commit()

    assert "After the update" in client.get("/sessions").text


def test_a_change_rolled_back_keeps_the_fragments(client):
    mentor = presentable_mentor()
    factories.SessionFactory(mentor=mentor, title="Kept as it was")
    client.get("/sessions")
    version = fragments.cache().version()

    mentor.name = "Never committed"
    db.session.flush()
    db.session.rollback()

    assert fragments.cache().version() == version
    with counting_statements() as statements:
        client.get("/sessions")
    assert statements == []


def test_signing_in_does_not_throw_the_fragments_away(client, auth):
    learner = factories.UserFactory(email="reader@example.com")
    factories.SessionFactory(mentor=presentable_mentor())
    client.get("/sessions")
    version = fragments.cache().version()

    auth.login(learner.email)

    assert fragments.cache().version() == version


def test_cached_fragments_carry_nothing_of_the_viewer(app, auth):
    mentor = presentable_mentor()
    session = factories.SessionFactory(mentor=mentor, title="Shared by everyone")
    factories.UserFactory(email="first@example.com", name="First Viewer")
    factories.UserFactory(email="second@example.com", name="Second Viewer")
    first = app.test_client()
    type(auth)(first).login("first@example.com")
    booking_service.book(
        session.id, db.session.scalar(db.select(User).where(User.email == "first@example.com"))
    )
    for path in ("/", "/sessions", "/mentors", f"/mentors/{mentor.id}"):
        first.get(path)

    second = app.test_client()
    type(auth)(second).login("second@example.com")
    anonymous = app.test_client()
    for path in ("/", "/sessions", "/mentors", f"/mentors/{mentor.id}"):
        for viewer in (second, anonymous):
            page = viewer.get(path).text
            assert "First Viewer" not in page
            tokens = set(re.findall(r'name="csrf_token"[^>]*value="([^"]+)"', page))
            # A page without a form issues no token, so it has no meta to compare with.
            meta = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
            issued = {meta.group(1)} if meta else set()
            assert tokens <= issued, f"{path} carries another session's CSRF token"


def test_cards_show_times_in_the_viewers_timezone(app, auth):
    session = factories.SessionFactory(mentor=presentable_mentor())
    factories.UserFactory(email="london@example.com", timezone="Europe/London")
    anonymous = app.test_client()
    assert "IST" in anonymous.get("/sessions").text
    london = app.test_client()
    type(auth)(london).login("london@example.com")
    page = london.get("/sessions").text
    assert f'href="/sessions/{session.id}"' in page
    assert re.search(r"\b(GMT|BST)\b", page)


# ------------------------------------------------------------------- two processes, one Redis


@pytest.fixture
def two_processes(tmp_path, redis_url):
    """Two apps on one database file, each with its own fragments and the version shared in
    Redis: two web processes of one deployment."""
    with two_apps_sharing_redis(tmp_path, redis_url) as apps:
        yield apps


def test_a_change_in_one_process_shows_in_the_other_at_once(two_processes):
    _, second = two_processes
    mentor = presentable_mentor()
    session = factories.SessionFactory(mentor=mentor, title="Seen by both")
    second_client = second.test_client()
    with second.app_context():
        assert "Seen by both" in second_client.get("/sessions").text
        with counting_statements() as statements:
            second_client.get("/sessions")
        assert statements == []  # kept in the second process

    session_service.update_session(mentor, session.id, {"title": "Renamed in the first"})

    with second.app_context():
        page = second_client.get("/sessions").text
    assert "Renamed in the first" in page
    assert "Seen by both" not in page


def test_a_page_of_several_fragments_reads_the_version_once(two_processes, monkeypatch):
    first, _ = two_processes
    factories.SessionFactory(mentor=presentable_mentor(), title="Counted")
    client = first.test_client()
    with first.app_context():
        client.get("/")
        redis = fragments.cache().redis
        reads = []
        real_get, real_mget = redis.get, redis.mget
        monkeypatch.setattr(redis, "get", lambda key: reads.append(key) or real_get(key))
        monkeypatch.setattr(redis, "mget", lambda *keys: reads.append(keys) or real_mget(*keys))
        page = client.get("/").text
    assert "Counted" in page
    # The header, the page's sections and the cards' seats: one round trip for both versions.
    assert reads == [(fragments.VERSION_KEY, fragments.SEATS_VERSION_KEY)]


def test_while_redis_is_away_the_fragments_are_drawn_fresh(app):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    fragments.init_app(app)
    session = factories.SessionFactory(mentor=presentable_mentor(), title="Drawn fresh")
    client = app.test_client()
    assert "Drawn fresh" in client.get("/sessions").text
    # A change the database session's watch cannot see still shows: nothing is kept.
    with db.engine.begin() as connection:
        connection.execute(
            text("UPDATE learning_sessions SET title = 'Fresh again' WHERE id = :id"), {"id": session.id}
        )
    assert "Fresh again" in client.get("/sessions").text


def test_a_review_shows_at_once_on_the_session_page_visitors_see(client):
    from tests.support.reviews import past_session, review_row

    mentor = presentable_mentor()
    session = past_session(mentor)
    first = factories.UserFactory()
    review_row(session, first, 4, body="Clear and well paced")
    assert "Clear and well paced" in client.get(f"/sessions/{session.id}").text

    review_row(session, factories.UserFactory(), 2, body="Too fast for me")

    page = client.get(f"/sessions/{session.id}").text
    assert "Clear and well paced" in page and "Too fast for me" in page


def test_a_signed_in_viewer_never_gets_the_visitors_session_fragments(app, client, auth):
    from tests.support.reviews import past_session, review_row

    mentor = presentable_mentor()
    session = past_session(mentor)
    review_row(session, factories.UserFactory(), 5, body="Worth every minute")
    factories.UserFactory(email="member@example.com")
    client.get(f"/sessions/{session.id}")  # a visitor's copy is kept
    version = fragments.cache().version()

    auth.login("member@example.com")
    with counting_statements() as statements:
        page = client.get(f"/sessions/{session.id}").text
    assert fragments.cache().version() == version
    assert "Worth every minute" in page
    # Drawn for the signed-in viewer: the reviews were read again.
    assert any("FROM reviews" in statement for statement in statements)


def test_a_visitors_session_page_is_kept_until_a_seat_is_taken(client):
    session = factories.SessionFactory(mentor=presentable_mentor(), capacity=3)
    assert "3 of 3 seats left" in client.get(f"/sessions/{session.id}").text
    with counting_statements() as statements:
        client.get(f"/sessions/{session.id}")
    # Only finding the session (and that it may be shown) is left; the page's own reads are kept.
    assert not any("FROM reviews" in statement or "similar_sessions" in statement for statement in statements)

    booking_service.book(session.id, factories.UserFactory())

    assert "2 of 3 seats left" in client.get(f"/sessions/{session.id}").text


def test_the_sessions_api_keeps_its_answer_until_a_seat_is_taken(client):
    session = factories.SessionFactory(mentor=presentable_mentor(), capacity=3)

    def seats_left():
        items = client.get("/api/sessions/?per_page=50").get_json()["data"]["items"]
        return next(item["seats_left"] for item in items if item["id"] == session.id)

    assert seats_left() == 3
    with counting_statements() as statements:
        assert seats_left() == 3
    assert not any("learning_sessions" in statement for statement in statements)

    booking_service.book(session.id, factories.UserFactory())

    assert seats_left() == 2


def test_a_visitors_kept_header_marks_the_page_they_are_on(app, client, auth):
    def current(page):
        return re.findall(r'<a href="([^"]+)"[^>]*aria-current="page"', page)

    factories.UserFactory(email="named@example.com", name="Named Person")
    assert "/sessions" in current(client.get("/sessions").text)
    assert "/mentors" in current(client.get("/mentors").text)
    assert "/sessions" not in current(client.get("/mentors").text)

    auth.login("named@example.com")
    assert "Named Person" in client.get("/mentors").text
    assert "Named Person" not in app.test_client().get("/mentors").text


def test_a_fragment_expires_with_the_clock_and_the_store_stays_bounded(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(fragments.time, "monotonic", lambda: clock[0])
    store = fragments.FragmentCache(ttl=30)
    drawn = []

    def draw():
        drawn.append(clock[0])
        return f"drawn at {clock[0]}"

    assert store.get(("page",), draw) == "drawn at 1000.0"
    clock[0] += 29
    assert store.get(("page",), draw) == "drawn at 1000.0"
    clock[0] += 2  # past 30 s: a session that started must leave "Starting soon"
    assert store.get(("page",), draw) == "drawn at 1031.0"

    for number in range(fragments.MAX_ENTRIES + 10):
        store.get(("catalog", number), lambda: "cards")
    assert len(store._entries) <= fragments.MAX_ENTRIES


def test_while_redis_is_away_it_is_asked_again_only_after_a_pause(app, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(fragments.time, "monotonic", lambda: clock[0])
    store = fragments.FragmentCache("redis://127.0.0.1:1/0")
    asked = []
    real_mget = store.redis.mget

    def mget(*keys):
        asked.append(keys)
        return real_mget(*keys)

    monkeypatch.setattr(store.redis, "mget", mget)
    assert store.get(("page",), lambda: "fresh") == "fresh"
    assert store.get(("page",), lambda: "fresh again") == "fresh again"
    assert len(asked) == 1  # the second page did not wait for Redis
    clock[0] += fragments.REDIS_RECHECK_SECONDS + 1
    store.get(("page",), lambda: "later")
    assert len(asked) == 2
