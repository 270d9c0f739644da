"""Your data over JSON: ask for an export, follow it, download it; delete the account."""

from flask import request
from flask_babel import gettext as _
from flask_login import current_user

from ...api_envelope import ok
from ...security import bearer_token, sign_out
from ...services import audit, your_data
from ..users.your_data import send_export
from . import bp
from .utils import api_login_required, json_body, text_field


def export_json(export):
    ready = export.status == "ready"
    return {
        "id": export.id,
        "status": export.status,
        "size_bytes": export.size_bytes,
        "created_at": export.created_at.isoformat(),
        "ready_at": export.ready_at.isoformat() if export.ready_at else None,
        "expires_at": export.expires_at.isoformat() if export.expires_at else None,
        "download_url": your_data.download_url(export) if ready else None,
    }


@bp.post("/account/exports/")
@api_login_required
def request_export():
    export = your_data.request_export(current_user, origin=audit.Origin.of(request))
    return ok(
        export_json(export), _("We're preparing your data; we'll email you when it's ready."), status=202
    )


@bp.get("/account/exports/")
@api_login_required
def list_exports():
    return ok([export_json(export) for export in your_data.exports_of(current_user)])


@bp.get("/account/exports/<int:export_id>/")
@api_login_required
def export_status(export_id):
    return ok(export_json(your_data.own_export(current_user, export_id)))


@bp.get("/account/exports/<int:export_id>/download/")
@api_login_required
def download_export(export_id):
    return send_export(your_data.export_for_download(current_user, export_id, request.args.get("token")))


@bp.delete("/account/")
@api_login_required
def delete_account():
    data = json_body()
    user = current_user._get_current_object()
    token_sign_in = bearer_token() is not None
    your_data.delete_account(
        user,
        text_field(data, "password", required=True),
        text_field(data, "confirmation", required=True),
        origin=audit.Origin.of(request),
    )
    if not token_sign_in:
        sign_out()
    return ok({"deleted": True}, _("Your account has been deleted."))
