"""An admin's page for a session's recording: its state, deleting it, and acting on a learner's
request to be cut out of it (docs/recordings.md). Admins only, by the blueprint's guard."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from ...exceptions import DomainError, NotFound, ValidationError
from ...forms import BaseForm
from ...services import audit
from ...services import recording_library as library
from ..sessions.recording import DeleteRecordingForm
from . import bp


class CutOutForm(BaseForm):
    learner = SelectField(
        _l("Learner who asked"), coerce=int, validators=[InputRequired(_l("Choose the learner."))]
    )
    note = TextAreaField(
        _l("Note for the audit log (how they asked, when)"),
        validators=[Optional(), Length(max=library.MAX_REASON_LENGTH)],
    )


def _cut_out_form(session_id, formdata=None):
    form = CutOutForm(formdata=formdata)
    form.learner.choices = [
        (user.id, f"{user.name} ({user.email})") for user, _consent in library.learners_of(session_id)
    ]
    return form


def _render(session_id, form=None, status=200):
    try:
        session, found = library.recording_for(current_user, session_id)
    except NotFound:
        abort(404)
    return render_template(
        "admin/recording.html",
        session=session,
        recording=found,
        learners=library.learners_of(session_id),
        expires_at=library.expires_at(found),
        form=form or _cut_out_form(session_id),
        delete_form=DeleteRecordingForm(formdata=None),
    ), status


@bp.get("/sessions/<int:session_id>/recording")
def recording(session_id):
    return _render(session_id)


@bp.post("/sessions/<int:session_id>/recording/cut-out")
def cut_out_of_recording(session_id):
    form = _cut_out_form(session_id, request.form)
    if not form.validate():
        return _render(session_id, form, 422)
    try:
        done = library.cut_out(
            current_user, session_id, form.learner.data, form.note.data or "", origin=audit.Origin.of(request)
        )
    except ValidationError as exc:
        form.learner.errors = [exc.message]
        return _render(session_id, form, exc.status)
    except DomainError as exc:
        if exc.status == 404:
            abort(404)
        flash(exc.message, "error")
        return redirect(url_for("admin.recording", session_id=session_id), 303)
    if done.outcome == "deleted":
        flash(
            _(
                "The recording is deleted: %(name)s was in it and a composed video cannot be taken apart. "
                "Tell them it is gone.",
                name=done.learner.name,
            ),
            "success",
        )
    else:
        flash(
            _(
                "%(name)s's consent is withdrawn: the video, when it is made, leaves them out.",
                name=done.learner.name,
            ),
            "success",
        )
    return redirect(url_for("admin.recording", session_id=session_id), 303)
