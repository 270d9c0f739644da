"""GET /api/bookings/<id>/record/: the learning record of a booking as JSON, in the API's envelope,
with absolute links, for the booking's learner, the session's mentor and admins (404 for others)."""

from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from peerlearn.extensions import db
from peerlearn.models import ChatMessage, Gift, Recording, RoomDocument
from tests.support.reviews import NOW, past_session, seat, stay
from tests.support.room_documents import Editor

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "api" / "openapi.yaml"


@pytest.fixture(autouse=True)
def frozen_clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", name="Meera Iyer", email="meera@example.com")


@pytest.fixture
def learner(make_user):
    return make_user(name="Kabir Shah", email="kabir@example.com")


@pytest.fixture
def held(mentor, learner):
    """A held session: the learner in the room for 40 of 60 minutes (two overlapping stays), a
    chat line each, a paid and a failed gift, a ready recording, notes and a drawing."""
    session = past_session(mentor)
    booking = seat(session, learner)
    stay(session, mentor, 0, 60)
    stay(session, learner, 0, 30)
    stay(session, learner, 20, 40)
    for minute, user, body in ((2, mentor, "Welcome"), (4, learner, "Hello <b>")):
        db.session.add(
            ChatMessage(
                session_id=session.id,
                user_id=user.id,
                body=body,
                created_at=session.starts_at + timedelta(minutes=minute),
            )
        )
    for amount, status in ((15000, "paid"), (9900, "failed")):
        db.session.add(
            Gift(
                session_id=session.id,
                sender_id=learner.id,
                mentor_id=mentor.id,
                amount_paise=amount,
                status=status,
                message="Thanks",
                paid_at=session.starts_at + timedelta(minutes=30) if status == "paid" else None,
            )
        )
    db.session.add(
        Recording(
            session_id=session.id,
            status="ready",
            duration_ms=3_540_000,
            storage_key="recordings/held.mp4",
            ready_at=NOW - timedelta(minutes=30),
        )
    )
    editor = Editor()
    editor.add_block("heading", "Frames", {"level": 2})
    editor.add_shape({"id": "a", "kind": "line", "points": [0, 0, 10, 10]})
    db.session.add(RoomDocument(session_id=session.id, state=editor.doc.get_update(), version=2))
    db.session.commit()
    return booking


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def record_of(client, token, booking_id):
    return client.get(f"/api/bookings/{booking_id}/record/", headers=bearer(token))


def test_the_learner_gets_the_record(app, client, api_token, held, mentor, learner):
    response = record_of(client, api_token("kabir@example.com"), held.id)

    assert response.status_code == 200
    body = response.get_json()
    assert body["success"] is True and set(body) == {"success", "data", "message", "timestamp"}
    data = body["data"]
    base = app.config["PUBLIC_BASE_URL"].rstrip("/")
    assert data["viewer_role"] == "learner" and data["ended"] is True
    assert data["booking"] == {
        "id": held.id,
        "status": "attended",
        "learner_id": learner.id,
        "url": f"{base}/bookings/{held.id}",
    }
    assert data["session"]["id"] == held.session_id
    assert [(a["name"], a["role"], a["minutes"]) for a in data["attendance"]] == [
        ("Meera Iyer", "mentor", 60),
        ("Kabir Shah", "learner", 40),
    ]
    assert [(m["name"], m["body"]) for m in data["chat"]] == [
        ("Meera Iyer", "Welcome"),
        ("Kabir Shah", "Hello <b>"),
    ]
    assert [(g["amount_paise"], g["refunded"]) for g in data["gifts"]["items"]] == [(15000, False)]
    assert data["gifts"]["total_paise"] == 15000 and data["gifts"]["currency"] == "INR"
    session_path = f"{base}/sessions/{held.session_id}"
    assert data["recording"]["status"] == "ready" and data["recording"]["duration_ms"] == 3_540_000
    assert data["recording"]["watchable"] is True and data["recording"]["url"] == f"{session_path}/recording"
    assert data["notes_url"] == f"{session_path}/notes.md"
    assert data["whiteboard_pages"] == [{"page": 1, "url": f"{session_path}/whiteboard/1.png"}]
    # Not reviewed yet, and 40 of 60 minutes is enough to: the page to write one, absolute.
    assert data["review"] is None
    assert data["review_url"] == f"{session_path}/review"


def test_the_links_open(client, auth, api_token, held):
    """The record's links lead somewhere for its learner: the recording's page, the notes and the
    whiteboard page (as signed in in a browser)."""
    data = record_of(client, api_token("kabir@example.com"), held.id).get_json()["data"]
    auth.login("kabir@example.com")
    base = client.application.config["PUBLIC_BASE_URL"].rstrip("/")
    for url, mimetype in (
        (data["notes_url"], "text/markdown"),
        (data["whiteboard_pages"][0]["url"], "image/png"),
        (data["recording"]["url"], "text/html"),
    ):
        response = client.get(url.removeprefix(base))
        assert (response.status_code, response.mimetype) == (200, mimetype), url


def test_the_mentor_and_an_admin_get_it_too(client, api_token, make_user, held):
    make_user(role="admin", email="ops@example.com")
    for email, role in (("meera@example.com", "mentor"), ("ops@example.com", "admin")):
        response = record_of(client, api_token(email), held.id)
        assert response.status_code == 200
        data = response.get_json()["data"]
        assert data["viewer_role"] == role
        # Only the learner is offered their booking's page and the review form.
        assert data["booking"]["url"] is None and data["review_url"] is None


def test_others_get_404(client, api_token, make_user, held):
    other_learner = make_user(email="other@example.com")
    seat(held.session, other_learner)  # a seat in the same session: still not this booking
    make_user(role="mentor", email="else@example.com")
    for email in ("other@example.com", "else@example.com"):
        response = record_of(client, api_token(email), held.id)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
    assert record_of(client, api_token("kabir@example.com"), 2_000_000).status_code == 404


def test_signed_out_is_401(client, held):
    response = client.get(f"/api/bookings/{held.id}/record/")
    assert response.status_code == 401 and response.get_json()["success"] is False


def test_the_answer_matches_the_documented_schema(client, api_token, held, make_user):
    """The learner's and the mentor's answers validate against the document's LearningRecord,
    and carry every field it lists."""
    document = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    validator = Draft202012Validator(
        {"$ref": "#/components/schemas/LearningRecord", "components": document["components"]},
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    schema = document["components"]["schemas"]["LearningRecord"]
    for email in ("kabir@example.com", "meera@example.com"):
        data = record_of(client, api_token(email), held.id).get_json()["data"]
        assert list(validator.iter_errors(data)) == []
        assert set(data) == set(schema["required"]) == set(schema["properties"])
