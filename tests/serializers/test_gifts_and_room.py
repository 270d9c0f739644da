"""The gift and room serializers show the fields they name and nothing else a row holds."""

from datetime import UTC, datetime
from types import SimpleNamespace

from peerlearn.serializers.gifts import gift_json
from peerlearn.serializers.room import chat_message_json, room_session_json

AT = datetime(2026, 12, 6, 10, 30, tzinfo=UTC)


def test_a_gift_shows_its_sender_amount_and_times_not_its_payment():
    gift = SimpleNamespace(
        id=7,
        session_id=3,
        sender_id=11,
        sender=SimpleNamespace(name="Asha Rao", email="asha@example.com"),
        amount_paise=5000,
        message="Thank you!",
        status="paid",
        created_at=AT,
        paid_at=None,
        payment_id=99,
        gateway_order_id="order_secret",
    )
    assert gift_json(gift) == {
        "id": 7,
        "session_id": 3,
        "sender_id": 11,
        "sender_name": "Asha Rao",
        "amount_paise": 5000,
        "message": "Thank you!",
        "status": "paid",
        "created_at": "2026-12-06T10:30:00+00:00",
        "paid_at": None,
    }


def test_the_room_shows_a_sessions_times_and_a_messages_author():
    session = SimpleNamespace(
        id=3,
        title="Rust",
        starts_at=AT,
        ends_at=AT,
        status="live",
        mentor_id=2,
        description="Not shown in the room.",
    )
    assert set(room_session_json(session)) == {"id", "title", "starts_at", "ends_at", "status", "mentor_id"}
    message = SimpleNamespace(
        id=1, user_id=4, user=SimpleNamespace(name="Dev", email="d@example.com"), body="hi", created_at=AT
    )
    assert chat_message_json(message) == {
        "id": 1,
        "user_id": 4,
        "name": "Dev",
        "body": "hi",
        "created_at": "2026-12-06T10:30:00+00:00",
    }
