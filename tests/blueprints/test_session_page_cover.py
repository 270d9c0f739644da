"""A session's page leads with its cover: the one its mentor uploaded, else the generated one, in
a box of fixed 16:9 proportions (width and height given) so the page does not move when it loads."""

import re

from tests import factories


def cover_tag(page):
    match = re.search(r"<img [^>]*data-cover=\"[a-z]+\"[^>]*>", page)
    assert match, "the session page shows no cover"
    return match.group(0)


def test_page_shows_the_generated_cover_when_none_was_uploaded(client, make_user):
    mentor = make_user(role="mentor", name="Asha Raman")
    session = factories.make_session(mentor, title="Pandas for messy data", category="Data & AI")
    tag = cover_tag(client.get(f"/sessions/{session.id}").get_data(as_text=True))
    assert 'data-cover="generated"' in tag
    assert 'src="/covers/v1/generated.svg?category=Data+%26+AI&amp;title=Pandas+for+messy+data"' in tag
    assert 'width="640"' in tag and 'height="360"' in tag and "aspect-video" in tag
    assert 'alt="Cover for Pandas for messy data: the Data &amp; AI pattern' in tag


def test_page_shows_the_uploaded_cover(client, make_user):
    mentor = make_user(role="mentor", name="Asha Raman")
    session = factories.make_session(mentor, title="System design", cover_filename="cover.webp")
    page = client.get(f"/sessions/{session.id}").get_data(as_text=True)
    tag = cover_tag(page)
    assert 'data-cover="uploaded"' in tag and 'src="/media/covers/cover.webp"' in tag
    assert 'width="640"' in tag and 'height="360"' in tag and "aspect-video" in tag
    assert 'alt="Cover image for System design, from Asha Raman"' in tag
    assert "generated.svg" not in page.split("<main", 1)[1].split("Similar", 1)[0]


def test_the_cover_alt_text_is_escaped(client, make_user):
    mentor = make_user(role="mentor", name="Asha Raman")
    session = factories.make_session(mentor, title='Quotes " and <tags>')
    tag = cover_tag(client.get(f"/sessions/{session.id}").get_data(as_text=True))
    assert "<tags>" not in tag and ("&#34;" in tag or "&quot;" in tag)
