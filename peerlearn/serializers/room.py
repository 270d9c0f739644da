"""The live room as its sockets see it: the session's few facts the room page needs, and a chat
message (in the history a joining socket gets and in each ``chat:message`` event)."""


def room_session_json(session):
    return {
        "id": session.id,
        "title": session.title,
        "starts_at": session.starts_at.isoformat(),
        "ends_at": session.ends_at.isoformat(),
        "status": session.status,
        "mentor_id": session.mentor_id,
    }


def chat_message_json(message, *, name=None):
    """``name``: the sender's, when known already (a new message's sender is the socket's)."""
    return {
        "id": message.id,
        "user_id": message.user_id,
        "name": message.user.name if name is None else name,
        "body": message.body,
        "created_at": message.created_at.isoformat(),
    }
