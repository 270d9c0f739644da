"""Admin pages for money put right: the queue of learners' reported problems (disputes) with a
decision form on each, and a payment's page where an admin refunds any captured payment.

Each form names the change it asks for: the decision applies once however often it is posted
(services.disputes.decide), and a refund form carries a one-time nonce made when the page was
drawn, so a double click refunds once (services.admin.refund_payment).
"""

import secrets

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...exceptions import DomainError, ValidationError
from ...jinja import format_inr
from ...services import accounts
from ...services import admin as admin_service
from ...services import coupons as coupon_service
from ...services import disputes as dispute_service
from . import bp
from .routes import _listing, _origin


def _form_values(form):
    return {name: (form.get(name) or "").strip() for name in ("outcome", "amount", "reason")}


def _amount_paise(outcome, amount_text):
    """The partial refund's amount from the rupee field; the other outcomes take none."""
    if outcome != dispute_service.REFUND_PARTIAL:
        return None
    return accounts.parse_rupees(amount_text, field="amount_paise")


def _field_errors(exc):
    """A service's field errors under the form's field names."""
    renamed = {"amount_paise": "amount"}
    return {renamed.get(name, name): messages for name, messages in exc.fields.items()}


def _render_queue(args=None, *, failed_id=None, form_errors=None, values=None, status=200):
    return _listing(
        "disputes",
        dispute_service.dispute_filters,
        dispute_service.find_disputes,
        args=args,
        status=status,
        facts=dispute_service.facts,
        reason_label=dispute_service.reason_label,
        status_label=dispute_service.status_label,
        outcomes=dispute_service.OUTCOME_LABELS,
        failed_id=failed_id,
        form_errors=form_errors or {},
        values=values or {},
    )


@bp.get("/disputes")
def disputes():
    return _render_queue()


@bp.post("/disputes/<int:dispute_id>/decide")
def decide_dispute(dispute_id):
    """Decide from the queue; a refused form shows again on that dispute, filled in (422)."""
    values = _form_values(request.form)
    try:
        amount = _amount_paise(values["outcome"], values["amount"])
        dispute = dispute_service.decide(
            current_user,
            dispute_id,
            values["outcome"],
            amount,
            reason=values["reason"],
            origin=_origin(),
        )
    except ValidationError as exc:
        return _render_queue(
            {"state": "open"},
            failed_id=dispute_id,
            form_errors=_field_errors(exc),
            values=values,
            status=exc.status,
        )
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
        return redirect(url_for("admin.disputes"), 303)
    if dispute.refund_paise:
        message = _(
            "Dispute #%(id)s decided: %(amount)s is being refunded. Both sides were told why.",
            id=dispute.id,
            amount=format_inr(dispute.refund_paise),
        )
    else:
        message = _(
            "Dispute #%(id)s decided: released to the mentor, no refund. Both sides were told why.",
            id=dispute.id,
        )
    flash(message, "success")
    return redirect(url_for("admin.disputes"), 303)


# ---------------------------------------------------------------------------- any payment


def _render_payment(payment_id, *, errors=None, values=None, status=200):
    overview = admin_service.payment_overview(payment_id)
    refundable = overview["payment"].refundable_paise
    values = values or {"amount": f"{refundable / 100:.2f}" if refundable else "", "reason": ""}
    return render_template(
        "admin/payment.html",
        errors=errors or {},
        values=values,
        # A fresh one-time key each time the form is drawn: posting that form twice is one refund.
        nonce=secrets.token_urlsafe(18),
        status_label=dispute_service.status_label,
        coupon=coupon_service.for_payment(overview["payment"]),
        **overview,
    ), status


@bp.get("/payments/<int:payment_id>")
def payment(payment_id):
    return _render_payment(payment_id)


@bp.post("/payments/<int:payment_id>/refund")
def refund_payment(payment_id):
    values = {name: (request.form.get(name) or "").strip() for name in ("amount", "reason")}
    try:
        amount = accounts.parse_rupees(values["amount"], field="amount_paise")
        refund, created = admin_service.refund_payment(
            current_user,
            payment_id,
            amount_paise=amount,
            reason=values["reason"],
            request_key=request.form.get("nonce", ""),
            origin=_origin(),
        )
    except ValidationError as exc:
        errors = _field_errors(exc)
        if "idempotency_key" in errors:  # a form not drawn by this page: draw it again
            errors = {"form": [_("The form was incomplete; check the amount and try again.")]}
        return _render_payment(payment_id, errors=errors, values=values, status=exc.status)
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
    else:
        amount = format_inr(refund.amount_paise)
        if created:
            if refund.status == "processed":
                message = _("%(amount)s refunded; the payer has been emailed.", amount=amount)
            else:
                message = _(
                    "Refund of %(amount)s sent; the payer is emailed once it is processed.", amount=amount
                )
            flash(message, "success")
        else:
            flash(
                _(
                    "That refund was already made (%(amount)s, %(status)s).",
                    amount=amount,
                    status=refund.status,
                ),
                "info",
            )
    return redirect(url_for("admin.payment", payment_id=payment_id), 303)
