"""A session's recording as JSON, for those who may watch it (``GET /api/sessions/<id>/recording/``).

The caller hands in the row, its chapters and the URLs; this queries nothing. Progress and the
composing error are the mentor's (and admins') to see: a learner hears only the state."""


def recording_json(recording, *, chapters, urls, expires_at=None, staff=False):
    data = {
        "session_id": recording.session_id,
        "status": recording.status,
        "content_type": recording.content_type or None,
        "size_bytes": recording.size_bytes,
        "duration_ms": recording.duration_ms,
        "chapters": chapters,
        "ready_at": recording.ready_at.isoformat() if recording.ready_at else None,
        "expires_at": expires_at.isoformat() if expires_at else None,
        "deleted_at": recording.deleted_at.isoformat() if recording.deleted_at else None,
        "urls": urls,
    }
    if staff:
        data["progress"] = recording.progress
        data["progress_step"] = recording.progress_step
        data["error"] = recording.error or None
    return data
