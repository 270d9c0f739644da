from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from ...exceptions import AuthenticationError, DomainError, PermissionDenied, RateLimited
from ...forms import apply_field_errors
from ...security import home_url_for, sign_in, sign_out
from ...services import accounts, auth
from ...services.accounts import rupees_to_paise
from . import bp
from .forms import ChangePasswordForm, ForgotPasswordForm, LoginForm, RegisterForm, ResetPasswordForm


def _safe_next(target):
    """Only follow same-site relative redirects after login."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _client_ip():
    return request.remote_addr or ""


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(home_url_for(current_user))
    form = RegisterForm()
    form.timezone.choices = accounts.timezone_choices()
    if request.method == "GET":
        form.timezone.data = current_app.config["DEFAULT_TIMEZONE"]
        if request.args.get("role") in {"learner", "mentor"}:
            form.role.data = request.args["role"]
    status = 200
    if form.validate_on_submit():
        try:
            rate = rupees_to_paise(form.hourly_rate.data) if form.role.data == "mentor" else 0
            accounts.register(
                email=form.email.data,
                password=form.password.data,
                name=form.name.data,
                role=form.role.data,
                timezone=form.timezone.data,
                skills_=form.skills.data,
                interests=form.interests.data,
                headline=form.headline.data or "",
                bio=form.bio.data or "",
                hourly_rate_paise=rate,
                ip_address=_client_ip(),
            )
        except RateLimited:
            raise
        except DomainError as exc:
            leftover = apply_field_errors(form, exc.fields)
            flash(leftover[0] if leftover else exc.message, "error")
            status = exc.status
        else:
            # The same page whether the address was new or already had an account.
            return render_template("auth/register_sent.html", email=form.email.data)
    elif request.method == "POST":
        status = 422
    return render_template("auth/register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")) or home_url_for(current_user))
    form = LoginForm()
    days = current_app.config["PERMANENT_SESSION_LIFETIME"].days
    form.remember.label.text = _("Keep me signed in for %(days)s days", days=days)
    status = 200
    if form.validate_on_submit():
        try:
            user = auth.authenticate(form.email.data, form.password.data, ip_address=_client_ip())
        except (AuthenticationError, PermissionDenied, RateLimited) as exc:
            form.password.errors = [exc.message]
            status = exc.status
        else:
            sign_in(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")) or home_url_for(user))
    elif request.method == "POST":
        status = 422
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    sign_out()
    flash(_("You have been logged out."), "info")
    return redirect(url_for("main.index"))


@bp.post("/logout-everywhere")
@login_required
def logout_everywhere():
    had_feed = bool(current_user.calendar_token)
    count = auth.sign_out_everywhere(current_user)
    sign_out()
    if had_feed:
        message = ngettext(
            "Signed out of %(num)d session on all devices. Links we emailed you before no longer "
            "work, and your calendar feed has a new address.",
            "Signed out of %(num)d sessions on all devices. Links we emailed you before no longer "
            "work, and your calendar feed has a new address.",
            count,
        )
    else:
        message = ngettext(
            "Signed out of %(num)d session on all devices. Links we emailed you before no longer work.",
            "Signed out of %(num)d sessions on all devices. Links we emailed you before no longer work.",
            count,
        )
    flash(message, "info")
    return redirect(url_for("auth.login"))


@bp.get("/verify/<token>")
def verify_email(token):
    try:
        user = accounts.verify_email(token)
    except DomainError as exc:
        return render_template("auth/verify_failed.html", message=exc.message), exc.status
    if current_user.is_authenticated:
        flash(_("Thanks, %(name)s — your email is confirmed.", name=user.first_name), "success")
        return redirect(home_url_for(current_user))
    if not user.is_active:
        flash(_("Your email is confirmed, but this account is suspended."), "info")
        return redirect(url_for("auth.login"))
    # The link came to this inbox from a registration: it finishes the sign-up.
    sign_in(user)
    flash(_("Welcome to PeerLearn, %(name)s! Your email is confirmed.", name=user.first_name), "success")
    return redirect(home_url_for(user))


@bp.post("/verify/resend")
@login_required
def resend_verification():
    if accounts.resend_verification(current_user, ip_address=_client_ip()):
        flash(_("We sent a new confirmation link to %(email)s.", email=current_user.email), "success")
    else:
        flash(_("Your email is already confirmed."), "info")
    return redirect(_safe_next(request.form.get("next")) or home_url_for(current_user))


@bp.route("/forgot", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data, ip_address=_client_ip())
        return render_template("auth/forgot_sent.html", email=form.email.data)
    status = 422 if request.method == "POST" else 200
    return render_template("auth/forgot.html", form=form), status


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token):
    try:
        user = accounts.check_reset_token(token)
    except DomainError as exc:
        return render_template("auth/verify_failed.html", message=exc.message, reset=True), exc.status
    form = ResetPasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            accounts.reset_password(token, form.password.data)
        except DomainError as exc:
            leftover = apply_field_errors(form, exc.fields)
            if leftover or not exc.fields:
                flash(exc.message, "error")
            status = exc.status
        else:
            if current_user.is_authenticated:
                sign_out()
            flash(
                _(
                    "Your password was changed and you were signed out everywhere. "
                    "Log in with the new password."
                ),
                "success",
            )
            return redirect(url_for("auth.login"))
    elif request.method == "POST":
        status = 422
    return render_template("auth/reset.html", form=form, user=user), status


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            accounts.change_password(
                current_user,
                form.current_password.data,
                form.new_password.data,
                keep=current_user.current_auth_session,
            )
        except RateLimited:
            raise
        except DomainError as exc:
            leftover = apply_field_errors(form, exc.fields)
            if leftover or not exc.fields:
                flash(leftover[0] if leftover else exc.message, "error")
            status = exc.status
        else:
            flash(_("Your password was changed. Every other device was signed out."), "success")
            return redirect(url_for("users.profile"))
    elif request.method == "POST":
        status = 422
    return render_template("auth/change_password.html", form=form), status
