"""Mentors' pages for creating, editing, publishing and cancelling their sessions."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from wtforms.validators import Optional

from ...exceptions import DomainError
from ...forms import apply_field_errors
from ...inputs import page_or_first
from ...limits import LIST_PER_PAGE
from ...models import MediaMode, Role, SessionStatus, utcnow
from ...security import role_required
from ...services import avatars, media
from ...services import sessions as session_service
from ...services.accounts import rupees_to_paise
from . import bp
from .forms import CancelSessionForm, SessionForm

EDITABLE_STATUSES = (SessionStatus.DRAFT, SessionStatus.SCHEDULED)
# Service field names that the form spells differently.
FORM_FIELD_FOR = {"starts_at": "start_date", "price_paise": "price"}


@bp.get("/teach/sessions")
@role_required(Role.MENTOR)
def mine():
    tab = request.args.get("tab", "upcoming")
    if tab not in session_service.SESSION_TABS:
        tab = "upcoming"
    now = utcnow()
    page = session_service.sessions_by_tab(
        current_user,
        tab,
        page=page_or_first(request.args.get("page", "1")),
        per_page=LIST_PER_PAGE,
        now=now,
    )
    return render_template(
        "sessions/mine.html",
        tab=tab,
        tabs=session_service.SESSION_TABS,
        counts=session_service.session_tab_counts(current_user, now=now),
        sessions=page.items,
        page=page.page,
        pages=page.pages,
        editable=EDITABLE_STATUSES,
    )


def _initial(session, mentor):
    local = session.starts_at.astimezone(ZoneInfo(mentor.timezone))
    return {
        "title": session.title,
        "description": session.description,
        "category": session.category,
        "skills": [s.name for s in session.skills],
        "level": session.level,
        "language": session.language,
        "start_date": local.date(),
        "start_time": local.time().replace(second=0, microsecond=0),
        "duration_minutes": session.duration_minutes,
        "capacity": session.capacity,
        "price": Decimal(session.price_paise) / 100,
        "recording_enabled": session.recording_enabled,
    }


def _changes(form, *, include_price=True):
    """The service's fields from a validated form; None (with errors on the form) if unusable."""
    changes = {
        "title": form.title.data,
        "description": form.description.data or "",
        "category": form.category.data,
        "skills": form.skills.data or [],
        "level": form.level.data,
        "language": form.language.data,
        # Naive wall-clock time: the service reads it in the mentor's timezone.
        "starts_at": datetime.combine(form.start_date.data, form.start_time.data),
        "duration_minutes": form.duration_minutes.data,
        "capacity": form.capacity.data,
        # A disabled checkbox (recording can't be turned on after a booking) sends nothing:
        # False, which is what the session already says.
        "recording_enabled": bool(form.recording_enabled.data),
    }
    if include_price:
        try:
            changes["price_paise"] = rupees_to_paise(form.price.data)
        except DomainError as exc:
            form.price.errors = [*form.price.errors, exc.message]
            return None
    return changes


def _apply_errors(form, exc):
    """Put a service error's field messages on the form; return what belongs to no field."""
    fields = {FORM_FIELD_FOR.get(name, name): messages for name, messages in exc.fields.items()}
    return apply_field_errors(form, fields) or [exc.message]


def _cover_bytes(form):
    """The uploaded cover checked and cropped before anything is saved, as (cover, None);
    (None, None) when no file was chosen; (None, status) when refused, the reason on the form."""
    upload = form.cover.data
    if not upload or not getattr(upload, "filename", ""):
        return None, None
    data = upload.read(current_app.config["AVATAR_MAX_BYTES"] + 1)
    try:
        return avatars.prepare_cover(current_user, data, session_service.COVER_SIZE), None
    except DomainError as exc:
        if apply_field_errors(form, exc.fields) or not exc.fields:
            form.cover.errors = [*form.cover.errors, exc.message]
        return None, exc.status


def _mesh_cameras():
    """How many cameras a room carries when this site's rooms are browser to browser, else None
    (with Janus a room carries everyone's camera, so the form has nothing to warn about)."""
    if media.configured_mode() == MediaMode.MESH:
        return current_app.config["MESH_MAX_CAMERAS"]
    return None


def _render_form(form, session=None, *, status=200, problems=(), locked=False, booked=0):
    return render_template(
        "sessions/form.html",
        form=form,
        session=session,
        problems=list(problems),
        price_locked=locked,
        booked=booked,
        mesh_cameras=_mesh_cameras(),
        now=utcnow(),
    ), status


@bp.route("/teach/sessions/new", methods=["GET", "POST"])
@role_required(Role.MENTOR)
def create():
    form = SessionForm()
    if not form.validate_on_submit():
        return _render_form(form, status=422 if request.method == "POST" else 200)
    changes = _changes(form)
    cover, refused = _cover_bytes(form)
    if changes is None or refused:
        return _render_form(form, status=refused or 422)
    publish = request.form.get("action") == "publish"
    try:
        session_service.create_session(current_user, changes, publish=publish, cover=cover)
    except DomainError as exc:
        return _render_form(form, status=exc.status, problems=_apply_errors(form, exc))
    if publish:
        flash(_("Your session is published. Learners can book it now."), "success")
    else:
        flash(_("Draft saved. Publish it when you're ready."), "success")
    return redirect(url_for("sessions.mine", tab="upcoming" if publish else "drafts"), 303)


@bp.route("/teach/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@role_required(Role.MENTOR)
def edit(session_id):
    session = session_service.mentor_session(current_user, session_id)
    if session.status not in EDITABLE_STATUSES:
        flash(_("This session is %(status)s and can no longer be edited.", status=session.status), "error")
        return redirect(url_for("sessions.mine"))
    booked = session_service.booked_count(session)
    locked = session_service.price_locked(session)
    # Pre-filled from the session; on POST the posted values win, and a disabled (locked)
    # price input, which browsers do not send, keeps the stored price.
    form = SessionForm(data=_initial(session, current_user))
    if locked:
        form.price.validators = [Optional()]
        form.price.flags.required = False
    if not form.validate_on_submit():
        return _render_form(
            form, session, status=422 if request.method == "POST" else 200, locked=locked, booked=booked
        )
    changes = _changes(form, include_price=not locked)
    cover, refused = _cover_bytes(form)
    if changes is None or refused:
        return _render_form(form, session, status=refused or 422, locked=locked, booked=booked)
    # Send only what changed: an unchanged start time must not be re-checked against "now".
    current = _initial(session, current_user)
    if form.start_date.data == current["start_date"] and form.start_time.data == current["start_time"]:
        changes.pop("starts_at")
    publish = request.form.get("action") == "publish" and session.status == SessionStatus.DRAFT
    old_version = session.schedule_version
    try:
        # The edit, the cover and the publishing are saved together, or none of them.
        session = session_service.save_session(
            current_user, session.id, changes, cover=cover, publish=publish
        )
    except DomainError as exc:
        session = session_service.mentor_session(current_user, session_id)
        return _render_form(
            form, session, status=exc.status, problems=_apply_errors(form, exc), locked=locked, booked=booked
        )
    if publish:
        flash(_("Your session is published. Learners can book it now."), "success")
    elif session.schedule_version != old_version and booked:
        flash(
            ngettext(
                "Saved. We emailed the new time to %(num)d booked learner.",
                "Saved. We emailed the new time to %(num)d booked learners.",
                booked,
            ),
            "success",
        )
    else:
        flash(_("Changes saved."), "success")
    return redirect(url_for("sessions.mine", tab="drafts" if session.is_draft else "upcoming"), 303)


@bp.post("/teach/sessions/<int:session_id>/publish")
@role_required(Role.MENTOR)
def publish(session_id):
    try:
        session_service.publish_session(current_user, session_id)
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
        if "starts_at" in exc.fields:
            return redirect(url_for("sessions.edit", session_id=session_id), 303)
        return redirect(url_for("sessions.mine", tab="drafts"), 303)
    flash(_("Your session is published. Learners can book it now."), "success")
    return redirect(url_for("sessions.mine", tab="upcoming"), 303)


@bp.route("/teach/sessions/<int:session_id>/cancel", methods=["GET", "POST"])
@role_required(Role.MENTOR)
def cancel(session_id):
    session = session_service.mentor_session(current_user, session_id)
    if session.status in (SessionStatus.COMPLETED, SessionStatus.CANCELLED):
        flash(_("This session is already %(status)s.", status=session.status), "info")
        return redirect(url_for("sessions.mine"))
    form = CancelSessionForm()
    if form.validate_on_submit():
        try:
            session_service.cancel_session(current_user, session.id, reason=form.reason.data or "")
        except DomainError as exc:
            flash(exc.message, "error")
            return redirect(url_for("sessions.mine"), 303)
        flash(_("Session cancelled. Everyone who booked has been told and refunded in full."), "success")
        return redirect(url_for("sessions.mine", tab="cancelled"), 303)
    return render_template(
        "sessions/cancel.html",
        session=session,
        form=form,
        booked=session_service.booked_count(session),
        paid=session_service.paid_booking_count(session),
    ), (422 if request.method == "POST" else 200)
