"""Socket.IO handlers. A socket is authenticated once, at connect, and keeps its identity (auth.py)."""


def init_app(app):
    # Registered on this app's server explicitly (not by decorators at import time), so every
    # app built in the same process, as tests do, gets its handlers.
    from ..extensions import socketio
    from . import documents, presence, recording, room, sessions, transport

    presence.register(socketio)
    room.register(socketio)
    documents.register(socketio)
    recording.register(socketio)
    transport.init_app(app)
    sessions.init_app(app)
