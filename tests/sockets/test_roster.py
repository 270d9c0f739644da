"""The room roster: the same behaviour from process memory and from Redis, where every server
process sees every participant and a dead process leaves no ghosts."""

import os
import threading
import time
import uuid

import pytest

from peerlearn.sockets.roster import LocalRoster, RedisRoster
from tests.conftest import unavailable


@pytest.fixture
def redis_client():
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        unavailable("set TEST_REDIS_URL=redis://… to run the Redis roster tests")
    from redis import Redis
    from redis.exceptions import RedisError

    client = Redis.from_url(url, decode_responses=True)
    try:
        client.ping()
    except RedisError as exc:
        unavailable(f"Redis at TEST_REDIS_URL is not reachable: {exc}")
    prefix = f"test-roster-{uuid.uuid4().hex}"
    yield client, prefix
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def no_background(_task):
    """Heartbeats are not needed within a test: each process marks itself alive on first use."""
    return None


def redis_roster(client, prefix):
    return RedisRoster(client, prefix, start_background_task=no_background, sleep=lambda _s: None)


@pytest.fixture(params=["local", "redis"])
def make_rosters(request):
    """A factory of rosters that share state as server processes of one deployment do."""
    if request.param == "local":
        shared = LocalRoster()
        return lambda: shared
    client, prefix = request.getfixturevalue("redis_client")
    return lambda: redis_roster(client, prefix)


def person(user_id, name="Ana"):
    return {"user_id": user_id, "name": name, "role": "learner", "hand_raised": False, "audio": False}


def test_one_entry_per_person_and_the_newer_socket_wins(make_rosters):
    roster = make_rosters()
    assert roster.add(7, "sid-a", person(1)) is None
    assert roster.add(7, "sid-b", person(1)) == "sid-a"  # a reload replaces the old socket
    assert roster.is_member(7, 1) and roster.is_member(7, 1, "sid-b")
    assert not roster.is_member(7, 1, "sid-a")
    assert [p["user_id"] for p in roster.participants(7)] == [1]
    assert roster.rooms_of("sid-b") == [(7, 1)] and roster.rooms_of("sid-a") == []
    # The old socket's late disconnect does not take the person out.
    assert roster.remove(7, 1, "sid-a") is None
    assert roster.remove(7, 1, "sid-b") == "sid-b"
    assert roster.participants(7) == [] and not roster.is_member(7, 1)


def test_a_relay_checks_its_sender_and_addressee_at_once(make_rosters):
    first, second = make_rosters(), make_rosters()
    first.add(7, "sid-ana", person(1))
    second.add(7, "sid-meera", person(2, "Meera"))
    assert first.both_present(7, 1, "sid-ana", 2) == (True, True)  # across processes too
    assert first.both_present(7, 1, "sid-ana", 3) == (True, False)  # nobody of that id
    assert first.both_present(7, 1, "sid-old-tab", 2) == (False, True)  # not the current socket
    assert first.both_present(8, 1, "sid-ana", 2) == (False, False)  # another room
    first.add(7, "sid-ana-reloaded", person(1))
    assert first.both_present(7, 1, "sid-ana", 2) == (False, True)
    assert second.remove(7, 2, "sid-meera") == "sid-meera"
    assert first.both_present(7, 1, "sid-ana-reloaded", 2) == (True, False)


def test_state_updates_and_hands_survive_a_reload(make_rosters):
    roster = make_rosters()
    roster.add(7, "sid-a", person(1))
    roster.add(7, "sid-m", person(2, "Meera"))
    assert roster.update(7, 1, audio=True, video=True)["audio"] is True
    assert roster.update(7, 99, audio=True) is None
    roster.set_hand(7, 1, True)
    roster.remove(7, 1, "sid-a")
    again = person(1)
    roster.add(7, "sid-a2", again)
    assert again["hand_raised"] is True
    assert [p["hand_raised"] for p in roster.participants(7, exclude=2)] == [True]
    roster.set_hand(7, 1, False)
    assert roster.participants(7, exclude=2)[0]["hand_raised"] is False


def test_hands_keep_the_order_they_went_up_in(make_rosters, time_machine):
    roster = make_rosters()
    for user_id in (1, 2, 3):
        roster.add(7, f"sid-{user_id}", person(user_id))
    time_machine.move_to("2026-12-06 10:00:00Z", tick=False)
    first = roster.set_hand(7, 3, True)
    time_machine.move_to("2026-12-06 10:00:05Z", tick=False)
    second = roster.set_hand(7, 1, True)
    time_machine.move_to("2026-12-06 10:00:09Z", tick=False)
    # Raising a hand that is up already keeps its place in the queue.
    assert roster.set_hand(7, 3, True) == first < second
    queue = sorted((p for p in roster.participants(7) if p["hand_raised"]), key=lambda p: p["hand_raised_at"])
    assert [p["user_id"] for p in queue] == [3, 1]
    # Over a reload the place is kept too; lowered, it is gone.
    roster.remove(7, 3, "sid-3")
    back = person(3)
    roster.add(7, "sid-3b", back)
    assert back["hand_raised_at"] == first
    assert roster.set_hand(7, 3, False) is None
    assert roster.participant(7, 3)["hand_raised_at"] is None


def test_the_stage_survives_a_reload_and_empties_with_the_room(make_rosters):
    roster = make_rosters()
    roster.add(7, "sid-m", {**person(2, "Meera"), "on_stage": True})
    roster.add(7, "sid-a", {**person(1), "on_stage": False})
    assert roster.participant(7, 1)["on_stage"] is False
    roster.set_stage(7, 1, True)
    assert roster.participant(7, 1)["on_stage"] is True
    roster.remove(7, 1, "sid-a")
    again = {**person(1), "on_stage": False}
    roster.add(7, "sid-a2", again)
    assert again["on_stage"] is True  # brought on stage, still there after a reload
    roster.set_stage(7, 1, False)
    assert roster.participant(7, 1)["on_stage"] is False
    roster.set_stage(7, 1, True)
    roster.clear(7)
    fresh = {**person(1), "on_stage": False}
    roster.add(7, "sid-a3", fresh)
    assert fresh["on_stage"] is False
    assert roster.participant(7, 99) is None


def test_an_emptied_room_forgets_its_hands_and_clear_empties_it(make_rosters):
    roster = make_rosters()
    roster.add(7, "sid-a", person(1))
    roster.set_hand(7, 1, True)
    roster.remove(7, 1)
    fresh = person(1)
    roster.add(7, "sid-b", fresh)
    assert fresh["hand_raised"] is False
    roster.add(7, "sid-m", person(2, "Meera"))
    assert sorted(roster.clear(7)) == [(1, "sid-b"), (2, "sid-m")]
    assert roster.participants(7) == [] and roster.rooms_of("sid-m") == []


def test_two_processes_see_each_other(redis_client):
    client, prefix = redis_client
    first, second = redis_roster(client, prefix), redis_roster(client, prefix)
    first.add(7, "sid-on-first", person(1))
    second.add(7, "sid-on-second", person(2, "Meera"))
    # A signal from the second process to someone on the first passes the membership check.
    assert second.is_member(7, 1) and first.is_member(7, 2)
    assert {p["user_id"] for p in first.participants(7)} == {1, 2}
    # Reconnecting through the other process replaces the socket on the first.
    assert second.add(7, "sid-1-on-second", person(1)) == "sid-on-first"
    assert first.remove(7, 1, "sid-on-first") is None  # its late disconnect changes nothing
    assert second.is_member(7, 1, "sid-1-on-second")


def test_a_dead_process_leaves_no_ghosts(redis_client):
    client, prefix = redis_client
    alive, dying = redis_roster(client, prefix), redis_roster(client, prefix)
    alive.add(7, "sid-alive", person(1))
    dying.add(7, "sid-dying", person(2, "Ben"))
    assert alive.is_member(7, 2) and alive.both_present(7, 1, "sid-alive", 2) == (True, True)
    client.delete(f"{prefix}:node:{dying._node}")  # its heartbeat key expired
    assert alive.both_present(7, 1, "sid-alive", 2) == (True, False)
    assert not alive.is_member(7, 2)
    assert [p["user_id"] for p in alive.participants(7)] == [1]
    assert client.hget(f"{prefix}:room:7", "2") is None  # and it was cleaned up
    # Coming back through a live process is a plain join, not a replacement of a dead socket.
    assert alive.add(7, "sid-ben-new", person(2, "Ben")) is None


def test_the_heartbeat_keeps_the_process_alive(redis_client):
    client, prefix = redis_client
    beats = threading.Event()
    started = []

    def start(task):
        started.append(task)

    def sleep(_seconds):
        if beats.is_set():
            raise SystemExit  # end the loop after one beat
        beats.set()

    roster = RedisRoster(client, prefix, start_background_task=start, sleep=sleep)
    roster.add(7, "sid", person(1))
    (task,) = [task for task in started if task.__name__ == "_beat"]
    client.delete(f"{prefix}:node:{roster._node}")
    with pytest.raises(SystemExit):
        task()
    assert client.ttl(f"{prefix}:node:{roster._node}") > 0


@pytest.fixture
def listening_roster(redis_client):
    """A factory of rosters as server processes run them (heartbeat and change listener in
    threads), closed after the test."""
    client, prefix = redis_client
    made = []

    def start(task):
        if task.__name__ == "_listen":
            threading.Thread(target=task, daemon=True).start()

    def make():
        roster = RedisRoster(client, prefix, start_background_task=start, sleep=time.sleep)
        roster.MEMBERS_CACHE_SECONDS = 3600  # here only a change notice may refresh a copy
        made.append(roster)
        return roster

    yield make
    for roster in made:
        roster.close()


def eventually(check, timeout=10):
    """Wait for ``check()`` to be true (a notice crosses Redis on its own thread)."""
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(0.01)
    return check()


def test_relays_are_checked_on_this_process_copy_kept_fresh_by_every_process_changes(
    redis_client, listening_roster
):
    client, prefix = redis_client
    here, there = listening_roster(), listening_roster()
    here.add(7, "sid-ana", person(1))
    there.add(7, "sid-meera", person(2, "Meera"))
    assert eventually(lambda: here._listening and there._listening)
    assert here.both_present(7, 1, "sid-ana", 2) == (True, True)

    # The notices of the two adds may still be on their way and drop the copy just made: wait
    # until a copy is kept that no notice drops for a moment.
    def copy_kept():
        here.both_present(7, 1, "sid-ana", 2)
        generation = here._generation
        time.sleep(0.2)
        return 7 in here._members and here._generation == generation

    assert eventually(copy_kept)

    # Read from the copy: the room's hash changed behind the rosters' back (no notice) is not seen.
    saved = client.hgetall(f"{prefix}:room:7")
    client.delete(f"{prefix}:room:7")
    assert here.both_present(7, 1, "sid-ana", 2) == (True, True)
    client.hset(f"{prefix}:room:7", mapping=saved)

    # A change made by the other process reaches this one's copy.
    there.remove(7, 2)
    assert eventually(lambda: here.both_present(7, 1, "sid-ana", 2) == (True, False))
    there.add(7, "sid-meera-2", person(2, "Meera"))
    assert eventually(lambda: here.both_present(7, 1, "sid-ana", 2) == (True, True))
    # Ana opens the room again on the other process: her socket here may no longer send.
    there.add(7, "sid-ana-2", person(1))
    assert eventually(lambda: here.both_present(7, 1, "sid-ana", 2) == (False, True))
    assert not here.is_member(7, 1, "sid-ana")
    assert there.both_present(7, 1, "sid-ana-2", 2) == (True, True)
    # The room ended on the other process: nobody is left in it, here either.
    there.clear(7)
    assert eventually(lambda: not here.is_member(7, 2))


def test_a_change_made_here_is_seen_here_at_once(listening_roster):
    roster = listening_roster()
    roster.add(7, "sid-ana", person(1))
    assert eventually(lambda: roster._listening)
    assert roster.both_present(7, 1, "sid-ana", 2) == (True, False)
    roster.add(7, "sid-meera", person(2, "Meera"))
    assert roster.both_present(7, 1, "sid-ana", 2) == (True, True)  # no wait for the notice
    roster.remove(7, 2)
    assert roster.both_present(7, 1, "sid-ana", 2) == (True, False)


def test_a_roster_not_subscribed_to_the_changes_reads_redis_every_time(redis_client):
    client, prefix = redis_client
    roster = redis_roster(client, prefix)  # no background tasks: never subscribed
    roster.add(7, "sid-ana", person(1))
    roster.add(7, "sid-meera", person(2, "Meera"))
    assert roster.both_present(7, 1, "sid-ana", 2) == (True, True)
    client.hdel(f"{prefix}:room:7", "2")  # behind its back, without a notice
    assert roster.both_present(7, 1, "sid-ana", 2) == (True, False)
