"""The way into the room from the session page: Go live, Join, and the room's chat and gifts to
reread afterwards, for participants only."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from peerlearn.extensions import db
from peerlearn.models import Gift, GiftStatus, User, utcnow
from peerlearn.services import booking as booking_service
from peerlearn.services import room as room_service
from tests.conftest import extract_csrf
from tests.factories import make_session


@pytest.fixture
def soon(make_user, time_machine):
    """A free session 30 minutes ahead with one booked learner; the clock stands still."""
    now = utcnow().replace(microsecond=0)
    time_machine.move_to(now, tick=False)
    mentor = make_user(email="mentor@example.com", role="mentor", name="Meera Mentor")
    learner = make_user(email="ana@example.com", name="Ana Learner")
    make_user(email="out@example.com", name="Olu Outsider")
    session = make_session(mentor, starts_at=now + timedelta(minutes=30), title="Practical Flask")
    booking_service.book(session.id, learner)
    return session


def page(client, session):
    response = client.get(f"/sessions/{session.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_before_the_window_both_sides_are_told_when_it_opens(client, auth, soon):
    auth.login("mentor@example.com")
    html = page(client, soon)
    assert "You can go live from" in html and "Go live" not in html.replace("go live from", "")
    auth.logout()
    auth.login("ana@example.com")
    html = page(client, soon)
    assert "The room opens" in html and "Join the room" not in html


def test_the_mentor_goes_live_and_the_learner_can_join(client, auth, soon, time_machine):
    time_machine.shift(timedelta(minutes=20))  # ten minutes before the start
    auth.login("ana@example.com")
    html = page(client, soon)
    assert "Join the room" in html and "hasn't started yet" in html
    auth.logout()

    auth.login("mentor@example.com")
    html = page(client, soon)
    assert ">Go live<" in html
    response = client.post(f"/sessions/{soon.id}/start", data={"csrf_token": extract_csrf(html)})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/sessions/{soon.id}/room")
    db.session.refresh(soon)
    assert soon.status == "live"
    assert "Enter the room" in page(client, soon)
    auth.logout()

    auth.login("ana@example.com")
    html = page(client, soon)
    assert "Join the room" in html and "hasn't started yet" not in html


def test_someone_without_a_seat_gets_neither_the_button_nor_the_room_log(client, auth, soon, time_machine):
    time_machine.shift(timedelta(minutes=31))
    room_service.add_chat(soon.id, soon.mentor_id, "Welcome, everyone")
    auth.login("out@example.com")
    html = page(client, soon)
    assert "Join the room" not in html and "Welcome, everyone" not in html and "From the room" not in html


def test_after_the_session_participants_can_reread_the_chat_and_gifts(client, auth, soon, time_machine):
    time_machine.shift(timedelta(minutes=31))
    learner_id = db.session.scalar(select(User.id).where(User.email == "ana@example.com"))
    room_service.add_chat(soon.id, learner_id, "Can you share the <script>slides</script>?")
    room_service.add_chat(soon.id, soon.mentor_id, "Sure, here they are")
    db.session.add(
        Gift(
            session_id=soon.id,
            sender_id=learner_id,
            mentor_id=soon.mentor_id,
            amount_paise=10000,
            message="Thank you!",
            status=GiftStatus.PAID.value,
            paid_at=utcnow(),
        )
    )
    db.session.commit()
    time_machine.shift(timedelta(hours=3))
    for email in ("ana@example.com", "mentor@example.com"):
        auth.login(email)
        html = page(client, soon)
        assert "From the room" in html
        assert (
            "Can you share the &lt;script&gt;slides&lt;/script&gt;?" in html and "<script>slides" not in html
        )
        assert "Sure, here they are" in html
        assert "Ana Learner</strong> sent a ₹100 gift: “Thank you!”" in html
        assert "Join the room" not in html and "Enter the room" not in html
        auth.logout()
