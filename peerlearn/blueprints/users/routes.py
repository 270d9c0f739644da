from decimal import Decimal

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from ...exceptions import DomainError, ValidationError
from ...forms import apply_field_errors
from ...models import LANGUAGES
from ...services import accounts, auth, avatars, mentors, people, search, storage
from ...services import packs as pack_service
from ...services.accounts import rupees_to_paise
from ...services.fragments import Lazy
from ...services.pagination import Page
from . import bp
from .forms import AvatarForm, ProfileForm, TeachingForm


@bp.get("/profile")
@login_required
def profile():
    return render_template(
        "users/profile.html",
        user=current_user,
        avatar_form=AvatarForm(),
        sessions=auth.sessions_of(current_user),
    )


@bp.route("/profile/edit", methods=["GET", "POST"])
@login_required
def edit_profile():
    user = current_user
    form = ProfileForm(obj=user if request.method == "GET" else None)
    form.timezone.choices = accounts.timezone_choices()
    if request.method == "GET":
        form.skills.data = [s.name for s in user.skills]
        form.interests.data = [s.name for s in user.interests]
        form.hourly_rate.data = Decimal(user.hourly_rate_paise) / 100
    status = 200
    if form.validate_on_submit():
        if _picked(form.avatar.data):
            # The photo first: if it is refused, nothing is saved and the form says why.
            try:
                avatars.save_avatar(user, form.avatar.data.read(current_app.config["AVATAR_MAX_BYTES"] + 1))
            except DomainError as exc:
                retry_after = getattr(exc, "retry_after", None)
                return (
                    render_template("users/edit.html", form=form, avatar_error=_photo_not_saved(exc)),
                    exc.status,
                    {"Retry-After": str(retry_after)} if retry_after else {},
                )
        changes = {
            "name": form.name.data,
            "bio": form.bio.data or "",
            "timezone": form.timezone.data,
            "skills": form.skills.data,
            "interests": form.interests.data,
        }
        if user.is_mentor:
            changes["headline"] = form.headline.data or ""
            try:
                changes["hourly_rate_paise"] = rupees_to_paise(form.hourly_rate.data)
            except DomainError as exc:
                form.hourly_rate.errors = [exc.message]
        if not form.hourly_rate.errors:
            try:
                accounts.update_profile(user, changes)
            except DomainError as exc:
                leftover = apply_field_errors(form, exc.fields)
                flash(leftover[0] if leftover else exc.message, "error")
                status = exc.status
            else:
                flash(_("Profile saved."), "success")
                return redirect(url_for("users.profile"))
        else:
            status = 422
    elif request.method == "POST":
        status = 422
    return render_template("users/edit.html", form=form), status


def _picked(upload):
    """Whether the form's file field carries a file (a browser sends an empty part when none is picked)."""
    return upload is not None and hasattr(upload, "read") and bool(getattr(upload, "filename", ""))


def _photo_not_saved(exc):
    return f"{exc.message} Nothing was saved: pick another photo or none, then save again."


@bp.route("/profile/teaching", methods=["GET", "POST"])
@login_required
def become_mentor():
    """Become a mentor: the same account turns teaching on, with the profile learners see."""
    user = current_user
    form = TeachingForm(obj=user if request.method == "GET" else None)
    if request.method == "GET":
        form.hourly_rate.data = Decimal(user.hourly_rate_paise) / 100 if user.hourly_rate_paise else None
    status = 200
    if form.validate_on_submit():
        try:
            rate = rupees_to_paise(form.hourly_rate.data)
        except DomainError as exc:
            form.hourly_rate.errors = [exc.message]
            status = 422
        else:
            try:
                _user, turned_on = accounts.enable_teaching(
                    user, headline=form.headline.data, bio=form.bio.data or "", hourly_rate_paise=rate
                )
            except DomainError as exc:
                leftover = apply_field_errors(form, {_form_field(k): v for k, v in exc.fields.items()})
                flash(leftover[0] if leftover else exc.message, "error")
                status = exc.status
            else:
                if turned_on:
                    flash(_("Teaching is on. Create your first session when you're ready."), "success")
                else:
                    flash(_("Teaching was already on. Your mentor profile is saved."), "info")
                return redirect(url_for("dashboards.mentor"), 303)
    elif request.method == "POST":
        status = 422
    return render_template("users/teaching.html", form=form), status


def _form_field(service_field):
    return "hourly_rate" if service_field == "hourly_rate_paise" else service_field


@bp.post("/profile/avatar")
@login_required
def upload_avatar():
    form = AvatarForm()
    if not form.validate_on_submit():
        message = next(iter(form.avatar.errors), _("Choose an image to upload."))
        flash(message, "error")
        return redirect(url_for("users.edit_profile")), 303
    try:
        avatars.save_avatar(current_user, form.avatar.data.read(current_app.config["AVATAR_MAX_BYTES"] + 1))
    except DomainError as exc:
        flash(exc.message, "error")
        retry_after = getattr(exc, "retry_after", None)
        return (
            render_template(
                "users/edit.html", form=_filled_profile_form(), avatar_form=form, avatar_error=exc.message
            ),
            exc.status,
            {"Retry-After": str(retry_after)} if retry_after else {},
        )
    flash(_("Profile photo updated."), "success")
    return redirect(url_for("users.edit_profile"))


def _filled_profile_form():
    form = ProfileForm(formdata=None, obj=current_user)
    form.timezone.choices = accounts.timezone_choices()
    form.skills.data = [s.name for s in current_user.skills]
    form.interests.data = [s.name for s in current_user.interests]
    form.hourly_rate.data = Decimal(current_user.hourly_rate_paise) / 100
    return form


@bp.post("/profile/avatar/remove")
@login_required
def remove_avatar():
    avatars.remove_avatar(current_user)
    flash(_("Profile photo removed."), "info")
    return redirect(url_for("users.edit_profile"))


@bp.post("/profile/sessions/<int:session_id>/end")
@login_required
def end_session(session_id):
    if session_id == current_user.current_auth_session.id:
        return redirect(url_for("auth.logout"), 307)
    if not auth.end_session_by_id(current_user, session_id):
        abort(404)
    flash(_("That device was signed out."), "info")
    return redirect(url_for("users.profile") + "#devices")


@bp.get("/mentors")
def directory():
    """Find a mentor. A filter with a bad value is left out, and the page says which and why."""
    problems = {}
    try:
        params = mentors.parse_directory_params(request.args, rupees=True)
    except ValidationError as exc:
        problems = exc.fields
        usable = MultiDict([(k, v) for k, v in request.args.items(multi=True) if k not in problems])
        params = mentors.parse_directory_params(usable, rupees=True)
    args = {k: v for k, v in request.args.lists() if k not in problems}

    def page_url(page):
        return url_for("users.directory", **{**args, "page": page})

    def results():
        """[cards, total, pages]: searched only when the results' cached fragment is drawn again."""
        cards, total = mentors.search_mentors(params)
        return [cards, total, Page(cards, total, params.page, params.per_page).pages]

    return render_template(
        "users/directory.html",
        params=params,
        problems=problems,
        results=Lazy(results),
        results_key=tuple(sorted(request.args.items(multi=True))),
        page_url=page_url,
        sorts=mentors.SORTS,
        languages=LANGUAGES,
    )


@bp.get("/mentors/<int:user_id>")
def mentor_profile(user_id):
    mentor = people.find_active_mentor(user_id)
    if mentor is None:
        abort(404)
    return render_template(
        "users/mentor.html",
        mentor=mentor,
        # Read only when the page's cached fragments are drawn (services/fragments.py).
        upcoming=Lazy(lambda: search.upcoming_sessions_of(mentor.id, limit=6)),
        stats=Lazy(lambda: mentors.mentor_stats(mentor.id)),
        packs=Lazy(lambda: pack_service.mentor_packs(mentor.id)),
    )


@bp.get("/media/avatars/<filename>")
def avatar(filename):
    response = storage.get_storage().serve(avatars.avatar_key(filename), max_age=86400 * 30)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
