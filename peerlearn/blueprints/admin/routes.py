"""Admin pages: users, sessions, payments, refunds, reviews and the audit log.

Every page here is for admins only: the blueprint's guard sends anonymous visitors to the login
page and answers 403 to everyone else, so no view can forget the check.
"""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ... import formats
from ...exceptions import DomainError, ValidationError
from ...extensions import login_manager
from ...forms import apply_field_errors
from ...limits import ADMIN_PER_PAGE
from ...models import PaymentPurpose, PaymentStatus, RefundStatus, SessionStatus, utcnow
from ...services import admin as admin_service
from ...services import audit as audit_log
from ...services import settlement
from ...services.pagination import Page
from . import bp
from .forms import ReasonForm


@bp.before_request
def admins_only():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.is_admin:
        abort(403)
    return None


def _origin():
    return audit_log.Origin.of(request)


def _listing(name, parse, find, *, args=None, status=200, **context):
    """Render the list view ``name`` (template admin/<name>.html): filtered and paginated; bad
    filters re-render the form with errors (422)."""
    args = request.args if args is None else args
    errors, filters, page = {}, None, 1
    try:
        filters = parse(args)
    except ValidationError as exc:
        errors.update(exc.fields)
    try:
        page = admin_service.page_number(args)
    except ValidationError as exc:
        errors.update(exc.fields)
    found = Page([], 0, page, ADMIN_PER_PAGE)
    if not errors:
        found = find(**filters, page=page, per_page=ADMIN_PER_PAGE)
    kept = args.to_dict(flat=False) if hasattr(args, "to_dict") else dict(args)

    def page_url(number):
        return url_for(f"admin.{name}", **{**kept, "page": number})

    return render_template(
        f"admin/{name}.html",
        items=found.items,
        total=found.total,
        page=page,
        pages=found.pages,
        page_url=page_url,
        errors=errors,
        args=args,
        **context,
    ), (422 if errors else status)


def _flash_error(exc):
    flash(exc.message, "error")


# ---------------------------------------------------------------------------- users


@bp.get("/users")
def users():
    return _listing(
        "users",
        admin_service.user_filters,
        admin_service.find_users,
        roles=[("learner", _("Learner only")), ("mentor", _("Mentor (teaches)")), ("admin", _("Admin"))],
    )


def _render_user(user_id, form=None, status=200, *, lift_form=None):
    user, counts, audit = admin_service.user_overview(user_id)
    return render_template(
        "admin/user.html",
        user=user,
        counts=counts,
        audit=audit,
        form=form or ReasonForm(formdata=None),
        strikes=settlement.mentor_strikes(user.id),
        strikes_in_window=settlement.strikes_within_window(user.id, utcnow()),
        lift_form=lift_form or ReasonForm(formdata=None, prefix="lift"),
    ), status


@bp.get("/users/<int:user_id>")
def user(user_id):
    return _render_user(user_id)


@bp.post("/users/<int:user_id>/suspend")
def suspend_user(user_id):
    return _reason_post(
        lambda reason: admin_service.suspend_user(current_user, user_id, reason, origin=_origin()),
        lambda form, status: _render_user(user_id, form, status),
        url_for("admin.user", user_id=user_id),
        lambda user: _("%(name)s is suspended and was signed out everywhere.", name=user.name),
    )


@bp.post("/users/<int:user_id>/publishing/lift")
def lift_publishing_suspension(user_id):
    return _reason_post(
        lambda reason: admin_service.lift_publishing_suspension(
            current_user, user_id, reason, origin=_origin()
        ),
        lambda form, status: _render_user(user_id, status=status, lift_form=form),
        url_for("admin.user", user_id=user_id),
        lambda user: _("%(name)s can publish sessions again.", name=user.name),
        prefix="lift",
    )


def _reason_post(act, rerender, back_url, success, *, prefix=""):
    """A form post that needs a reason (suspend, cancel, hide): ``act(reason)``. A missing or
    refused reason shows the form again with the error (422); a refused action flashes why and
    goes back, as does success. ``prefix``: the form's, when its page has two reason forms."""
    form = ReasonForm(prefix=prefix)
    if not form.validate_on_submit():
        return rerender(form, 422)
    try:
        done = act(form.reason.data)
    except ValidationError as exc:
        apply_field_errors(form, exc.fields)
        return rerender(form, exc.status)
    except DomainError as exc:
        if exc.status == 404:
            raise
        _flash_error(exc)
    else:
        flash(success(done), "success")
    return redirect(back_url, 303)


def _user_action(user_id, action, message):
    """A button on a user's page (its CSRF token is checked for every form post): run the
    action, flash ``message(user)``, back to their page."""
    try:
        changed = action(current_user, user_id, origin=_origin())
    except DomainError as exc:
        if exc.status == 404:
            raise
        _flash_error(exc)
    else:
        flash(message(changed), "success")
    return redirect(url_for("admin.user", user_id=user_id), 303)


@bp.post("/users/<int:user_id>/unsuspend")
def unsuspend_user(user_id):
    return _user_action(
        user_id, admin_service.unsuspend_user, lambda user: _("%(name)s can sign in again.", name=user.name)
    )


@bp.post("/users/<int:user_id>/verify")
def verify_mentor(user_id):
    return _user_action(
        user_id,
        admin_service.verify_mentor,
        lambda user: _("%(name)s is now a verified mentor.", name=user.name),
    )


@bp.post("/users/<int:user_id>/unverify")
def unverify_mentor(user_id):
    return _user_action(
        user_id,
        admin_service.unverify_mentor,
        lambda user: _("%(name)s is no longer verified.", name=user.name),
    )


# ---------------------------------------------------------------------------- sessions


@bp.get("/sessions")
def sessions():
    zone = formats.viewer_zone(current_user)
    return _listing(
        "sessions",
        lambda args: admin_service.session_filters(args, zone),
        admin_service.find_sessions,
        statuses=[status.value for status in SessionStatus],
    )


def _render_session(session_id, form=None, status=200):
    return render_template(
        "admin/session.html",
        form=form or ReasonForm(formdata=None),
        **admin_service.session_overview(session_id),
    ), status


@bp.get("/sessions/<int:session_id>")
def session(session_id):
    return _render_session(session_id)


@bp.post("/sessions/<int:session_id>/cancel")
def cancel_session(session_id):
    return _reason_post(
        lambda reason: admin_service.cancel_session(current_user, session_id, reason, origin=_origin()),
        lambda form, status: _render_session(session_id, form, status),
        url_for("admin.session", session_id=session_id),
        lambda cancelled: _(
            "“%(title)s” is cancelled; everyone who booked is refunded in full.", title=cancelled.title
        ),
    )


# ---------------------------------------------------------------------------- money


@bp.get("/payments")
def payments():
    zone = formats.viewer_zone(current_user)
    return _listing(
        "payments",
        lambda args: admin_service.payment_filters(args, zone),
        admin_service.find_payments,
        statuses=[status.value for status in PaymentStatus],
        purposes=[purpose.value for purpose in PaymentPurpose],
    )


@bp.get("/refunds")
def refunds():
    return _listing(
        "refunds",
        admin_service.refund_filters,
        admin_service.find_refunds,
        statuses=[status.value for status in RefundStatus],
    )


# ---------------------------------------------------------------------------- reviews


def _render_reviews(form=None, failed_id=None, args=None, status=200):
    return _listing(
        "reviews",
        admin_service.review_filters,
        admin_service.find_reviews,
        args=args,
        status=status,
        form=form or ReasonForm(formdata=None),
        failed_id=failed_id,
    )


@bp.get("/reviews")
def reviews():
    return _render_reviews()


@bp.post("/reviews/<int:review_id>/hide")
def hide_review(review_id):
    """Hide from the list page; a missing reason shows again on that review's form (422)."""
    state = request.form.get("state", "")
    listing = {"state": state} if state in admin_service.REVIEW_STATES else {}
    return _reason_post(
        lambda reason: admin_service.hide_review(current_user, review_id, reason, origin=_origin()),
        lambda form, status: _render_reviews(form, review_id, listing, status),
        url_for("admin.reviews", **listing),
        lambda _review: _("Review #%(id)s is hidden.", id=review_id),
    )


# ---------------------------------------------------------------------------- audit log


@bp.get("/audit")
def audit():
    return _listing(
        "audit",
        admin_service.audit_filters,
        admin_service.find_audit,
        actions=audit_log.ACTIONS,
        target_types=audit_log.TARGET_TYPES,
    )
