"""A small client for Janus's HTTP API and admin API, as the app uses them.

The app never carries media. It talks to Janus only to manage VideoRoom rooms (create, check,
destroy, kick, moderate, the list of allowed room tokens, recording) and to read an instance's load; the
browsers talk to Janus themselves with the tokens the app gives them.

Every plugin request runs in a short-lived Janus session (create, attach, the requests,
destroy): a handful of loopback round trips, and nothing to keep alive between requests. The
app signs its own core token for each one.
"""

import logging
import secrets
import time
from dataclasses import dataclass

import requests

from . import tokens

log = logging.getLogger(__name__)

# VideoRoom error codes the app acts on (janus_videoroom.c).
NO_SUCH_ROOM = 426
NO_SUCH_FEED = 428
ROOM_EXISTS = 427


class JanusError(Exception):
    """Janus answered with an error: ``code`` is Janus's or the VideoRoom plugin's."""

    def __init__(self, code, reason):
        super().__init__(f"Janus error {code}: {reason}")
        self.code = code
        self.reason = reason


class JanusUnavailable(JanusError):
    """The instance did not answer (down, unreachable, timed out, or not Janus)."""

    def __init__(self, reason):
        super().__init__(0, reason)


@dataclass(frozen=True)
class Instance:
    """One Janus server. ``api`` and ``admin`` are how the app reaches it (loopback or a private
    network); ``public`` is the WebSocket URL browsers use (behind nginx in production)."""

    name: str
    api: str
    admin: str
    public: str

    @classmethod
    def from_config(cls, item):
        missing = [key for key in ("name", "api", "admin", "public") if not item.get(key)]
        if missing:
            raise ValueError(f"a JANUS_INSTANCES entry lacks {', '.join(missing)}")
        return cls(
            name=str(item["name"]),
            api=str(item["api"]).rstrip("/"),
            admin=str(item["admin"]).rstrip("/"),
            public=str(item["public"]),
        )


class Janus:
    """The app's handle on one instance."""

    def __init__(self, instance, *, token_secret, admin_secret, admin_key, timeout=5.0):
        self.instance = instance
        self.token_secret = token_secret
        self.admin_secret = admin_secret
        self.admin_key = admin_key
        self.timeout = timeout

    # ----- transport -----------------------------------------------------------------------

    def _post(self, url, body):
        body = {"transaction": secrets.token_hex(8), **body}
        try:
            response = requests.post(url, json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            raise JanusUnavailable(f"{self.instance.name} is unreachable: {exc}") from exc
        if response.status_code != 200:
            raise JanusUnavailable(f"{self.instance.name} answered HTTP {response.status_code}")
        try:
            reply = response.json()
        except ValueError as exc:
            raise JanusUnavailable(f"{self.instance.name} answered something that is not JSON") from exc
        if reply.get("janus") == "error":
            error = reply.get("error") or {}
            raise JanusError(error.get("code", 0), error.get("reason", "unknown error"))
        return reply

    def _token(self):
        # The app's own requests: a token that outlives them, and nothing more.
        return tokens.core_token(self.token_secret, time.time() + 120)

    def info(self):
        """The server's self-description (GET /info needs no token)."""
        try:
            response = requests.get(f"{self.instance.api}/info", timeout=self.timeout)
            response.raise_for_status()
            return response.json()
        except (requests.RequestException, ValueError) as exc:
            raise JanusUnavailable(f"{self.instance.name} is unreachable: {exc}") from exc

    # ----- the VideoRoom plugin ------------------------------------------------------------

    def videoroom(self, *bodies, ignore=()):
        """Send synchronous VideoRoom requests in one Janus session; their answers, in order.

        A VideoRoom error raises JanusError after the session is closed, unless its code is in
        ``ignore`` (that request's answer is then None and the next one is sent).
        """
        token = self._token()
        session = self._post(self.instance.api, {"janus": "create", "token": token})["data"]["id"]
        try:
            handle = self._post(
                f"{self.instance.api}/{session}",
                {"janus": "attach", "plugin": tokens.VIDEOROOM, "token": token},
            )["data"]["id"]
            answers = []
            for body in bodies:
                reply = self._post(
                    f"{self.instance.api}/{session}/{handle}",
                    {"janus": "message", "body": body, "token": token},
                )
                data = (reply.get("plugindata") or {}).get("data") or {}
                if "error_code" in data:
                    if data["error_code"] in ignore:
                        answers.append(None)
                        continue
                    raise JanusError(data["error_code"], data.get("error", "VideoRoom error"))
                answers.append(data)
            return answers
        finally:
            try:
                self._post(f"{self.instance.api}/{session}", {"janus": "destroy", "token": token})
            except JanusError:
                log.debug("closing a Janus session on %s failed", self.instance.name, exc_info=True)

    def create_room(
        self, room, *, secret, description, publishers, bitrate, audiolevel_event=True, rec_dir=None
    ):
        """A private room that only signed, allowed room tokens may join. With ``rec_dir`` it is
        recorded from the start into that folder (a room made again while its session records)."""
        recording = {"record": True, "rec_dir": str(rec_dir)} if rec_dir is not None else {}
        return self.videoroom(
            {
                **recording,
                "request": "create",
                "admin_key": self.admin_key,
                "room": room,
                "description": description,
                "is_private": True,
                "secret": secret,
                "signed_tokens": True,
                # Joining also needs the token in this list: the app adds each token it hands
                # out and takes a removed person's tokens back out.
                "allowed": [],
                # Subscribing needs the private id of someone who joined, so nobody can watch
                # without having joined with a valid token.
                "require_pvtid": True,
                "publishers": publishers,
                "bitrate": bitrate,
                "fir_freq": 10,
                "videocodec": "vp8",
                "audiocodec": "opus",
                "audiolevel_ext": True,
                "audiolevel_event": audiolevel_event,
                "audio_active_packets": 50,
                "audio_level_average": 40,
                "notify_joining": False,
                # Only the app (with the room's secret) starts or stops recording: a participant's
                # own "configure" with "record" is refused, so nobody records without the mentor.
                "lock_record": True,
            }
        )[0]

    def room_exists(self, room):
        return bool(self.videoroom({"request": "exists", "room": room})[0].get("exists"))

    def destroy_room(self, room, *, secret):
        """Destroy the room (everyone in it is told and dropped); a room already gone is fine."""
        try:
            self.videoroom({"request": "destroy", "room": room, "secret": secret})
        except JanusError as exc:
            if exc.code != NO_SUCH_ROOM:
                raise

    def update_access(self, room, *, secret, allow=(), revoke=(), kick=()):
        """In one Janus session: add room tokens to the room's allowed list, take tokens out of
        it, and kick participants by id (their media stops, their subscriptions go dark; one who
        is not there is skipped)."""
        bodies = []
        for action, items in (("add", allow), ("remove", revoke)):
            if items:
                bodies.append(
                    {
                        "request": "allowed",
                        "room": room,
                        "secret": secret,
                        "action": action,
                        "allowed": list(items),
                    }
                )
        bodies += [{"request": "kick", "room": room, "secret": secret, "id": feed} for feed in kick]
        if bodies:
            self.videoroom(*bodies, ignore=(NO_SUCH_FEED,))

    def moderate(self, room, *, secret, streams, mute):
        """Stop (or resume) forwarding streams, given as (participant id, mid) pairs, in one Janus
        session; streams nobody publishes (yet) are skipped. Returns the pairs that changed."""
        streams = list(streams)
        bodies = [
            {"request": "moderate", "room": room, "secret": secret, "id": feed, "mid": mid, "mute": mute}
            for feed, mid in streams
        ]
        answers = self.videoroom(*bodies, ignore=(NO_SUCH_FEED,)) if bodies else []
        return [stream for stream, answer in zip(streams, answers, strict=True) if answer is not None]

    def set_recording(self, room, *, secret, record, rec_dir=None):
        """Start (``record``) or stop recording every publisher in the room, in one Janus session.

        Starting first points the room's recordings at ``rec_dir`` (VideoRoom ``edit`` with
        ``new_rec_dir``; Janus makes the folder) and locks the recording state to the room's
        secret (``new_lock_record``), so no participant can start or stop their own recording
        from their page. Then ``enable_recording`` turns each publisher's recorder on or off:
        Janus 1.1.2 opens one ``.mjr`` per published track, and a publisher who starts
        publishing later gets theirs too; stopping closes the files (written whole)."""
        bodies = []
        if rec_dir is not None:
            bodies.append(
                {
                    "request": "edit",
                    "room": room,
                    "secret": secret,
                    "new_rec_dir": str(rec_dir),
                    "new_lock_record": True,
                }
            )
        bodies.append({"request": "enable_recording", "room": room, "secret": secret, "record": bool(record)})
        return self.videoroom(*bodies)[-1]

    def participants(self, room):
        return self.videoroom({"request": "listparticipants", "room": room})[0].get("participants", [])

    def load(self):
        """How busy this instance is: participants in all its rooms (the app's rooms are private,
        so the admin key is needed to see them)."""
        rooms = self.videoroom({"request": "list", "admin_key": self.admin_key})[0].get("list", [])
        return sum(int(room.get("num_participants", 0)) for room in rooms)

    # ----- the admin API -------------------------------------------------------------------

    def admin(self, request, **fields):
        return self._post(
            self.instance.admin, {"janus": request, "admin_secret": self.admin_secret, **fields}
        )
