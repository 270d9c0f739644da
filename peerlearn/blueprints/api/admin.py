"""The admins' tools over JSON: users (search, suspend, verify, strikes and publishing), payments
and the audit log.

Signed in (401 otherwise) as an admin (403 ``not_an_admin`` otherwise), on every route.
"""

from functools import wraps

from flask import current_app, request
from flask_babel import gettext as _
from flask_login import current_user

from ... import formats
from ...api_envelope import ok, paginated
from ...exceptions import PermissionDenied
from ...models import utcnow
from ...serializers.audit import audit_json
from ...serializers.disputes import admin_dispute_json
from ...serializers.payments import admin_payment_json, admin_refund_json
from ...serializers.users import admin_user_json, strike_json
from ...services import admin as admin_service
from ...services import audit, settlement
from . import bp
from .utils import api_login_required, json_body, page_args, refuse_empty_args


def admin_required(view):
    @wraps(view)
    @api_login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            raise PermissionDenied(_("Only admins can do this."), code="not_an_admin")
        return view(*args, **kwargs)

    return wrapped


def _list(filters, find, serialize):
    page, per_page = page_args()
    items, total = find(**filters, page=page, per_page=per_page)
    return ok(paginated([serialize(item) for item in items], page=page, per_page=per_page, total=total))


def _origin():
    return audit.Origin.of(request)


@bp.get("/admin/users/")
@admin_required
def admin_users():
    refuse_empty_args("role", "suspended", "verified")
    return _list(admin_service.user_filters(request.args), admin_service.find_users, admin_user_json)


@bp.post("/admin/users/<int:user_id>/suspend/")
@admin_required
def admin_suspend_user(user_id):
    reason = json_body().get("reason")
    user = admin_service.suspend_user(current_user, user_id, reason, origin=_origin())
    return ok(admin_user_json(user), _("Suspended; every sign-in of theirs has ended."))


@bp.post("/admin/users/<int:user_id>/unsuspend/")
@admin_required
def admin_unsuspend_user(user_id):
    json_body()  # a body, if any, must still be JSON
    user = admin_service.unsuspend_user(current_user, user_id, origin=_origin())
    return ok(admin_user_json(user), _("Suspension lifted."))


@bp.post("/admin/users/<int:user_id>/verify/")
@admin_required
def admin_verify_mentor(user_id):
    json_body()
    user = admin_service.verify_mentor(current_user, user_id, origin=_origin())
    return ok(admin_user_json(user), _("Mentor verified."))


@bp.post("/admin/users/<int:user_id>/unverify/")
@admin_required
def admin_unverify_mentor(user_id):
    json_body()
    user = admin_service.unverify_mentor(current_user, user_id, origin=_origin())
    return ok(admin_user_json(user), _("Mentor no longer verified."))


@bp.get("/admin/users/<int:user_id>/strikes/")
@admin_required
def admin_user_strikes(user_id):
    """A mentor's strikes, newest first, and where their publishing stands."""
    user = admin_service.get_user(user_id)
    now = utcnow()
    return ok(
        {
            "user": admin_user_json(user),
            "strikes_in_window": settlement.strikes_within_window(user.id, now),
            "window_days": current_app.config["STRIKE_WINDOW_DAYS"],
            "strike_limit": current_app.config["STRIKE_LIMIT"],
            "items": [strike_json(strike) for strike in settlement.mentor_strikes(user.id)],
        }
    )


@bp.post("/admin/users/<int:user_id>/lift-publishing-suspension/")
@admin_required
def admin_lift_publishing_suspension(user_id):
    reason = json_body().get("reason")
    user = admin_service.lift_publishing_suspension(current_user, user_id, reason, origin=_origin())
    return ok(admin_user_json(user), _("Publishing suspension lifted; the mentor can publish again."))


@bp.get("/admin/payments/")
@admin_required
def admin_payments():
    refuse_empty_args("status", "purpose", "date_from", "date_to")
    filters = admin_service.payment_filters(request.args, formats.viewer_zone(current_user))
    return _list(filters, admin_service.find_payments, admin_payment_json)


@bp.get("/admin/audit/")
@admin_required
def admin_audit():
    refuse_empty_args("action", "target_type", "target_id")
    return _list(admin_service.audit_filters(request.args), admin_service.find_audit, audit_json)


# ---------------------------------------------------------------------------- disputes and refunds


def _admin_dispute(dispute):
    from ...services import disputes as dispute_service

    return admin_dispute_json(dispute, dispute_service.facts(dispute))


@bp.get("/admin/disputes/")
@admin_required
def admin_disputes():
    from ...services import disputes as dispute_service

    refuse_empty_args("state")
    filters = dispute_service.dispute_filters(request.args)
    return _list(filters, dispute_service.find_disputes, _admin_dispute)


@bp.post("/admin/disputes/<int:dispute_id>/decide/")
@admin_required
def admin_decide_dispute(dispute_id):
    from ...services import disputes as dispute_service

    data = json_body()
    dispute = dispute_service.decide(
        current_user,
        dispute_id,
        data.get("outcome"),
        data.get("amount_paise"),
        reason=data.get("reason"),
        origin=_origin(),
    )
    return ok(_admin_dispute(dispute), _("Decided; both sides were told why."))


@bp.post("/admin/payments/<int:payment_id>/refund/")
@admin_required
def admin_refund_payment(payment_id):
    data = json_body()
    refund, created = admin_service.refund_payment(
        current_user,
        payment_id,
        amount_paise=data.get("amount_paise"),
        reason=data.get("reason"),
        request_key=data.get("idempotency_key"),
        origin=_origin(),
    )
    payload = admin_refund_json(refund)
    if created:
        return ok(payload, _("Refund requested."), status=201)
    return ok(payload, _("This request was already made; no second refund."))
