"""A session's recording: the playback page, its media file, and deleting it.

Who may watch is ``services.recording_library``'s rule; everyone else gets 404 from every route
here, so a recording's existence is not given away. The file is served with ranges (206) by the
app from the local folder, by nginx through X-Accel-Redirect when RECORDINGS_ACCEL_REDIRECT names
its internal location, or by the bucket through a short-lived link.
"""

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.wrappers import Response
from wtforms import TextAreaField
from wtforms.validators import Length, Optional

from ...exceptions import DomainError, NotFound
from ...forms import BaseForm
from ...headers import content_security_policy
from ...models import RecordingStatus
from ...services import audit
from ...services import recording_library as library
from . import bp

# The browser may keep what it fetched of the file for this long (it is this person's only).
FILE_MAX_AGE = 300


class DeleteRecordingForm(BaseForm):
    reason = TextAreaField(
        _l("Why (optional, kept with the deletion)"),
        validators=[Optional(), Length(max=library.MAX_REASON_LENGTH)],
    )


@bp.get("/sessions/<int:session_id>/recording")
@login_required
def recording(session_id):
    """The playback page (200), the state of a recording not ready yet (200), or a deleted
    recording's notice (410)."""
    try:
        session, found = library.recording_for(current_user, session_id)
    except NotFound:
        abort(404)
    return _render(session, found)


def _render(session, found, form=None, status=None):
    may_delete = current_user.is_admin or current_user.id == session.mentor_id
    context = {
        "session": session,
        "recording": found,
        "is_mentor": current_user.id == session.mentor_id,
        "may_delete": may_delete,
        "form": form or DeleteRecordingForm(formdata=None),
    }
    if found.status == RecordingStatus.DELETED or (found.is_ready and library.is_expired(found)):
        return render_template("recordings/gone.html", **context), 410
    if not found.is_ready:
        return render_template("recordings/pending.html", **context), status or 200
    response = current_app.make_response(
        (
            render_template(
                "recordings/watch.html",
                chapters=library.chapters(found),
                marks=library.chat_marks(found),
                expires_at=library.expires_at(found),
                file_url=url_for("sessions.recording_file", session_id=session.id),
                **context,
            ),
            status or 200,
        )
    )
    _allow_media_from_bucket(response)
    return response


def _allow_media_from_bucket(response):
    """With a bucket, the video element follows the file route's redirect to the bucket's link,
    which the page's policy (default-src 'self') would refuse: name the bucket's origin."""
    origin = library.media_origin()
    if origin:
        policy = content_security_policy(current_app.config)
        response.headers["Content-Security-Policy"] = f"{policy}; media-src 'self' {origin}"


@bp.get("/sessions/<int:session_id>/recording/file")
def recording_file(session_id):
    """The video file, with ranges: the same rule as the page, and 404 (not a login page) to
    anyone else, signed out or not, since a video element cannot follow a login."""
    if not current_user.is_authenticated:
        abort(404)
    try:
        found = library.ready_recording(current_user, session_id)
    except library.RecordingGone:
        abort(410)
    except NotFound:
        abort(404)
    delivery = library.delivery(found)
    if delivery.kind == "link":
        response = redirect(delivery.url, 302)
        response.headers["Cache-Control"] = "no-store"
        return response
    if delivery.kind == "accel":
        # nginx serves the bytes (ranges included) from its internal location; the type and
        # caching given here are kept.
        response = Response(status=200, mimetype=delivery.content_type)
        response.headers["X-Accel-Redirect"] = delivery.accel
    else:
        if not delivery.path.is_file():
            abort(404)
        response = send_file(delivery.path, mimetype=delivery.content_type, conditional=True, etag=True)
    response.cache_control.no_cache = None
    response.cache_control.public = None
    response.cache_control.private = True
    response.cache_control.max_age = FILE_MAX_AGE
    return response


@bp.post("/sessions/<int:session_id>/recording/delete")
@login_required
def delete_recording(session_id):
    """The mentor or an admin deletes the recording for everyone (audited)."""
    form = DeleteRecordingForm()
    if not form.validate():
        try:
            session, found = library.recording_for(current_user, session_id)
        except NotFound:
            abort(404)
        return _render(session, found, form, 422)
    try:
        library.delete(current_user, session_id, form.reason.data or "", origin=audit.Origin.of(request))
    except NotFound:
        abort(404)
    except DomainError as exc:
        if exc.status == 403:
            abort(404)  # a learner: the button is not theirs, and the route says nothing more
        flash(exc.message, "error")
        return redirect(url_for("sessions.recording", session_id=session_id))
    flash(_("The recording is deleted. Nobody can watch it any more."), "success")
    return redirect(url_for("sessions.recording", session_id=session_id))


@bp.post("/sessions/<int:session_id>/recording/retry")
@login_required
def retry_recording(session_id):
    """The mentor or an admin has a failed recording composed again (its raw feeds were kept)."""
    try:
        library.retry(current_user, session_id)
    except NotFound:
        abort(404)
    except DomainError as exc:
        if exc.status == 403:
            abort(404)
        flash(exc.message, "error")
    else:
        flash(_("The recording is being made again. This page shows how far it has got."), "success")
    return redirect(url_for("sessions.recording", session_id=session_id))
