"""Mentors over JSON: create, edit, publish and cancel sessions; earnings and payout requests."""

from functools import wraps

from flask_login import current_user

from ...exceptions import PermissionDenied, ValidationError
from ...services import earnings as earnings_service
from ...services import sessions as session_service
from ..booking.earnings import mentor_payouts
from . import bp
from .responses import ok
from .serializers_market import session_detail
from .utils import api_login_required, json_body


def mentor_required(view):
    """Signed in (401 otherwise) as a mentor (403 otherwise)."""

    @wraps(view)
    @api_login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_mentor:
            raise PermissionDenied("Only mentors can do this.", code="not_a_mentor")
        return view(*args, **kwargs)

    return wrapped


def payout_json(payout):
    return {
        "id": payout.id,
        "amount_paise": payout.amount_paise,
        "currency": payout.currency,
        "status": payout.status,
        "reference": payout.reference,
        "note": payout.note,
        "created_at": payout.created_at.isoformat(),
        "paid_at": payout.paid_at.isoformat() if payout.paid_at else None,
    }


@bp.post("/sessions/create/")
@mentor_required
def create_session():
    data = json_body()
    publish = data.pop("publish", False)
    if not isinstance(publish, bool):
        raise ValidationError("publish must be true or false.", fields={"publish": ["Must be a boolean."]})
    session = session_service.create_session(current_user, data, publish=publish)
    message = "Session published." if publish else "Draft saved."
    return ok(session_detail(session), message, status=201)


@bp.patch("/sessions/<int:session_id>/")
@mentor_required
def update_session(session_id):
    session = session_service.update_session(current_user, session_id, json_body())
    return ok(session_detail(session), "Session updated.")


@bp.post("/sessions/<int:session_id>/publish/")
@mentor_required
def publish_session(session_id):
    session = session_service.publish_session(current_user, session_id)
    return ok(session_detail(session), "Session published.")


@bp.post("/sessions/<int:session_id>/cancel/")
@mentor_required
def cancel_session(session_id):
    session_service.mentor_session(current_user, session_id)  # another mentor's session is 404
    reason = json_body().get("reason") or ""
    if not isinstance(reason, str):
        raise ValidationError("reason must be text.", fields={"reason": ["Must be a string."]})
    session = session_service.cancel_session(current_user, session_id, reason=reason)
    return ok(session_detail(session), "Session cancelled; everyone who booked is refunded in full.")


@bp.get("/earnings/")
@mentor_required
def earnings():
    mentor_id = current_user.id
    by_session = [
        dict(row, starts_at=row["starts_at"].isoformat()) for row in earnings_service.by_session(mentor_id)
    ]
    return ok(
        {
            "summary": earnings_service.summary(mentor_id),
            "by_session": by_session,
            "by_month": earnings_service.by_month(mentor_id),
            "payouts": [payout_json(p) for p in mentor_payouts(mentor_id)],
        }
    )


@bp.post("/payouts/")
@mentor_required
def request_payout():
    amount = json_body().get("amount_paise")
    payout = earnings_service.request_payout(current_user, amount)
    return ok(payout_json(payout), "Payout requested.", status=201)
