"""The live room's realtime protocol: presence, WebRTC signalling, chat, hands, media state and
the mentor's controls. The protocol is described in docs/realtime.md.

Rooms: ``session:<id>`` holds every socket in a session's room; ``session:<id>:user:<uid>``
holds one person's socket there, so signals and controls reach exactly that person.

Presence is the roster (sockets/roster.py): session -> user -> their socket and state, shared
through Redis by every server process when there is a message queue. One person is present once:
joining again from a new socket, on any process, replaces the older one. Emits go through
Flask-SocketIO, so with a message queue they reach every process.
"""

import logging
from functools import wraps

from flask import current_app, request
from flask_babel import gettext as _
from flask_socketio import emit, join_room, leave_room
from redis.exceptions import RedisError

from ..exceptions import Conflict, DomainError, PermissionDenied
from ..serializers.gifts import gift_json
from ..serializers.room import chat_message_json, room_session_json
from ..services import gifts as gift_service
from ..services import media as media_service
from ..services import recording_capture, settlement
from ..services import room as room_service
from ..services import sessions as session_service
from ..services.realtime import session_room
from .auth import authenticated_only, forget_socket, load_user
from .roster import LocalRoster, RedisRoster
from .validation import MAX_CHAT_LENGTH, MAX_PAYLOAD_BYTES, Field, rate_limit, validate

log = logging.getLogger(__name__)

SIGNAL_KINDS = frozenset({"description", "candidate", "restart"})
ROSTER_CONNECTIONS = 50  # Redis connections of one process's roster


def member_room(session_id, user_id):
    return f"session:{session_id}:user:{user_id}"


def presence():
    """This app's roster: in Redis when a message queue joins several server processes (so each
    sees every participant), otherwise in this process's memory. Each app has its own."""
    roster = current_app.extensions.get("peerlearn_room_roster")
    if roster is None:
        roster = current_app.extensions.setdefault("peerlearn_room_roster", _make_roster(current_app))
    return roster


def _make_roster(app):
    url = app.config.get("SOCKETIO_MESSAGE_QUEUE")
    if not url:
        return LocalRoster()
    from redis import BlockingConnectionPool, Redis

    from ..extensions import socketio

    # Every socket's event may be waiting on Redis at once (hundreds under gevent): beyond the
    # pool's connections an event waits for one to come free instead of failing, as redis-py's
    # default pool (100 connections, then MaxConnectionsError) would make it.
    pool = BlockingConnectionPool.from_url(
        url, max_connections=ROSTER_CONNECTIONS, timeout=10, decode_responses=True, health_check_interval=30
    )
    client = Redis(connection_pool=pool)
    prefix = f"peerlearn:roster:{app.config['SOCKETIO_CHANNEL']}"
    return RedisRoster(
        client, prefix, start_background_task=socketio.start_background_task, sleep=socketio.sleep
    )


def _error_body(exc):
    body = {"code": exc.code, "message": exc.message}
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        body["retry_after"] = retry_after
    return body


def room_event(name, schema, *, limit=None, member=True, needs_user=False):
    """Wrap a handler ``(person, payload)`` with the checks every room event gets.

    Sign-in (auth.authenticated_only: a socket whose sign-in ended is dropped), the per-user
    rate limit, the payload's shape and, unless ``member`` is False, that this socket is in the
    session's room. ``person`` is the socket's Identity, kept since connect (no database work),
    or with ``needs_user`` the whole User, loaded for handlers whose work needs it. A refusal is
    sent as an ``error`` event and returned as a negative ack; the handler's result (a dict) is
    acked with ``ok: true``.
    """
    schema = {"session_id": Field(int), **schema}

    def decorate(handler):
        @wraps(handler)
        def wrapped(identity, payload=None, *_extra):
            try:
                if limit:
                    rate_limit(limit, identity.user_id)
                validate(payload, schema)
                if member and not presence().is_member(payload["session_id"], identity.user_id, request.sid):
                    raise PermissionDenied(_("Join the room first."), code="not_in_room")
                person = identity
                if needs_user:
                    person = load_user(identity)
                    if person is None:  # suspended meanwhile: the socket is gone
                        return None
                result = handler(person, payload)
            except DomainError as exc:
                error = _error_body(exc)
            except RedisError:
                # The shared roster (or the rate-limit store) is away: refuse, keep the socket.
                log.warning("room event %s refused: Redis is unreachable", name, exc_info=True)
                error = {
                    "code": "unavailable",
                    "message": _("The room can't be reached right now. Try again shortly."),
                }
            else:
                return {"ok": True, **(result or {})}
            emit("error", {"event": name, **error})
            return {"ok": False, "error": error}

        checked = authenticated_only(wrapped)
        checked.event_name = name
        return checked

    return decorate


def _participant(user, session, *, stage):
    is_mentor = user.id == session.mentor_id
    return {
        "user_id": user.id,
        "name": user.name,
        "role": "mentor" if is_mentor else "learner",
        "hand_raised": False,
        "hand_raised_at": None,
        # May publish: always the mentor; learners too unless the room is a stage.
        "on_stage": is_mentor or not stage,
        "audio": False,
        "video": False,
        "screen": False,
    }


def _drop_socket(session_id, user_id, sid):
    """Take ``sid`` out of the session's Socket.IO rooms (the registry is handled by callers)."""
    leave_room(session_room(session_id), sid=sid, namespace="/")
    leave_room(member_room(session_id, user_id), sid=sid, namespace="/")


@room_event("room:join", {"resume": Field(bool, required=False)}, limit="join", member=False, needs_user=True)
def on_join(user, payload):
    session_id = payload["session_id"]
    session = room_service.session_for_entry(user, session_id)
    sid = request.sid
    # The media server's side first: if it refuses, nothing here has changed.
    media = media_service.join_answer(
        user, session, closes_at=room_service.closes_at(session), resume=payload.get("resume", False)
    )
    recording = recording_capture.room_state(user, session, media["mode"])
    participant = _participant(user, session, stage=media["stage"])
    out = recording_capture.exclusion(recording)
    if out is not None:  # out of a running recording: media:state keeps their media off
        participant["recording_out"] = out
    registry = presence()
    replaced = registry.add(session_id, sid, participant)
    if replaced is not None:
        emit("room:replaced", {"session_id": session_id}, to=replaced)
        _drop_socket(session_id, user.id, replaced)
    join_room(session_room(session_id))
    join_room(member_room(session_id, user.id))
    room_service.record_join(session_id, user.id, sid)
    emit(
        "room:participant_joined",
        {"session_id": session_id, "participant": participant},
        to=session_room(session_id),
        include_self=False,
    )
    return {
        "self": participant,
        "participants": registry.participants(session_id, exclude=user.id),
        "chat": [chat_message_json(message) for message in room_service.chat_history(session_id)],
        "gifts": [gift_json(gift) for gift in gift_service.paid_in_session(session_id)],
        "session": room_session_json(session),
        # The same list the page was given, with fresh TURN credentials: the client replaces
        # its own list with this one.
        "ice_servers": room_service.ice_servers(user),
        "media": media,
        # Whether it records now, and this person's answer (sockets/recording.py).
        "recording": recording,
    }


@room_event("media:token", {"replace": Field(bool, required=False)}, limit="join", needs_user=True)
def on_media_token(user, payload):
    """A fresh room token, for a second feed (a screen share) or a subscription.

    With ``replace`` (the page lost its Janus session): the whole media answer again, as at a
    fresh join: what the lost session left in the room is kicked, and if the room's instance is
    gone the room is re-created on another, whose address the answer carries."""
    session = room_service.session_for_entry(user, payload["session_id"])
    if payload.get("replace"):
        media = media_service.join_answer(user, session, closes_at=room_service.closes_at(session))
        return {"room_token": media.get("room_token"), "media": media}
    return {"room_token": media_service.room_token(user, session)}


def _leave(session_id, user_id, sid):
    """This socket leaves the room: its stay closes and, if it was the user's current socket,
    the others are told."""
    room_service.record_leave(session_id, user_id, sid)
    was_current = presence().remove(session_id, user_id, sid) is not None
    _drop_socket(session_id, user_id, sid)
    if was_current:
        emit(
            "room:participant_left",
            {"session_id": session_id, "user_id": user_id},
            to=session_room(session_id),
            include_self=False,
        )


@room_event("room:leave", {})
def on_leave(user, payload):
    _leave(payload["session_id"], user.id, request.sid)
    return {}


def on_disconnect(*_reason):
    """A dropped or closed socket leaves every room it was in (signed in or not any more), and
    its identity is forgotten."""
    forget_socket()
    sid = request.sid
    for session_id, user_id in presence().rooms_of(sid):
        try:
            _leave(session_id, user_id, sid)
        except RedisError:
            # Its stay is closed; the roster entry goes when its owner rejoins or the room ends.
            log.warning("could not take socket %s out of room %s: Redis is unreachable", sid, session_id)


@room_event(
    "signal",
    {
        "to": Field(int),
        "kind": Field(str, choices=SIGNAL_KINDS),
        "data": Field(dict, max_bytes=MAX_PAYLOAD_BYTES),
    },
    limit="signal",
    member=False,  # checked below with the addressee, in one look at the roster
)
def on_signal(user, payload):
    session_id, target = payload["session_id"], payload["to"]
    sender_present, target_present = presence().both_present(session_id, user.id, request.sid, target)
    if not sender_present:
        raise PermissionDenied(_("Join the room first."), code="not_in_room")
    if target == user.id or not target_present:
        raise PermissionDenied(_("That person is not in the room."), code="not_a_participant")
    emit(
        "signal",
        {"session_id": session_id, "from": user.id, "kind": payload["kind"], "data": payload["data"]},
        to=member_room(session_id, target),
    )
    return {}


@room_event("chat:send", {"body": Field(str, max_length=MAX_CHAT_LENGTH)}, limit="chat")
def on_chat(user, payload):
    session_id = payload["session_id"]
    # Re-checked here (with the socket's identity; the user is not loaded): chat writes to the
    # database, so an ended session or a removed person must be refused. The check and the
    # insert are one statement (services.room.post_chat).
    saved = room_service.post_chat(user, session_id, payload["body"])
    message = chat_message_json(saved, name=user.name)
    emit("chat:message", {"session_id": session_id, **message}, to=session_room(session_id))
    return {"message": message}


def _announce_hand(session_id, user_id, raised, raised_at):
    emit(
        "hand:state",
        {"session_id": session_id, "user_id": user_id, "raised": raised, "raised_at": raised_at},
        to=session_room(session_id),
    )


@room_event("hand:set", {"raised": Field(bool)}, limit="hand")
def on_hand(user, payload):
    session_id = payload["session_id"]
    raised_at = presence().set_hand(session_id, user.id, payload["raised"])
    _announce_hand(session_id, user.id, payload["raised"], raised_at)
    return {}


@room_event("media:state", {"audio": Field(bool), "video": Field(bool), "screen": Field(bool)}, limit="media")
def on_media(user, payload):
    session_id = payload["session_id"]
    state = {key: payload[key] for key in ("audio", "video", "screen")}
    current = _current(session_id, user.id)
    if (state["audio"] or state["video"] or state["screen"]) and not current.get("on_stage", True):
        raise PermissionDenied(
            _("Raise your hand: the mentor brings people on stage to speak."), code="not_on_stage"
        )
    if state["audio"] or state["video"] or state["screen"]:
        # A learner who is not in a running recording keeps everything off (sockets/recording.py).
        refusal = recording_capture.publish_refusal(current.get("recording_out"))
        if refusal is not None:
            raise refusal
    # Turning the microphone (or camera) back on after the mentor muted it lifts the mute on
    # the media server too.
    lifted = {kind: False for kind in ("audio", "video") if state[kind] and current.get(f"held_{kind}")}
    if lifted:
        media_service.moderate(session_id, user.id, list(lifted), mute=False)
        state.update({f"held_{kind}": False for kind in lifted})
    presence().update(session_id, user.id, **state)
    emit("media:state", {"session_id": session_id, "user_id": user.id, **state}, to=session_room(session_id))
    return {}


def _current(session_id, user_id):
    participant = presence().participant(session_id, user_id)
    if participant is None:
        raise PermissionDenied(_("Join the room first."), code="not_in_room")
    return participant


def _mentor_of(user, session_id):
    session = room_service.session_for_entry(user, session_id)
    if session.mentor_id != user.id:
        raise PermissionDenied(_("Only the mentor can do that."), code="mentor_only")
    return session


def _target(session_id, payload):
    target = payload["user_id"]
    if not presence().is_member(session_id, target):
        raise PermissionDenied(_("That person is not in the room."), code="not_a_participant")
    return target


@room_event("control:mute", {"user_id": Field(int)}, limit="control", needs_user=True)
def on_mute(user, payload):
    """The mentor mutes someone: the media server stops forwarding their microphone at once, and
    their page turns it off. They may turn it on again (which lifts the server's mute)."""
    return _hold(user, payload, "audio", "control:mute")


@room_event("control:video", {"user_id": Field(int)}, limit="control", needs_user=True)
def on_stop_video(user, payload):
    """The mentor stops someone's camera, the same way."""
    return _hold(user, payload, "video", "control:video")


def _hold(user, payload, kind, event):
    session_id = payload["session_id"]
    _mentor_of(user, session_id)
    target = _target(session_id, payload)
    if target == user.id:
        raise Conflict(_("Use your own controls for that."), code="cannot_control_self")
    if media_service.moderate(session_id, target, [kind], mute=True):
        presence().update(session_id, target, **{f"held_{kind}": True})
    emit(event, {"session_id": session_id, "by": user.id}, to=member_room(session_id, target))
    return {}


@room_event("stage:set", {"user_id": Field(int), "on_stage": Field(bool)}, limit="control", needs_user=True)
def on_stage(user, payload):
    """The mentor brings a learner on stage (they may publish; their hand goes down) or back."""
    session_id, on = payload["session_id"], payload["on_stage"]
    session = _mentor_of(user, session_id)
    target = _target(session_id, payload)
    if target == session.mentor_id:
        raise Conflict(_("The mentor is always on stage."), code="mentor_on_stage")
    room = media_service.room_for(session_id)
    if room is None or not room.stage:
        raise Conflict(_("Everyone here may speak: this room is not a stage."), code="not_a_stage")
    people = presence().participants(session_id)
    if on:
        cap = media_service.stage_cap(room)
        on_stage_now = sum(1 for p in people if p.get("on_stage") and p["user_id"] != target)
        if on_stage_now >= cap:
            raise Conflict(
                _("The stage holds %(num)s people at once. Move someone back first.", num=cap),
                code="stage_full",
            )
    presence().set_stage(session_id, target, on)
    # Back in the audience: the media server stops forwarding whatever they still send.
    media_service.moderate(session_id, target, ["audio", "video", "screen"], mute=not on)
    emit(
        "stage:state",
        {"session_id": session_id, "user_id": target, "on_stage": on},
        to=session_room(session_id),
    )
    if on and any(p["user_id"] == target and p.get("hand_raised") for p in people):
        presence().set_hand(session_id, target, False)
        _announce_hand(session_id, target, False, None)
    return {}


@room_event("hand:answer", {"user_id": Field(int)}, limit="control", needs_user=True)
def on_answer(user, payload):
    """The mentor takes someone's raised hand: it goes down and they are told to go ahead."""
    session_id = payload["session_id"]
    _mentor_of(user, session_id)
    target = _target(session_id, payload)
    presence().set_hand(session_id, target, False)
    _announce_hand(session_id, target, False, None)
    emit("hand:answered", {"session_id": session_id, "by": user.id}, to=member_room(session_id, target))
    return {}


@room_event("control:remove", {"user_id": Field(int)}, limit="control", needs_user=True)
def on_remove(user, payload):
    session_id = payload["session_id"]
    _mentor_of(user, session_id)
    target = payload["user_id"]
    room_service.remove_participant(user, session_id, target)  # also bars a re-join
    media_service.remove(session_id, target)  # and Janus refuses their tokens from now on
    emit("room:removed", {"session_id": session_id}, to=member_room(session_id, target))
    presence().set_hand(session_id, target, False)
    sid = presence().remove(session_id, target)
    if sid is not None:
        _drop_socket(session_id, target, sid)
    emit("room:participant_left", {"session_id": session_id, "user_id": target}, to=session_room(session_id))
    return {}


@room_event("room:end", {}, limit="control", needs_user=True)
def on_end(user, payload):
    session_id = payload["session_id"]
    _mentor_of(user, session_id)
    session = room_service.end(user, session_id)  # before the start: refused (too_early)
    # room:ended to the room, session:ended to everyone's other pages, the media room destroyed.
    session_service.announce_completed(session)
    for user_id, sid in presence().clear(session_id):
        _drop_socket(session_id, user_id, sid)
    return {"status": session.status, "message": settlement.ended_message(session)}


HANDLERS = (
    on_join,
    on_media_token,
    on_leave,
    on_signal,
    on_chat,
    on_hand,
    on_media,
    on_mute,
    on_stop_video,
    on_stage,
    on_answer,
    on_remove,
    on_end,
)


def register(socketio):
    for handler in HANDLERS:
        socketio.on_event(handler.event_name, handler)
    socketio.on_event("disconnect", on_disconnect)
