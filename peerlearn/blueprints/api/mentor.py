"""Mentors over JSON: create, edit, publish and cancel sessions; earnings, payout details and
payout requests."""

from functools import wraps

from flask_login import current_user

from ...api_envelope import ok
from ...exceptions import Conflict, PermissionDenied, ValidationError
from ...links import external_url
from ...services import earnings as earnings_service
from ...services import payout_accounts
from ...services import sessions as session_service
from . import bp
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
        "account_kind": payout.account_kind or None,
        "account_masked": payout.account_masked or None,
    }


def account_json(account):
    if account is None:
        return None
    return {"kind": account.kind, "masked": account.masked, "updated_at": account.updated_at.isoformat()}


def _iso(value):
    return value.isoformat() if value is not None else None


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
    money = earnings_service.load(mentor_id, tz=current_user.timezone)
    by_session = [
        dict(
            row,
            starts_at=_iso(row["starts_at"]),
            ended_at=_iso(row["ended_at"]),
            settles_at=_iso(row["settles_at"]),
        )
        for row in money.by_session()
    ]
    return ok(
        {
            "summary": money.summary(),
            "by_session": by_session,
            "by_month": money.by_month(),
            "payouts": [payout_json(p) for p in earnings_service.mentor_payouts(mentor_id)],
            "payout_account": account_json(payout_accounts.account_of(mentor_id)),
            "statements": [
                {
                    "month": month,
                    "url": external_url("booking.statement", month=month),
                    "csv_url": external_url("booking.statement", month=f"{month}.csv"),
                }
                for month in earnings_service.statement_months(mentor_id, tz=current_user.timezone)
            ],
            "states": {
                key: {"label": word.label, "definition": word.definition}
                for key, word in earnings_service.MONEY_STATES.items()
            },
        }
    )


@bp.post("/payouts/")
@mentor_required
def request_payout():
    # Left out: the whole available balance, as documented. Sent, even as null: that amount.
    amount = json_body().get("amount_paise", earnings_service.WHOLE_BALANCE)
    try:
        payout = earnings_service.request_payout(current_user, amount)
    except Conflict as exc:
        if exc.code != "payout_details_required":
            raise
        url = external_url("booking.payout_details")
        raise Conflict(
            f"{exc.message} Add them at {url} or with PUT /api/payout-details/.",
            code=exc.code,
            fields={"payout_details": [url]},
        ) from exc
    return ok(payout_json(payout), "Payout requested.", status=201)


@bp.get("/payout-details/")
@mentor_required
def payout_details():
    return ok({"payout_account": account_json(payout_accounts.account_of(current_user.id))})


@bp.put("/payout-details/")
@mentor_required
def save_payout_details():
    account = payout_accounts.save(current_user, json_body())
    return ok({"payout_account": account_json(account)}, f"Payouts now go to {account.masked}.")
