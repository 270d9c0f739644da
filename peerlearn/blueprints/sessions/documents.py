"""Downloads of a session's shared notes (Markdown) and whiteboard pages (PNG), for the people
who were there: the mentor, learners with a seat, and admins. Everyone else gets 404, as for a
session's recording."""

from flask import Response, abort
from flask_login import current_user, login_required

from ...exceptions import NotFound
from ...services import room_documents
from . import bp


def _readable(session_id):
    try:
        return room_documents.readable_session(current_user, session_id)
    except NotFound:
        abort(404)


def _private(response, filename):
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/sessions/<int:session_id>/notes.md")
@login_required
def notes_markdown(session_id):
    _readable(session_id)
    text = room_documents.notes_markdown(session_id)
    return _private(
        Response(text, mimetype="text/markdown", content_type="text/markdown; charset=utf-8"),
        f"peerlearn-session-{session_id}-notes.md",
    )


@bp.get("/sessions/<int:session_id>/whiteboard/<int:page>.png")
@login_required
def whiteboard_png(session_id, page):
    _readable(session_id)
    try:
        image = room_documents.whiteboard_png(session_id, page)
    except NotFound:
        abort(404)
    return _private(
        Response(image, mimetype="image/png"), f"peerlearn-session-{session_id}-whiteboard-{page}.png"
    )
