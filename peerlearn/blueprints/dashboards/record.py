"""The learning record's pages: a learner's whole session history, and a mentor's record of one
session (each learner's time in the room, the recording, chat, notes and whiteboard, gifts and
reviews). A booking's own record is on the booking's page (booking/receipt.py)."""

from flask import render_template, request, url_for
from flask_login import current_user, login_required

from ...inputs import page_or_first
from ...limits import LIST_PER_PAGE
from ...serializers.learning_record import record_links
from ...services import learning_record
from . import bp


@bp.get("/learn/history")
@login_required  # every account learns
def history():
    found = learning_record.history_page(
        current_user, page=page_or_first(request.args.get("page", "1")), per_page=LIST_PER_PAGE
    )
    return render_template("record/history.html", history=found.items, page=found.page, pages=found.pages)


@bp.get("/teach/sessions/<int:session_id>/record")
@login_required
def session_record(session_id):
    """The session's mentor, or an admin; anyone else 404."""
    record = learning_record.for_session(current_user, session_id)
    return render_template("record/session.html", record=record, links=record_links(record, url_for))
