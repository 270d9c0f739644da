"""Accounts over JSON: register, log in/out with bearer tokens, profile, avatar, reset."""

from flask import current_app, request
from flask_babel import gettext as _
from flask_login import current_user

from ...api_envelope import ok
from ...exceptions import NotFound, ValidationError
from ...inputs import READ_ONLY_MESSAGE, refuse_unknown_fields
from ...models import AuthKind, Role
from ...security import acts_without_identity, bearer_token, sign_out
from ...serializers.users import own_profile, public_user, token_json
from ...services import accounts, auth, avatars, people, skills
from . import bp
from .utils import api_login_required, json_body, refuse_nulls, text_field

TEACHING_FIELDS = {"headline", "bio", "hourly_rate_paise"}


@bp.post("/register/")
@acts_without_identity
def register():
    data = json_body()
    email = text_field(data, "email", required=True)
    accounts.register(
        email=email,
        password=text_field(data, "password", required=True),
        name=text_field(data, "name", required=True),
        role=text_field(data, "role") or Role.LEARNER.value,
        timezone=text_field(data, "timezone"),
        skills_=data.get("skills"),
        interests=data.get("interests"),
        headline=text_field(data, "headline") or "",
        bio=text_field(data, "bio") or "",
        hourly_rate_paise=data.get("hourly_rate_paise", 0),
        ip_address=request.remote_addr or "",
    )
    # The same answer whether the address was new or already had an account, so no token: the
    # emailed link confirms the address, then POST /api/login/ gives one.
    return ok(
        {"email": email.strip(), "confirmation_required": True},
        _("Check your email: open the link we sent to finish creating the account, then log in."),
        status=201,
    )


@bp.post("/login/")
@acts_without_identity
def login():
    data = json_body()
    user = auth.authenticate(
        text_field(data, "email", required=True),
        text_field(data, "password", required=True),
        ip_address=request.remote_addr or "",
    )
    auth_session = auth.start_session(
        user, AuthKind.API, ip_address=request.remote_addr or "", user_agent=request.user_agent.string
    )
    return ok(token_json(auth_session, user), _("Logged in."))


@bp.post("/logout/")
@api_login_required
def logout():
    if bearer_token() is not None:
        auth.end_session(current_user.current_auth_session)
    else:
        sign_out()
    return ok({}, _("Logged out."))


@bp.post("/logout-all/")
@api_login_required
def logout_all():
    count = auth.sign_out_everywhere(current_user)
    return ok({"ended_sessions": count}, _("Signed out everywhere."))


@bp.get("/profile/")
@api_login_required
def get_profile():
    return ok(own_profile(current_user))


@bp.route("/profile/", methods=["PATCH", "PUT"])
@api_login_required
def update_profile():
    changes = json_body()
    if not changes:
        raise ValidationError(_("Send at least one field to change."))
    accounts.update_profile(current_user, changes)
    return ok(own_profile(current_user), _("Profile saved."))


@bp.post("/profile/teaching/")
@api_login_required
def enable_teaching():
    """Become a mentor: turn teaching on for this account (201), or save the mentor profile of
    one that already teaches (200)."""
    data = json_body()
    refuse_unknown_fields(
        data, TEACHING_FIELDS, message=_("These fields cannot be set here"), field_message=READ_ONLY_MESSAGE
    )
    refuse_nulls(data, "bio", "hourly_rate_paise")
    _user, turned_on = accounts.enable_teaching(
        current_user,
        headline=data.get("headline"),
        bio=data.get("bio"),
        hourly_rate_paise=data.get("hourly_rate_paise", 0),
    )
    if turned_on:
        return ok(own_profile(current_user), _("Teaching is on."), status=201)
    return ok(own_profile(current_user), _("Teaching was already on; mentor profile saved."))


@bp.post("/profile/avatar/")
@api_login_required
def upload_avatar():
    upload = request.files.get("avatar")
    if upload is None:
        raise ValidationError(
            _("Send the image as multipart/form-data in a field named avatar."),
            fields={"avatar": [_("This field is required.")]},
        )
    avatars.save_avatar(current_user, upload.read(current_app.config["AVATAR_MAX_BYTES"] + 1))
    return ok(own_profile(current_user), _("Profile photo updated."))


@bp.delete("/profile/avatar/")
@api_login_required
def delete_avatar():
    avatars.remove_avatar(current_user)
    return ok(own_profile(current_user), _("Profile photo removed."))


@bp.post("/verify-email/")
@acts_without_identity
def verify_email():
    data = json_body()
    user = accounts.verify_email(text_field(data, "token", required=True))
    return ok({"email": user.email, "email_verified": True}, _("Email confirmed."))


@bp.post("/verify-email/resend/")
@api_login_required
def resend_verification():
    sent = accounts.resend_verification(current_user, ip_address=request.remote_addr or "")
    return ok({"sent": sent}, _("Confirmation link sent.") if sent else _("Email already confirmed."))


@bp.post("/password-reset/")
@acts_without_identity
def request_password_reset():
    data = json_body()
    accounts.request_password_reset(
        text_field(data, "email", required=True), ip_address=request.remote_addr or ""
    )
    return ok({}, _("If an account exists for that email, a reset link is on its way."))


@bp.post("/password-reset/confirm/")
@acts_without_identity
def confirm_password_reset():
    data = json_body()
    accounts.reset_password(
        text_field(data, "token", required=True), text_field(data, "password", required=True)
    )
    return ok({}, _("Password changed. Every existing sign-in was ended; log in again."))


@bp.post("/change-password/")
@api_login_required
def change_password():
    data = json_body()
    accounts.change_password(
        current_user,
        text_field(data, "current_password", required=True),
        text_field(data, "new_password", required=True),
        keep=current_user.current_auth_session,
    )
    return ok({}, _("Password changed. Every other sign-in was ended."))


@bp.get("/skills/")
def skill_autocomplete():
    query = request.args.get("q", "")[:60]
    return ok({"skills": skills.autocomplete(query)})


@bp.post("/skill-suggestions/")
@acts_without_identity
def skill_suggestions():
    # A read that never looks at who is asking (the sign-up page needs it before there is anyone),
    # so a forged cross-site request gains nothing and no CSRF token is needed. POST because the
    # chosen skills travel with each request.
    data = json_body()
    return ok(
        skills.suggest(
            data.get("query"),
            selected=data.get("selected"),
            limit=data.get("limit", 8),
            ip_address=request.remote_addr or "",
        )
    )


@bp.get("/mentors/<int:user_id>/")
def mentor(user_id):
    mentor = people.find_active_mentor(user_id)
    if mentor is None:
        raise NotFound(_("No mentor with this id."))
    return ok(public_user(mentor))
