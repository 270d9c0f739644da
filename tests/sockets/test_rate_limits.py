"""The room's per-user event limits: counted in the process's memory when one server process
holds every socket, and in the shared storage (Redis) when a message queue spreads a user's
sockets over several processes."""

import uuid

import pytest
from limits import parse
from limits.storage import RedisStorage
from limits.strategies import FixedWindowRateLimiter

from peerlearn import create_app
from peerlearn.exceptions import RateLimited
from peerlearn.extensions import db, limiter
from peerlearn.sockets.validation import RATE_LIMIT_MESSAGES, RATE_LIMITS, rate_limit
from tests.conftest import reachable_redis_url
from tests.support.sockets import join, received


def chat_budget():
    return parse(RATE_LIMITS["chat"]).amount


def test_one_process_counts_in_its_memory_and_never_asks_the_storage(app):
    assert not app.config["SOCKETIO_MESSAGE_QUEUE"]
    for _ in range(chat_budget()):
        rate_limit("chat", 7)
    with pytest.raises(RateLimited) as refused:
        rate_limit("chat", 7)
    assert refused.value.retry_after >= 1
    rate_limit("chat", 8)  # another person has their own budget
    rate_limit("hand", 7)  # and so has another kind of event
    assert dict(limiter.storage.storage) == {}  # Flask-Limiter's storage counted nothing


def test_the_notes_and_whiteboard_have_their_own_budget_and_words(app):
    app.config["ROOM_RATE_LIMITS"] = {"doc": "2 per 10 seconds"}
    rate_limit("doc", 7)
    rate_limit("doc", 7)
    with pytest.raises(RateLimited, match=r"^Too many changes at once\. Slow down"):
        rate_limit("doc", 7)
    rate_limit("chat", 7)  # a chat line is not an edit


def test_each_app_counts_its_own_events(app, tmp_path):
    """Two server processes without a queue each count their own sockets' events."""
    for _ in range(chat_budget()):
        rate_limit("chat", 7)
    other = create_app("testing", {"INSTANCE_DIR": str(tmp_path / "other")})
    with other.app_context():
        rate_limit("chat", 7)


def test_with_a_message_queue_but_limits_in_memory_they_count_here(app):
    """A memory storage is this process's anyway: the room's own counters serve, not the limits
    library's MemoryStorage (whose expiry timer thread stalls a gevent server)."""
    app.config["SOCKETIO_MESSAGE_QUEUE"] = "redis://127.0.0.1:1/0"  # read only by the choice
    for _ in range(chat_budget()):
        rate_limit("chat", 7)
    with pytest.raises(RateLimited):
        rate_limit("chat", 7)
    assert dict(limiter.storage.storage) == {}


@pytest.fixture
def shared_app(tmp_path):
    url = reachable_redis_url()
    app = create_app("testing", {"INSTANCE_DIR": str(tmp_path), "RATELIMIT_STORAGE_URI": url})
    # Only the choice of counter reads it: no queue is started for this test.
    app.config["SOCKETIO_MESSAGE_QUEUE"] = url
    with app.app_context():
        yield app, url


def test_with_a_message_queue_the_limits_count_in_redis(shared_app):
    _app, url = shared_app
    user = str(uuid.uuid4().int % 10**9 + 10**9)  # nobody else's counter in the shared Redis
    item = parse(RATE_LIMITS["chat"])
    elsewhere = FixedWindowRateLimiter(RedisStorage(url))  # what another process sees
    try:
        for _ in range(item.amount - 1):
            rate_limit("chat", user)
        assert elsewhere.get_window_stats(item, "room", "chat", user).remaining == 1
        # The other process takes the last one: this process is refused.
        assert elsewhere.hit(item, "room", "chat", user)
        with pytest.raises(RateLimited):
            rate_limit("chat", user)
    finally:
        elsewhere.clear(item, "room", "chat", user)


def test_every_kind_of_event_has_its_own_words_for_a_refusal():
    assert set(RATE_LIMIT_MESSAGES) == set(RATE_LIMITS)


def test_a_hindi_member_reads_the_rooms_refusals_in_hindi_and_an_english_one_in_english(app, room, connect):
    app.config["ROOM_RATE_LIMITS"] = {"chat": "2 per 10 seconds"}  # the refused first line counts too
    room["ana"].locale = "hi"
    db.session.commit()
    sid = room["session"].id
    ana, ben = connect("ana@example.com"), connect("ben@example.com")

    # Not in the room yet: refused in her language.
    early = ana.emit("chat:send", {"session_id": sid, "body": "namaste"}, callback=True)
    assert early["error"] == {"code": "not_in_room", "message": "पहले रूम से जुड़ें।"}

    for sio in (ana, ben):
        join(sio, sid)
        assert sio.emit("chat:send", {"session_id": sid, "body": "hello"}, callback=True)["ok"]
    assert ben.emit("chat:send", {"session_id": sid, "body": "and hello"}, callback=True)["ok"]
    refused = ana.emit("chat:send", {"session_id": sid, "body": "again"}, callback=True)
    assert refused["error"]["code"] == "rate_limited"
    assert refused["error"]["message"] == "बहुत ज़्यादा चैट मैसेज। थोड़ा रुककर फिर से कोशिश करें।"
    assert received(ana, "error")[-1]["message"] == refused["error"]["message"]

    english = ben.emit("chat:send", {"session_id": sid, "body": "again"}, callback=True)
    assert english["error"]["message"] == "Too many chat messages. Slow down and try again shortly."
