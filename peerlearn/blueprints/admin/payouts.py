"""The admins' payout queue: the requested payouts with where to send each and the mentor's
balance, a form to mark one paid (with the transfer's reference) or reject it, and the decided
ones, filtered and a page at a time. The admin blueprint's guard keeps it to admins."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...exceptions import DomainError, ValidationError
from ...limits import ADMIN_PER_PAGE
from ...services import admin as admin_service
from ...services import audit, payout_accounts
from ...services import earnings as earnings_service
from ...services.pagination import Page
from . import bp
from .forms import MarkPaidForm, RejectPayoutForm


@bp.get("/payouts")
def payouts():
    requested = admin_service.requested_payouts()
    # The decided ones, filtered and a page at a time (bad filters: the form says which, 422).
    errors, page = {}, 1
    try:
        filters = admin_service.payout_filters(request.args)
        page = admin_service.page_number(request.args)
    except ValidationError as exc:
        errors = exc.fields
    history = Page([], 0, page, ADMIN_PER_PAGE)
    if not errors:
        history = admin_service.find_payouts(**filters, page=page, per_page=ADMIN_PER_PAGE)
    kept = request.args.to_dict(flat=False)

    def page_url(number):
        return url_for("admin.payouts", **{**kept, "page": number})

    return render_template(
        "admin/payouts.html",
        requested=requested,
        history=history.items,
        items=history.items,
        total=history.total,
        page=page,
        pages=history.pages,
        page_url=page_url,
        errors=errors,
        args=request.args,
        statuses=list(admin_service.DECIDED_PAYOUT_STATES),
        balances={p.mentor_id: earnings_service.summary(p.mentor_id) for p in requested},
        # Where to send each requested payout: the details it was requested with, in full.
        destinations={
            p.id: payout_accounts.describe(payout_accounts.decrypt(p.account_encrypted)) for p in requested
        },
        words=earnings_service.MONEY_STATES,
    ), (422 if errors else 200)


@bp.post("/payouts/<int:payout_id>/paid")
def mark_payout_paid(payout_id):
    form = MarkPaidForm()
    if not form.validate_on_submit():
        flash(next(iter(form.reference.errors or form.csrf_token.errors), _("Check the form.")), "error")
        return redirect(url_for("admin.payouts"), 303)
    try:
        payout = earnings_service.mark_payout_paid(
            current_user, payout_id, form.reference.data, origin=audit.Origin.of(request)
        )
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(_("Payout #%(id)s to %(name)s marked paid.", id=payout.id, name=payout.mentor.name), "success")
    return redirect(url_for("admin.payouts"), 303)


@bp.post("/payouts/<int:payout_id>/reject")
def reject_payout(payout_id):
    form = RejectPayoutForm()
    if not form.validate_on_submit():
        flash(next(iter(form.note.errors or form.csrf_token.errors), _("Check the form.")), "error")
        return redirect(url_for("admin.payouts"), 303)
    try:
        payout = earnings_service.reject_payout(
            current_user, payout_id, form.note.data or "", origin=audit.Origin.of(request)
        )
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(
            _("Payout #%(id)s rejected; the amount is available to the mentor again.", id=payout.id), "info"
        )
    return redirect(url_for("admin.payouts"), 303)
