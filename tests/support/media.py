"""A Janus participant driven over Janus's HTTP API, as a browser's media code would drive it."""

import secrets

import requests

from peerlearn.media import tokens


class Participant:
    """What a browser does with Janus, over its HTTP API: one Janus session, a VideoRoom handle."""

    def __init__(self, instance, core_token):
        self.api = instance.api
        self.core_token = core_token
        self.session = None
        self.handle = None

    def post(self, url, body):
        body = {"transaction": secrets.token_hex(6), **body}
        if self.core_token is not None:
            body["token"] = self.core_token
        return requests.post(url, json=body, timeout=5).json()

    def connect(self):
        """Create the Janus session; Janus's answer (an error for a bad core token)."""
        reply = self.post(self.api, {"janus": "create"})
        if reply["janus"] == "success":
            self.session = reply["data"]["id"]
            attached = self.post(
                f"{self.api}/{self.session}", {"janus": "attach", "plugin": tokens.VIDEOROOM}
            )
            self.handle = attached["data"]["id"]
        return reply

    def events(self):
        params = {"maxev": 10}
        if self.core_token is not None:
            params["token"] = self.core_token
        reply = requests.get(f"{self.api}/{self.session}", params=params, timeout=5).json()
        return reply if isinstance(reply, list) else [reply]

    def join(self, room, feed, room_token=None):
        """Join as a publisher; the VideoRoom's answer (``joined``, or its error)."""
        body = {"request": "join", "ptype": "publisher", "room": room, "id": feed}
        if room_token is not None:
            body["token"] = room_token
        self.post(f"{self.api}/{self.session}/{self.handle}", {"janus": "message", "body": body})
        for event in self.events():
            data = (event.get("plugindata") or {}).get("data") or {}
            if data.get("videoroom") == "joined" or "error_code" in data:
                return data
        raise AssertionError("no answer to the join")
