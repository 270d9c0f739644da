"""Every public page tells search engines and link previews what it holds, in one
`<meta name="description">` of at most about 160 characters."""

import html
import re

import pytest

from tests.factories import SessionFactory, UserFactory

META = re.compile(r'<meta name="description" content="([^"]*)">')


def description(response):
    assert response.status_code == 200
    found = META.findall(response.get_data(as_text=True))
    assert len(found) == 1, f"{len(found)} meta descriptions"
    text = html.unescape(found[0])
    assert 50 <= len(text) <= 161, text
    assert "  " not in text and "\n" not in text, text
    return text


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/", "mentors who do the work"),
        ("/sessions", "filter by category"),
        ("/auth/login", "Log in to PeerLearn"),
        ("/auth/register", "Create a free PeerLearn account"),
    ],
)
def test_each_public_page_has_its_own(client, path, words):
    assert words in description(client.get(path))


def test_a_session_is_described_by_its_mentor_and_description(client):
    mentor = UserFactory(role="mentor", name="Asha Rao")
    session = SessionFactory(
        mentor=mentor, description='Window functions & CTEs, "<b>">real</b> data.\n\nBring a laptop.'
    )
    text = description(client.get(f"/sessions/{session.id}"))
    # Shown as typed, and unable to end the attribute or open a tag.
    assert text == (
        "A live session with Asha Rao on PeerLearn. "
        'Window functions & CTEs, "<b>">real</b> data. Bring a laptop.'
    )


def test_a_long_bio_is_cut_at_a_word(client):
    mentor = UserFactory(role="mentor", name="Ravi Iyer", headline='Data "engineer"', bio="pipelines " * 60)
    text = description(client.get(f"/mentors/{mentor.id}"))
    assert text.startswith('Ravi Iyer, Data "engineer": a mentor on PeerLearn. pipelines')
    assert text.endswith("pipelines…")
