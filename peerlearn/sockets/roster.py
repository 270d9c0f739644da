"""Who is in which live room: one entry per person, holding their current socket and the state
the others see (name, role, hand, stage, media).

Two things are kept apart from the sockets, so they survive a reload, until changed or the room
empties: raised hands, in the order they went up (``hand_raised_at``, seconds since the epoch),
and who the mentor brought on stage.

Two stores with one interface. ``LocalRoster`` keeps it in this process's memory: right for a
single server process. ``RedisRoster`` keeps it in Redis, so that with a message queue every
server process sees every participant, wherever their socket is connected: a signal from a
client on one process to a client on another passes the "is the target in the room" check, and a
join on any process lists everyone. Each process marks itself alive in Redis; entries of a process
that died (and so can no longer have those sockets) are ignored and cleaned up, never ghosts.
"""

import contextlib
import json
import logging
import threading
import time
import uuid

log = logging.getLogger(__name__)


class LocalRoster:
    """Presence in this process's memory. Every method is atomic under one lock."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rooms = {}  # session_id -> {user_id: {"sid": ..., "participant": {...}}}
        self._hands = {}  # session_id -> {user_id: when their hand went up}
        self._stage = {}  # session_id -> user ids the mentor brought on stage

    def add(self, session_id, sid, participant):
        """Make ``sid`` the user's socket in the room; return the sid it replaced, if any.

        The participant's hand is set from the hand this user left up, if any, and ``on_stage``
        becomes true if the mentor had brought them on stage.
        """
        with self._lock:
            user_id = participant["user_id"]
            raised_at = self._hands.get(session_id, {}).get(user_id)
            participant["hand_raised"] = raised_at is not None
            participant["hand_raised_at"] = raised_at
            participant["on_stage"] = bool(participant.get("on_stage")) or user_id in self._stage.get(
                session_id, ()
            )
            members = self._rooms.setdefault(session_id, {})
            previous = members.get(participant["user_id"])
            members[participant["user_id"]] = {"sid": sid, "participant": dict(participant)}
        if previous is not None and previous["sid"] != sid:
            return previous["sid"]
        return None

    def remove(self, session_id, user_id, sid=None):
        """Drop the user (only if their socket is still ``sid``, when given); their sid if dropped."""
        with self._lock:
            members = self._rooms.get(session_id, {})
            entry = members.get(user_id)
            if entry is None or (sid is not None and entry["sid"] != sid):
                return None
            del members[user_id]
            if not members:
                self._rooms.pop(session_id, None)
                self._hands.pop(session_id, None)
                self._stage.pop(session_id, None)
            return entry["sid"]

    def clear(self, session_id):
        """Empty a room; return the (user_id, sid) pairs that were in it."""
        with self._lock:
            members = self._rooms.pop(session_id, {})
            self._hands.pop(session_id, None)
            self._stage.pop(session_id, None)
        return [(user_id, entry["sid"]) for user_id, entry in members.items()]

    def is_member(self, session_id, user_id, sid=None):
        with self._lock:
            entry = self._rooms.get(session_id, {}).get(user_id)
            return entry is not None and (sid is None or entry["sid"] == sid)

    def both_present(self, session_id, user_id, sid, other_id):
        """(``sid`` is ``user_id``'s socket in the room, ``other_id`` is in the room): what a
        relay from one participant to another checks."""
        return self.is_member(session_id, user_id, sid), self.is_member(session_id, other_id)

    def update(self, session_id, user_id, **changes):
        """Change a participant's visible state; the new state, or None if they are not in."""
        with self._lock:
            entry = self._rooms.get(session_id, {}).get(user_id)
            if entry is None:
                return None
            entry["participant"].update(changes)
            return dict(entry["participant"])

    def set_hand(self, session_id, user_id, raised):
        """Raise or lower the user's hand, for now and for their next socket in this room.
        Returns when it went up (kept if it was up already), or None once lowered."""
        with self._lock:
            hands = self._hands.setdefault(session_id, {})
            if raised:
                raised_at = hands.setdefault(user_id, time.time())
            else:
                hands.pop(user_id, None)
                raised_at = None
            if not hands:
                del self._hands[session_id]
            entry = self._rooms.get(session_id, {}).get(user_id)
            if entry is not None:
                entry["participant"]["hand_raised"] = raised
                entry["participant"]["hand_raised_at"] = raised_at
            return raised_at

    def set_stage(self, session_id, user_id, on_stage):
        """Bring the user on stage or back, for now and for their next socket in this room."""
        with self._lock:
            stage = self._stage.setdefault(session_id, set())
            if on_stage:
                stage.add(user_id)
            else:
                stage.discard(user_id)
            if not stage:
                del self._stage[session_id]
            entry = self._rooms.get(session_id, {}).get(user_id)
            if entry is not None:
                entry["participant"]["on_stage"] = on_stage

    def participant(self, session_id, user_id):
        """One participant's visible state, or None if they are not in the room."""
        with self._lock:
            entry = self._rooms.get(session_id, {}).get(user_id)
            return dict(entry["participant"]) if entry is not None else None

    def participants(self, session_id, *, exclude=None):
        with self._lock:
            return [
                dict(entry["participant"])
                for user_id, entry in self._rooms.get(session_id, {}).items()
                if user_id != exclude
            ]

    def rooms_of(self, sid):
        """(session_id, user_id) pairs where ``sid`` is the current socket."""
        with self._lock:
            return [
                (session_id, user_id)
                for session_id, members in self._rooms.items()
                for user_id, entry in members.items()
                if entry["sid"] == sid
            ]


# The scripts work on one room: KEYS[1] its hash (field = user id, value = {"sid", "node",
# "participant"}), KEYS[2] a sorted set of user ids with a raised hand (score: when it went up)
# and KEYS[3] the set of user ids on stage, both kept apart from the sockets so they survive a
# reload, until changed or the room empties.
_ADD = """
local entry = cjson.decode(ARGV[2])
local raised_at = redis.call('ZSCORE', KEYS[2], ARGV[1])
entry['participant']['hand_raised'] = raised_at ~= false
entry['participant']['hand_raised_at'] = raised_at and tonumber(raised_at) or cjson.null
if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 1 then entry['participant']['on_stage'] = true end
local previous = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(entry))
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return {previous or false, cjson.encode(entry['participant'])}
"""
_REMOVE = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return nil end
if ARGV[2] ~= '' and cjson.decode(current)['sid'] ~= ARGV[2] then return nil end
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('DEL', KEYS[2], KEYS[3]) end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return current
"""
_SET_HAND = """
local raised_at = false
if ARGV[2] == '1' then
  redis.call('ZADD', KEYS[2], 'NX', ARGV[4], ARGV[1])
  redis.call('EXPIRE', KEYS[2], ARGV[3])
  raised_at = redis.call('ZSCORE', KEYS[2], ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  local entry = cjson.decode(current)
  entry['participant']['hand_raised'] = ARGV[2] == '1'
  entry['participant']['hand_raised_at'] = raised_at and tonumber(raised_at) or cjson.null
  redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(entry))
end
return raised_at
"""
_SET_STAGE = """
if ARGV[2] == '1' then
  redis.call('SADD', KEYS[3], ARGV[1])
  redis.call('EXPIRE', KEYS[3], ARGV[3])
else
  redis.call('SREM', KEYS[3], ARGV[1])
end
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return nil end
local entry = cjson.decode(current)
entry['participant']['on_stage'] = ARGV[2] == '1'
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(entry))
return 1
"""
_UPDATE = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return nil end
local entry = cjson.decode(current)
for key, value in pairs(cjson.decode(ARGV[2])) do entry['participant'][key] = value end
local encoded = cjson.encode(entry)
redis.call('HSET', KEYS[1], ARGV[1], encoded)
return encoded
"""
_CLEAR = """
local entries = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return entries
"""


class RedisRoster:
    """Presence shared by every server process through Redis (see the module docstring).

    Who is in which room (user -> socket) is also cached in each process, so that a relay's
    check of its sender and addressee waits on nothing: every change of a room's members (a
    join, a leave, a removal, the room cleared) publishes the room's id on a pub/sub channel in
    the same Lua script that makes it, and every process drops its copy of that room when it
    hears it (its own changes drop it at once). The cache is used only while this process is
    subscribed: before the subscription is confirmed, and from the moment it is lost until it is
    back, every check reads Redis, and the cache starts empty again. A room's copy is also read
    again after MEMBERS_CACHE_SECONDS, so the entries of a process that died (which publishes
    nothing) are dropped as they are from Redis reads.
    """

    NODE_TTL_SECONDS = 45
    HEARTBEAT_SECONDS = 15
    ROOM_TTL_SECONDS = 24 * 3600
    MEMBERS_CACHE_SECONDS = 5
    LISTEN_RETRY_SECONDS = 1
    MAX_CACHED_ROOMS = 10_000

    def __init__(self, client, prefix, *, start_background_task, sleep):
        self._redis = client
        self._prefix = prefix
        self._node = uuid.uuid4().hex
        self._start_background_task = start_background_task
        self._sleep = sleep
        self._heartbeat = None
        self._lock = threading.Lock()
        self._local = {}  # sid -> {(session_id, user_id)} for sockets on this process
        self._channel = f"{prefix}:changes"
        self._members = {}  # session_id -> (read at, {user_id: sid}): live members, cached
        self._generation = 0  # counts changes heard: a read begun before one is not cached
        self._listening = False  # subscribed to the changes channel: the cache may be used
        self._listener = False
        self._pubsub = None
        self._closed = False
        self._add = client.register_script(_ADD)
        self._remove = client.register_script(_REMOVE)
        self._update = client.register_script(_UPDATE)
        self._set_hand = client.register_script(_SET_HAND)
        self._set_stage = client.register_script(_SET_STAGE)
        self._clear = client.register_script(_CLEAR)

    # ----- keys and liveness

    def _room_key(self, session_id):
        return f"{self._prefix}:room:{session_id}"

    def _keys(self, session_id):
        return [
            self._room_key(session_id),
            f"{self._prefix}:hands:{session_id}",
            f"{self._prefix}:stage:{session_id}",
        ]

    def _node_key(self, node):
        return f"{self._prefix}:node:{node}"

    def _mark_alive(self):
        self._redis.set(self._node_key(self._node), "1", ex=self.NODE_TTL_SECONDS)

    def _beat(self):
        while True:
            self._sleep(self.HEARTBEAT_SECONDS)
            try:
                self._mark_alive()
            except Exception:  # Redis away for a moment: the next beat tries again
                log.warning("could not refresh this server's presence in Redis", exc_info=True)

    def _ensure_heartbeat(self):
        with self._lock:
            if self._heartbeat is not None:
                return
            self._heartbeat = True
        self._mark_alive()
        self._heartbeat = self._start_background_task(self._beat)

    def _live(self, entries):
        """Drop (and forget) entries whose process is gone."""
        nodes = {entry["node"] for entry in entries.values()}
        if not nodes:
            return entries
        alive = dict(zip(nodes, self._redis.mget([self._node_key(node) for node in nodes]), strict=True))
        return {user_id: entry for user_id, entry in entries.items() if alive[entry["node"]] is not None}

    def _entries(self, session_id):
        raw = self._redis.hgetall(self._room_key(session_id))
        entries = {int(user_id): json.loads(value) for user_id, value in raw.items()}
        live = self._live(entries)
        dead = [str(user_id) for user_id in entries if user_id not in live]
        if dead:
            self._redis.hdel(self._room_key(session_id), *dead)
        return live

    # ----- the members cache (see the class docstring)

    def _ensure_listener(self):
        with self._lock:
            if self._listener:
                return
            self._listener = True
        self._start_background_task(self._listen)

    def close(self):
        """Stop listening for changes (the roster then reads Redis for every check)."""
        self._closed = True
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                self._pubsub.close()

    def _listen(self):
        while not self._closed:
            pubsub = self._pubsub = self._redis.pubsub()
            try:
                pubsub.subscribe(self._channel)
                for message in pubsub.listen():
                    if message["type"] == "subscribe":
                        self._forget_members(listening=True)
                    elif message["type"] == "message":
                        try:
                            self._changed(int(message["data"]))
                        except ValueError:
                            log.warning("ignored a malformed roster notice: %r", message["data"][:200])
            except Exception:  # Redis away: every check reads Redis until subscribed again
                if not self._closed:
                    log.warning("lost the roster's change notices; subscribing again", exc_info=True)
            finally:
                self._forget_members(listening=False)
                with contextlib.suppress(Exception):  # its connection may be gone already
                    pubsub.close()
            if not self._closed:
                self._sleep(self.LISTEN_RETRY_SECONDS)

    def _forget_members(self, *, listening):
        with self._lock:
            self._listening = listening
            self._generation += 1
            self._members.clear()

    def _changed(self, session_id):
        with self._lock:
            self._generation += 1
            self._members.pop(session_id, None)

    def _members_of(self, session_id):
        """{user_id: sid} of the room's live members: this process's copy while it hears the
        changes, else (and then kept) read from Redis."""
        now = time.monotonic()
        with self._lock:
            cached = self._members.get(session_id) if self._listening else None
            generation = self._generation
        if cached is not None and now - cached[0] < self.MEMBERS_CACHE_SECONDS:
            return cached[1]
        self._ensure_listener()
        members = {user_id: entry["sid"] for user_id, entry in self._entries(session_id).items()}
        with self._lock:
            # Not kept if a change was heard meanwhile: what was read may predate it.
            if self._listening and self._generation == generation:
                if len(self._members) >= self.MAX_CACHED_ROOMS:
                    self._members.clear()
                self._members[session_id] = (now, members)
        return members

    def _track(self, sid, pair, present):
        with self._lock:
            pairs = self._local.setdefault(sid, set())
            if present:
                pairs.add(pair)
            else:
                pairs.discard(pair)
            if not pairs:
                self._local.pop(sid, None)

    # ----- the roster interface

    def add(self, session_id, sid, participant):
        self._ensure_heartbeat()
        self._ensure_listener()
        user_id = participant["user_id"]
        entry = json.dumps({"sid": sid, "node": self._node, "participant": participant})
        previous, stored = self._add(
            keys=self._keys(session_id),
            args=[str(user_id), entry, self.ROOM_TTL_SECONDS, self._channel, session_id],
        )
        self._changed(session_id)
        participant.update(json.loads(stored))
        self._track(sid, (session_id, user_id), True)
        if not previous:
            return None
        previous = json.loads(previous)
        if previous["sid"] == sid:
            return None
        self._track(previous["sid"], (session_id, user_id), False)
        alive = self._redis.exists(self._node_key(previous["node"]))
        return previous["sid"] if alive else None

    def remove(self, session_id, user_id, sid=None):
        removed = self._remove(
            keys=self._keys(session_id), args=[str(user_id), sid or "", self._channel, session_id]
        )
        if removed is None:
            return None
        self._changed(session_id)
        removed_sid = json.loads(removed)["sid"]
        self._track(removed_sid, (session_id, user_id), False)
        return removed_sid

    def clear(self, session_id):
        flat = self._clear(keys=self._keys(session_id), args=[self._channel, session_id])
        self._changed(session_id)
        pairs = []
        for user_id, value in zip(flat[::2], flat[1::2], strict=True):
            sid = json.loads(value)["sid"]
            pairs.append((int(user_id), sid))
            self._track(sid, (session_id, int(user_id)), False)
        return pairs

    def is_member(self, session_id, user_id, sid=None):
        if sid is not None:
            # Asked about a socket of this process: known here when absent.
            with self._lock:
                if (session_id, user_id) not in self._local.get(sid, ()):
                    return False
        members = self._members_of(session_id)
        return user_id in members and (sid is None or members[user_id] == sid)

    def both_present(self, session_id, user_id, sid, other_id):
        """As LocalRoster.both_present: from this process's copy of the room's members while it
        hears their changes (a relay's only wait is then its emit), else in one read of Redis."""
        with self._lock:
            mine = (session_id, user_id) in self._local.get(sid, ())
        if not mine:
            return False, self.is_member(session_id, other_id)
        members = self._members_of(session_id)
        return members.get(user_id) == sid, other_id in members

    def update(self, session_id, user_id, **changes):
        updated = self._update(keys=[self._room_key(session_id)], args=[str(user_id), json.dumps(changes)])
        return json.loads(updated)["participant"] if updated is not None else None

    def set_hand(self, session_id, user_id, raised):
        raised_at = self._set_hand(
            keys=self._keys(session_id),
            args=[str(user_id), "1" if raised else "0", self.ROOM_TTL_SECONDS, repr(time.time())],
        )
        return float(raised_at) if raised_at is not None else None

    def set_stage(self, session_id, user_id, on_stage):
        self._set_stage(
            keys=self._keys(session_id), args=[str(user_id), "1" if on_stage else "0", self.ROOM_TTL_SECONDS]
        )

    def participant(self, session_id, user_id):
        value = self._redis.hget(self._room_key(session_id), str(user_id))
        return json.loads(value)["participant"] if value is not None else None

    def participants(self, session_id, *, exclude=None):
        return [
            entry["participant"]
            for user_id, entry in sorted(self._entries(session_id).items())
            if user_id != exclude
        ]

    def rooms_of(self, sid):
        with self._lock:
            return sorted(self._local.get(sid, ()))
