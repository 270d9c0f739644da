"""Mentors over JSON: create, edit, publish and cancel sessions; earnings, payout details and
payout requests."""

from functools import wraps

from flask_babel import gettext as _
from flask_login import current_user

from ...api_envelope import ok
from ...exceptions import Conflict, PermissionDenied, ValidationError
from ...links import external_url
from ...serializers.earnings import account_json, earnings_json, payout_json
from ...serializers.sessions import session_detail
from ...services import earnings as earnings_service
from ...services import payout_accounts
from ...services import sessions as session_service
from . import bp
from .utils import api_login_required, json_body


def mentor_required(view):
    """Signed in (401 otherwise) as a mentor (403 otherwise)."""

    @wraps(view)
    @api_login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_mentor:
            raise PermissionDenied(_("Only mentors can do this."), code="not_a_mentor")
        return view(*args, **kwargs)

    return wrapped


@bp.post("/sessions/create/")
@mentor_required
def create_session():
    data = json_body()
    publish = data.pop("publish", False)
    if not isinstance(publish, bool):
        raise ValidationError(
            _("publish must be true or false."), fields={"publish": [_("Must be a boolean.")]}
        )
    session = session_service.create_session(current_user, data, publish=publish)
    message = _("Session published.") if publish else _("Draft saved.")
    return ok(session_detail(session), message, status=201)


@bp.patch("/sessions/<int:session_id>/")
@mentor_required
def update_session(session_id):
    session = session_service.update_session(current_user, session_id, json_body())
    return ok(session_detail(session), _("Session updated."))


@bp.post("/sessions/<int:session_id>/publish/")
@mentor_required
def publish_session(session_id):
    session = session_service.publish_session(current_user, session_id)
    return ok(session_detail(session), _("Session published."))


@bp.post("/sessions/<int:session_id>/cancel/")
@mentor_required
def cancel_session(session_id):
    session_service.mentor_session(current_user, session_id)  # another mentor's session is 404
    reason = json_body().get("reason") or ""
    if not isinstance(reason, str):
        raise ValidationError(_("reason must be text."), fields={"reason": [_("Must be a string.")]})
    session = session_service.cancel_session(current_user, session_id, reason=reason)
    return ok(session_detail(session), _("Session cancelled; everyone who booked is refunded in full."))


@bp.get("/earnings/")
@mentor_required
def earnings():
    mentor_id = current_user.id
    tz = current_user.timezone
    return ok(
        earnings_json(
            earnings_service.load(mentor_id, tz=tz),
            earnings_service.mentor_payouts(mentor_id),
            payout_accounts.account_of(mentor_id),
            earnings_service.statement_months(mentor_id, tz=tz),
            earnings_service.MONEY_STATES,
        )
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
            _(
                "%(message)s Add them at %(url)s or with PUT /api/payout-details/.",
                message=exc.message,
                url=url,
            ),
            code=exc.code,
            fields={"payout_details": [url]},
        ) from exc
    return ok(payout_json(payout), _("Payout requested."), status=201)


@bp.get("/payout-details/")
@mentor_required
def payout_details():
    return ok({"payout_account": account_json(payout_accounts.account_of(current_user.id))})


@bp.put("/payout-details/")
@mentor_required
def save_payout_details():
    account = payout_accounts.save(current_user, json_body())
    return ok(
        {"payout_account": account_json(account)}, _("Payouts now go to %(account)s.", account=account.masked)
    )
