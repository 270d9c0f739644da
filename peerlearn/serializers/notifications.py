"""A notification as the notification center lists it and the ``notification`` event pushes
it, in the words it reads now (``shown``, from services.notifications.present)."""


def notification_json(shown):
    note = shown.note
    return {
        "id": note.id,
        "kind": note.kind,
        "title": shown.title,
        "body": shown.body,
        "url": shown.url,
        "data": note.data or {},
        "created_at": note.created_at.isoformat(),
        "read": note.read_at is not None,
        "ended": shown.ended,
    }
