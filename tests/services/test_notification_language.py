"""Notifications and emails speak their recipient's language, not the language of the request
that caused them: a Hindi reader hears in Hindi of what an English reader did, and the other
way round, and one publish tells each follower in their own language."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from peerlearn.extensions import db
from peerlearn.models import Notification, OutboundEmail
from peerlearn.services import follows
from peerlearn.services import sessions as session_service
from tests.conftest import extract_csrf
from tests.factories import make_session

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock(time_machine):
    time_machine.move_to(NOW, tick=False)


def note_of(user, kind):
    return db.session.scalar(
        select(Notification).where(Notification.user_id == user.id, Notification.kind == kind)
    )


def email_to(user):
    return db.session.scalar(select(OutboundEmail).where(OutboundEmail.user_id == user.id))


def follow_on_the_page(client, auth, follower, mentor, language):
    """``follower`` follows ``mentor`` from the mentor's page, their browser asking for ``language``."""
    headers = {"Accept-Language": language}
    auth.login(follower.email)
    page = client.get(f"/mentors/{mentor.id}", headers=headers).get_data(as_text=True)
    return client.post(
        f"/mentors/{mentor.id}/follow",
        data={"csrf_token": extract_csrf(page), "next": f"/mentors/{mentor.id}"},
        headers=headers,
        follow_redirects=True,
    )


def test_a_hindi_mentor_hears_in_hindi_of_a_follow_made_in_english(client, auth, make_user):
    mentor = make_user(role="mentor", name="Meera Iyer", locale="hi")
    follower = make_user(name="Kabir Shah")

    page = follow_on_the_page(client, auth, follower, mentor, "en").get_data(as_text=True)

    assert "You&#39;re following this mentor" in page or "You're following this mentor" in page
    note = note_of(mentor, "new_follower")
    assert note.title == "Kabir Shah ने आपको फ़ॉलो किया"
    assert note.body == "Kabir Shah अब आपको फ़ॉलो करते हैं और आपके हर नए सेशन की खबर पाएँगे।"
    email = email_to(mentor)
    assert email.subject == "Kabir Shah ने PeerLearn पर आपको फ़ॉलो किया"
    for body in (email.text_body, email.html_body):
        assert "नमस्ते Meera," in body or "आपका एक नया फ़ॉलोअर है" in body
        assert "followed you" not in body and "You received this email" not in body
    assert '<html lang="hi">' in email.html_body


def test_an_english_mentor_hears_in_english_of_a_follow_made_in_hindi(client, auth, make_user):
    mentor = make_user(role="mentor", name="Meera Iyer")
    follower = make_user(name="Kabir Shah", locale="hi")

    page = follow_on_the_page(client, auth, follower, mentor, "hi").get_data(as_text=True)

    assert "आप इस मेंटर को फ़ॉलो कर रहे हैं" in page  # the follower's own page is in Hindi
    assert note_of(mentor, "new_follower").title == "Kabir Shah followed you"
    email = email_to(mentor)
    assert email.subject == "Kabir Shah followed you on PeerLearn"
    assert email.text_body.startswith("Hi Meera,\n")
    assert '<html lang="en">' in email.html_body


def test_one_publish_tells_each_follower_in_their_own_language(make_user):
    mentor = make_user(role="mentor", name="Meera Iyer")
    hindi, english = make_user(name="Asha Rao", locale="hi"), make_user(name="Dev Patel")
    for follower in (hindi, english):
        follows.follow(follower, mentor.id)
    draft = make_session(
        mentor, title="Graph drills", status="draft", starts_at=datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    )

    session_service.publish_session(mentor, draft.id)

    assert note_of(english, "mentor_published").title == "Meera Iyer published “Graph drills”"
    assert "When: Tue 1 Dec 2026, 6:30 PM (Asia/Kolkata). 1 hour, Free." in (
        note_of(english, "mentor_published").body
    )
    assert email_to(english).subject == "New from Meera Iyer: Graph drills"
    hindi_note = note_of(hindi, "mentor_published")
    assert hindi_note.title == "Meera Iyer ने “Graph drills” पब्लिश किया"
    assert "कब:" in hindi_note.body and "मुफ़्त" in hindi_note.body and "Dec" not in hindi_note.body
    hindi_email = email_to(hindi)
    assert hindi_email.subject == "Meera Iyer की ओर से नया: Graph drills"
    assert "Meera Iyer ने एक नया सेशन पब्लिश किया" in hindi_email.html_body
