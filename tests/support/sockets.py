"""Socket.IO test clients: what a socket received, and joining a session's room."""


def received(sio, name=None):
    """The events this socket received since last asked, as (name, payload) or payloads of one name."""
    events = [(event["name"], event["args"][0] if event["args"] else None) for event in sio.get_received()]
    if name is None:
        return events
    return [payload for event, payload in events if event == name]


def join(sio, session_id):
    return sio.emit("room:join", {"session_id": session_id}, callback=True)
