"""Mentors' earnings, payout details, monthly statements and payout requests (the admins' payout
queue is in the admin blueprint). The words and figures come from ``services.earnings``."""

from decimal import Decimal

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...exceptions import DomainError, NotFound, ValidationError
from ...jinja import format_inr
from ...models import Role, utcnow
from ...security import role_required
from ...services import earnings as earnings_service
from ...services import payout_accounts
from ...services.accounts import rupees_to_paise
from . import bp
from .forms import PayoutDetailsForm, PayoutRequestForm


def rupees(paise):
    return Decimal(paise) / 100


def _render_earnings(form, status=200, *, money=None):
    mentor_id = current_user.id
    now = utcnow()
    money = money or earnings_service.load(mentor_id, now=now, tz=current_user.timezone)
    statement_months = earnings_service.statement_months(mentor_id, now=now, tz=current_user.timezone)
    return render_template(
        "booking/earnings.html",
        summary=money.summary(),
        sessions=money.by_session(),
        months=money.by_month(),
        statements=[{"month": m, "label": earnings_service.month_label(m)} for m in statement_months],
        payouts=earnings_service.mentor_payouts(mentor_id),
        account=payout_accounts.account_of(mentor_id),
        form=form,
        min_payout_paise=earnings_service.MIN_PAYOUT_PAISE,
        words=earnings_service.MONEY_STATES,
        earned_this_month=earnings_service.EARNED_THIS_MONTH,
        settled_word=earnings_service.SETTLED,
    ), status


@bp.get("/teach/earnings")
@role_required(Role.MENTOR)
def earnings():
    form = PayoutRequestForm()
    money = earnings_service.load(current_user.id, tz=current_user.timezone)
    available = money.summary()["available_paise"]
    if available > 0:
        form.amount.data = rupees(available)
    return _render_earnings(form, money=money)


@bp.post("/teach/earnings/payout")
@role_required(Role.MENTOR)
def request_payout():
    form = PayoutRequestForm()
    if not form.validate_on_submit():
        return _render_earnings(form, 422)
    try:
        amount_paise = rupees_to_paise(form.amount.data)
        payout = earnings_service.request_payout(current_user, amount_paise)
    except DomainError as exc:
        form.amount.errors = [*form.amount.errors, exc.message]
        return _render_earnings(form, exc.status)
    flash(
        _(
            "Payout of %(amount)s requested to %(account)s. We'll let you know when it's paid.",
            amount=format_inr(payout.amount_paise),
            account=payout.account_masked,
        ),
        "success",
    )
    return redirect(url_for("booking.earnings"), 303)


@bp.route("/teach/payout-details", methods=["GET", "POST"])
@role_required(Role.MENTOR)
def payout_details():
    account = payout_accounts.account_of(current_user.id)
    form = PayoutDetailsForm()
    if request.method == "GET" and account is not None:
        form.kind.data = account.kind
    status = 200
    if form.validate_on_submit():
        try:
            account = payout_accounts.save(current_user, form.data)
        except ValidationError as exc:
            for name, errors in exc.fields.items():
                if name in form:
                    form[name].errors = [*form[name].errors, *errors]
            status = 422
        else:
            flash(_("Payouts now go to %(account)s.", account=account.masked), "success")
            return redirect(url_for("booking.earnings"), 303)
    elif request.method == "POST":
        status = 422
    return render_template("booking/payout_details.html", form=form, account=account), status


@bp.get("/teach/earnings/statement/<month>")
@role_required(Role.MENTOR)
def statement(month):
    as_csv = month.endswith(".csv")
    month = month.removesuffix(".csv")
    try:
        data = earnings_service.statement(current_user.id, month, tz=current_user.timezone)
    except NotFound:
        abort(404)
    if as_csv:
        # A byte-order mark, so spreadsheet programs read the file (₹, names) as UTF-8.
        return Response(
            "\ufeff" + earnings_service.statement_csv(data),
            mimetype="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="peerlearn-statement-{data["month"]}.csv"',
                "Cache-Control": "private, no-store",
            },
        )
    response = Response(
        render_template(
            "booking/statement.html",
            statement=data,
            account=payout_accounts.account_of(current_user.id),
            words=earnings_service.MONEY_STATES,
        )
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
