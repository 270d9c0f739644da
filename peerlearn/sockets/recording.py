"""The room's recording controls (services/recording_capture.py says who is in the video).

- ``recording:start`` / ``recording:stop`` (the mentor): Janus records the room, or stops; the
  room hears ``recording:state`` ``{recording, since}``. On start, every learner in the room who
  has not chosen to be in the recording is kept out of it at Janus and asked (their page shows
  the question on ``recording:state``).
- ``recording:consent`` ``{consented}`` (anyone in the room): the answer is stored; Janus forwards
  the learner's media again, or stops forwarding it while the room records.

The room's ``room:join`` answer carries the same state (``recording``), so late joiners see it.
"""

from flask_socketio import emit

from ..services import recording_capture as capture
from ..services.realtime import session_room
from .room import presence, room_event
from .validation import Field


def _announce(session_id, state):
    emit("recording:state", {"session_id": session_id, **state}, to=session_room(session_id))


@room_event("recording:start", {}, limit="control", needs_user=True)
def on_start(user, payload):
    session_id = payload["session_id"]
    state = capture.start(user, session_id)
    roster = presence()
    out = capture.left_out(session_id, roster.participants(session_id))
    for user_id, why in out.items():
        roster.update(session_id, user_id, recording_out=why)
    capture.keep_out(session_id, list(out))
    _announce(session_id, state)
    return state


@room_event("recording:stop", {}, limit="control", needs_user=True)
def on_stop(user, payload):
    session_id = payload["session_id"]
    state = capture.stop(user, session_id)
    # Whoever was kept out may send again, as before it started.
    roster = presence()
    for participant in roster.participants(session_id):
        if participant.get("recording_out"):
            roster.update(session_id, participant["user_id"], recording_out=None)
            capture.let_in(session_id, participant)
    _announce(session_id, state)
    return state


@room_event("recording:consent", {"consented": Field(bool)}, limit="media", needs_user=True)
def on_consent(user, payload):
    session_id, consented = payload["session_id"], payload["consented"]
    answer = capture.set_consent(user, session_id, consented)
    participant = presence().update(
        session_id, user.id, recording_out=capture.exclusion({**answer, "consent": consented})
    )
    if answer["recording"] and participant is not None:
        if consented:
            capture.let_in(session_id, participant)
        else:
            capture.keep_out(session_id, [user.id])
    return answer


HANDLERS = (on_start, on_stop, on_consent)


def register(socketio):
    for handler in HANDLERS:
        socketio.on_event(handler.event_name, handler)
