"""Session requests over JSON: ask a mentor, list and read one's requests, and the mentor's
accept and decline, the learner's withdraw and confirm."""

from flask import request
from flask_babel import gettext as _
from flask_login import current_user

from ...api_envelope import ok, paginated
from ...serializers.bookings import booked_json
from ...serializers.requests import request_json as serialize_request
from ...services import session_requests as service
from . import bp
from .utils import api_login_required, id_field, json_body, page_args, refuse_empty_args


def request_json(req):
    return serialize_request(req, service.made_session(req))


@bp.post("/requests/")
@api_login_required
def create_request():
    data = json_body()
    mentor_id = id_field(data, "mentor_id")
    del data["mentor_id"]
    req = service.create_request(current_user, mentor_id, data)
    return ok(request_json(req), _("Request sent."), status=201)


@bp.get("/requests/")
@api_login_required
def list_requests():
    refuse_empty_args("status", "side")
    page, per_page = page_args()
    status = request.args.get("status")
    side = request.args.get("side")
    items, total = service.requests_for(current_user, status=status, side=side, page=page, per_page=per_page)
    return ok(paginated([request_json(r) for r in items], page=page, per_page=per_page, total=total))


@bp.get("/requests/<int:request_id>/")
@api_login_required
def request_detail(request_id):
    return ok(request_json(service.request_for(current_user, request_id)))


@bp.post("/requests/<int:request_id>/accept/")
@api_login_required
def accept_request(request_id):
    req, _session = service.accept(current_user, request_id, json_body())
    return ok(request_json(req), _("Accepted: the session is published and kept for the learner."))


@bp.post("/requests/<int:request_id>/decline/")
@api_login_required
def decline_request(request_id):
    data = json_body()
    note = data.get("note")
    req = service.decline(current_user, request_id, "" if note is None else note)
    return ok(request_json(req), _("Declined."))


@bp.post("/requests/<int:request_id>/withdraw/")
@api_login_required
def withdraw_request(request_id):
    return ok(request_json(service.withdraw(current_user, request_id)), _("Withdrawn."))


@bp.post("/requests/<int:request_id>/confirm/")
@api_login_required
def confirm_request(request_id):
    req, booking, created = service.confirm(current_user, request_id)
    data = {"request": request_json(req), "booking": booked_json(booking)}
    message = _("Seat held: pay to confirm.") if booking.status == "pending_payment" else _("Booked.")
    return ok(
        data, message if created else _("You already have this booking."), status=201 if created else 200
    )
