"""Session cards and the landing page lead with faces: a cover on every card (uploaded or
generated), the mentor's photo or initials, rating and review count; the hero shows real
sessions and mentors, and only figures that are not embarrassingly small."""

import re

from peerlearn.extensions import db
from peerlearn.services import covers, search, showcase
from tests import factories
from tests.support.reviews import reviewed_session
from tests.support.statements import counting_statements

# --------------------------------------------------------------------------------- helpers


def card_of(page, session_id):
    """The HTML of the card linking to a session, up to its closing </a>."""
    start = page.index(f'href="/sessions/{session_id}"')
    return page[start : page.index("</a>", start)]


# ------------------------------------------------------------------------------------ cards


def test_card_shows_generated_cover_face_rating_and_review_count(client, make_user):
    mentor = make_user(role="mentor", name="Asha Raman", headline="Data")
    reviewed_session(mentor, [5, 4, 5, 1], hidden={3})  # the hidden 1 counts nowhere
    session = factories.make_session(mentor, title="Pandas for messy data", category="Data & AI")
    card = card_of(client.get("/sessions").get_data(as_text=True), session.id)
    assert 'data-cover="generated"' in card
    assert "/covers/v1/generated.svg?category=Data+%26+AI&amp;title=Pandas+for+messy+data" in card
    assert ">AR</span>" in card and "Asha Raman" in card  # initials for a mentor without a photo
    assert 'data-review-count="3"' in card and ">4.7</span>" in card and "(3<" in card


def test_card_shows_uploaded_cover_and_photo_and_no_rating_without_reviews(client, make_user):
    mentor = make_user(role="mentor", name="Vikram Nair", avatar_filename="face.webp")
    session = factories.make_session(mentor, title="System design", cover_filename="cover.webp")
    card = card_of(client.get("/sessions").get_data(as_text=True), session.id)
    assert 'data-cover="uploaded"' in card and "generated.svg" not in card
    assert 'src="/media/avatars/face.webp"' in card
    assert "data-rating" not in card and "★" not in card


def test_mentor_profile_cards_carry_the_rating(client, make_user):
    mentor = make_user(role="mentor", headline="Go")
    reviewed_session(mentor, [4, 5])
    session = factories.make_session(mentor, title="Go concurrency")
    card = card_of(client.get(f"/mentors/{mentor.id}").get_data(as_text=True), session.id)
    assert 'data-review-count="2"' in card and ">4.5</span>" in card


def test_catalog_statements_stay_flat_as_sessions_grow(client, make_user):
    """Cards read mentors' ratings with the sessions: more sessions and mentors, same count."""
    counts = {}
    for total in (2, 8):
        while len(search.featured_sessions(limit=50)) < total:
            mentor = make_user(role="mentor", headline="Teaches", avatar_filename=None)
            reviewed_session(mentor, [4, 5])
            factories.make_session(mentor, title=f"Session of {mentor.name}", skills=["Python", "SQL"])
        db.session.expire_all()
        with counting_statements() as statements:
            page = client.get("/sessions").get_data(as_text=True)
        assert page.count('data-review-count="2"') == total
        counts[total] = len(statements)
    assert counts[2] == counts[8], counts


# ---------------------------------------------------------------------------- generated covers


def test_generated_cover_is_deterministic_per_category_and_title():
    one = covers.cover_svg("Design", "Figma from zero")
    assert one == covers.cover_svg("Design", "Figma from zero")
    assert one != covers.cover_svg("Programming", "Figma from zero")  # colours follow the category
    assert one != covers.cover_svg("Design", "Figma from one")  # and the title varies the pattern
    assert ">FF</text>" in one and "<title>Figma from zero</title>" in one
    assert covers.initials("  ") == "#" and covers.initials("¿Qué tal? hola") == "QT"


def test_generated_cover_escapes_the_title():
    svg = covers.cover_svg("Other", '<script>alert(1)</script> & "quotes"')
    assert "<script" not in svg and "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in svg
    assert "aria-label='&lt;script&gt;alert(1)&lt;/script&gt; &amp; \"quotes\"'" in svg


def test_every_category_has_a_cover_style():
    from peerlearn.models import CATEGORIES

    assert set(covers.STYLES) == set(CATEGORIES)


def test_generated_cover_route_caches_and_confines(client):
    response = client.get(
        "/covers/v1/generated.svg", query_string={"category": "Career", "title": "<b>Hi</b>"}
    )
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    assert "<b>" not in response.get_data(as_text=True)
    for query in (
        {"category": "Cooking", "title": "Dal"},
        {"category": "Career"},
        {"category": "Career", "title": "x" * 121},
    ):
        assert client.get("/covers/v1/generated.svg", query_string=query).status_code == 404


def test_pages_keep_their_own_policy(client):
    assert "default-src 'self'" in client.get("/").headers["Content-Security-Policy"]


# ---------------------------------------------------------------------------------- the hero


def test_hero_shows_real_sessions_and_faces(client, make_user):
    mentor = make_user(role="mentor", name="Meera Iyer", headline="Design", avatar_filename="meera.webp")
    make_user(role="mentor", name="No Headline", headline="")
    session = factories.make_session(mentor, title="Portfolio review", category="Design")
    page = client.get("/").get_data(as_text=True)
    hero = page[: page.index('id="featured-heading"')]
    assert f'data-hero-session="{session.id}"' in hero and "Portfolio review" in hero
    assert 'src="/media/avatars/meera.webp"' in hero and "No Headline" not in hero
    assert "tile-emerald" not in page  # no placeholder squares


def test_hero_hides_figures_under_the_threshold(client, make_user):
    mentor = make_user(role="mentor", headline="Teaches")
    reviewed_session(mentor, [5] * 19)
    assert [f.key for f in showcase.hero_figures()] == []
    page = client.get("/").get_data(as_text=True)
    assert "data-figure=" not in page and "PeerLearn in numbers" not in page
    # Nothing bookable (the only session is past): the hero and the list say so, no empty frames.
    assert "data-hero-session" not in page and "No sessions are scheduled yet." in page


def test_hero_shows_figures_that_reach_the_threshold(client, make_user):
    mentor = make_user(role="mentor", headline="Teaches")
    reviewed_session(mentor, [5] * 15 + [4] * 5, hidden={0})  # 19 visible reviews, 20 learners
    for _ in range(19):
        make_user(role="mentor")
    page = client.get("/").get_data(as_text=True)
    figures = dict(re.findall(r'data-figure="([a-z]+)">([^<]+)<', page))
    # One held session, 19 visible reviews: both stay hidden; 20 learners and 20 mentors show.
    assert figures == {"learners": "20", "mentors": "20"}
    reviewed_session(mentor, [5])
    figures = {f.key: f.value for f in showcase.hero_figures()}
    assert figures["rating"] == "4.8 ★" and "sessions" not in figures
    assert {f.key: f.value for f in showcase.hero_figures(minimum=2)}["sessions"] == "2"
