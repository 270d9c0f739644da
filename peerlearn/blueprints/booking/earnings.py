"""Mentors' earnings and payout requests; the admins' payout queue."""

from datetime import datetime
from decimal import Decimal

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DecimalField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ...exceptions import DomainError, ValidationError
from ...extensions import db
from ...jinja import format_inr
from ...models import Payout, PayoutStatus, Role
from ...security import role_required
from ...services import admin as admin_service
from ...services import earnings as earnings_service
from ...services.accounts import rupees_to_paise
from . import bp

PAYOUT_HISTORY_LIMIT = 100


class PayoutRequestForm(FlaskForm):
    amount = DecimalField(
        "Amount (₹)",
        places=2,
        validators=[
            InputRequired("Enter the amount to withdraw."),
            NumberRange(min=1, message="A payout is at least ₹1."),
        ],
    )


class MarkPaidForm(FlaskForm):
    reference = StringField(
        "Bank or UPI reference",
        validators=[InputRequired("Give the bank or UPI reference of the transfer."), Length(max=100)],
    )


class RejectPayoutForm(FlaskForm):
    note = TextAreaField("Reason (shown to the mentor)", validators=[Optional(), Length(max=500)])


def month_label(month):
    """'2026-12' -> 'Dec 2026'."""
    return datetime.strptime(month, "%Y-%m").strftime("%b %Y")


def mentor_payouts(mentor_id):
    return list(
        db.session.scalars(
            select(Payout)
            .where(Payout.mentor_id == mentor_id)
            .order_by(Payout.created_at.desc(), Payout.id.desc())
            .limit(PAYOUT_HISTORY_LIMIT)
        )
    )


def rupees(paise):
    return Decimal(paise) / 100


def _render_earnings(form, status=200):
    mentor_id = current_user.id
    summary = earnings_service.summary(mentor_id)
    months = [dict(row, label=month_label(row["month"])) for row in earnings_service.by_month(mentor_id)]
    return render_template(
        "booking/earnings.html",
        summary=summary,
        sessions=earnings_service.by_session(mentor_id),
        months=months,
        payouts=mentor_payouts(mentor_id),
        form=form,
        min_payout_paise=earnings_service.MIN_PAYOUT_PAISE,
    ), status


@bp.get("/teach/earnings")
@role_required(Role.MENTOR)
def earnings():
    form = PayoutRequestForm()
    available = earnings_service.summary(current_user.id)["available_paise"]
    if available > 0:
        form.amount.data = rupees(available)
    return _render_earnings(form)


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
        db.session.rollback()
        form.amount.errors = [*form.amount.errors, exc.message]
        return _render_earnings(form, exc.status)
    flash(
        f"Payout of {format_inr(payout.amount_paise)} requested. We'll let you know when it's paid.",
        "success",
    )
    return redirect(url_for("booking.earnings"), 303)


@bp.get("/admin/payouts")
@role_required(Role.ADMIN)
def admin_payouts():
    from ...services import admin as admin_service

    requested = list(
        db.session.scalars(
            select(Payout)
            .where(Payout.status == PayoutStatus.REQUESTED.value)
            .order_by(Payout.created_at, Payout.id)
        )
    )
    # The decided ones, filtered and a page at a time (bad filters: the form says which, 422).
    errors, history, total, page = {}, [], 0, 1
    try:
        filters = admin_service.payout_filters(request.args)
        page = admin_service.page_number(request.args)
    except ValidationError as exc:
        errors = exc.fields
    else:
        history, total = admin_service.find_payouts(**filters, page=page, per_page=admin_service.PER_PAGE)
    kept = request.args.to_dict(flat=False)

    def page_url(number):
        return url_for("booking.admin_payouts", **{**kept, "page": number})

    return render_template(
        "booking/admin_payouts.html",
        requested=requested,
        history=history,
        items=history,
        total=total,
        page=page,
        pages=(total + admin_service.PER_PAGE - 1) // admin_service.PER_PAGE,
        page_url=page_url,
        errors=errors,
        args=request.args,
        statuses=list(admin_service.DECIDED_PAYOUT_STATES),
        balances={p.mentor_id: earnings_service.summary(p.mentor_id) for p in requested},
    ), (422 if errors else 200)


@bp.post("/admin/payouts/<int:payout_id>/paid")
@role_required(Role.ADMIN)
def mark_payout_paid(payout_id):
    form = MarkPaidForm()
    if not form.validate_on_submit():
        flash(next(iter(form.reference.errors or form.csrf_token.errors), "Check the form."), "error")
        return redirect(url_for("booking.admin_payouts"), 303)
    try:
        # The audit entry is committed with the decision, or rolled back with it.
        admin_service.record_payout_decision(
            current_user,
            admin_service.PAYOUT_PAID,
            payout_id,
            details={"reference": (form.reference.data or "").strip()},
            origin=admin_service.Origin.of(request),
        )
        payout = earnings_service.mark_payout_paid(current_user, payout_id, form.reference.data)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(f"Payout #{payout.id} to {payout.mentor.name} marked paid.", "success")
    return redirect(url_for("booking.admin_payouts"), 303)


@bp.post("/admin/payouts/<int:payout_id>/reject")
@role_required(Role.ADMIN)
def reject_payout(payout_id):
    form = RejectPayoutForm()
    if not form.validate_on_submit():
        flash(next(iter(form.note.errors or form.csrf_token.errors), "Check the form."), "error")
        return redirect(url_for("booking.admin_payouts"), 303)
    try:
        admin_service.record_payout_decision(
            current_user,
            admin_service.PAYOUT_REJECT,
            payout_id,
            details={"note": form.note.data or ""},
            origin=admin_service.Origin.of(request),
        )
        payout = earnings_service.reject_payout(current_user, payout_id, form.note.data or "")
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(f"Payout #{payout.id} rejected; the amount is available to the mentor again.", "info")
    return redirect(url_for("booking.admin_payouts"), 303)
