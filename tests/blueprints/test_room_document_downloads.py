"""The notes (Markdown) and whiteboard pages (PNG) downloads: for the mentor, learners with a
seat and admins; 404 for anyone else and for pages that don't exist."""

from datetime import timedelta
from io import BytesIO

import pytest
from PIL import Image

from peerlearn.models import utcnow
from peerlearn.services import booking as booking_service
from peerlearn.services import room_documents
from tests import factories
from tests.support.room_documents import Editor


@pytest.fixture
def session_with_notes(make_user, time_machine):
    time_machine.move_to(utcnow())
    mentor, learner = make_user(role="mentor"), make_user()
    session = factories.make_session(mentor, starts_at=utcnow() + timedelta(minutes=5))
    booking_service.book(session.id, learner)
    editor = Editor()
    room_documents.apply_update(mentor, session.id, editor.add_block("heading", "Recap", {"level": 1}))
    room_documents.apply_update(
        mentor, session.id, editor.add_shape({"id": "s", "kind": "line", "points": [0, 450, 1600, 450]})
    )
    return {
        "mentor": mentor,
        "learner": learner,
        "outsider": make_user(),
        "admin": make_user(role="admin"),
    }, session


@pytest.mark.parametrize("who", ["mentor", "learner", "admin"])
def test_people_who_were_there_download(app, auth, client, session_with_notes, who):
    people, session = session_with_notes
    auth.login(people[who].email)
    notes = client.get(f"/sessions/{session.id}/notes.md")
    assert notes.status_code == 200
    assert notes.headers["Content-Type"].startswith("text/markdown")
    assert "attachment" in notes.headers["Content-Disposition"]
    assert notes.get_data(as_text=True) == "# Recap\n"
    page = client.get(f"/sessions/{session.id}/whiteboard/1.png")
    assert page.status_code == 200 and page.mimetype == "image/png"
    image = Image.open(BytesIO(page.data)).convert("RGB")
    assert image.getpixel((800, 450)) == (0, 0, 0)


def test_others_and_missing_pages_get_404(app, auth, client, session_with_notes):
    people, session = session_with_notes
    assert client.get(f"/sessions/{session.id}/notes.md").status_code == 302  # sign in first
    auth.login(people["outsider"].email)
    assert client.get(f"/sessions/{session.id}/notes.md").status_code == 404
    assert client.get(f"/sessions/{session.id}/whiteboard/1.png").status_code == 404
    auth.logout()
    auth.login(people["mentor"].email)
    assert client.get(f"/sessions/{session.id}/whiteboard/2.png").status_code == 404
    assert client.get(f"/sessions/{session.id}/whiteboard/0.png").status_code == 404
    assert client.get(f"/sessions/{session.id + 99}/notes.md").status_code == 404
