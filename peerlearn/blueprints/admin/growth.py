"""The admins' pages for the growth features: sessions' waitlists, session packs, moved bookings
and webhooks (services.admin_growth). The admin blueprint's guard keeps them to admins."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ... import formats
from ...exceptions import DomainError
from ...services import admin_growth
from ...services import audit as audit_log
from . import bp
from .forms import ReasonForm
from .routes import _listing, _reason_post


def _origin():
    return audit_log.Origin.of(request)


def _annotated(name, parse, find, annotate, **context):
    """``_listing`` whose page also gets ``more``: what ``annotate(items)`` says of the page's
    items (their summaries, last deliveries...), empty when the filters were refused."""
    more = {}

    def find_and_annotate(**filters):
        found = find(**filters)
        more.update(annotate(found.items))
        return found

    return _listing(name, parse, find_and_annotate, more=more, **context)


# ---------------------------------------------------------------------------- waitlists


@bp.get("/waitlists")
def waitlists():
    return _annotated(
        "waitlists",
        admin_growth.waitlist_filters,
        admin_growth.find_waitlists,
        lambda items: {"summaries": admin_growth.waitlist_summaries([s.id for s in items])},
        states=[("open", _("Someone waiting")), ("closed", _("Nobody waiting"))],
    )


@bp.get("/waitlists/<int:session_id>")
def waitlist(session_id):
    return _render_waitlist(session_id)


def _render_waitlist(session_id, form=None, failed_id=None, status=200):
    return render_template(
        "admin/waitlist.html",
        form=form or ReasonForm(formdata=None),
        failed_id=failed_id,
        **admin_growth.session_waitlist(session_id),
    ), status


@bp.post("/waitlists/entries/<int:entry_id>/remove")
def remove_from_waitlist(entry_id):
    session_id = request.form.get("session_id", type=int)
    back = url_for("admin.waitlist", session_id=session_id) if session_id else url_for("admin.waitlists")
    return _reason_post(
        lambda reason: admin_growth.remove_from_waitlist(current_user, entry_id, reason, origin=_origin()),
        lambda form, status: (
            _render_waitlist(session_id, form, entry_id, status) if session_id else (redirect(back, 303))
        ),
        back,
        lambda entry: _("%(name)s is off the waitlist and has been told why.", name=entry.learner.name),
    )


# ---------------------------------------------------------------------------- packs


@bp.get("/packs")
def packs():
    return _annotated(
        "packs",
        admin_growth.pack_filters,
        admin_growth.find_packs,
        lambda items: {"sales": admin_growth.pack_sales([pack.id for pack in items])},
    )


def _render_purchases(form=None, failed_id=None, args=None, status=200):
    return _annotated(
        "pack_purchases",
        admin_growth.purchase_filters,
        admin_growth.find_purchases,
        lambda items: {"details": admin_growth.purchase_details(items)},
        args=args,
        status=status,
        statuses=list(admin_growth.PURCHASE_STATES),
        form=form or ReasonForm(formdata=None),
        failed_id=failed_id,
    )


@bp.get("/packs/purchases")
def pack_purchases():
    return _render_purchases()


@bp.post("/packs/purchases/<int:purchase_id>/refund")
def refund_pack_purchase(purchase_id):
    def success(refund):
        if refund is None:
            return _("The pack is closed; nothing of its price was left to refund.")
        return _(
            "The pack is closed and %(amount)s of unused credits is being refunded.",
            amount=formats.format_inr(refund.amount_paise),
        )

    return _reason_post(
        lambda reason: admin_growth.refund_pack_purchase(current_user, purchase_id, reason, origin=_origin()),
        lambda form, status: _render_purchases(form, purchase_id, {}, status),
        url_for("admin.pack_purchases"),
        success,
    )


# ---------------------------------------------------------------------------- moves


@bp.get("/moves")
def moves():
    zone = formats.viewer_zone(current_user)
    return _annotated(
        "moves",
        lambda args: admin_growth.move_filters(args, zone),
        admin_growth.find_moves,
        lambda items: {"details": admin_growth.move_details(items)},
    )


# ---------------------------------------------------------------------------- webhooks


@bp.get("/webhooks")
def webhooks():
    return _annotated(
        "webhooks",
        admin_growth.endpoint_filters,
        admin_growth.find_endpoints,
        lambda items: {"last": admin_growth.last_deliveries([endpoint.id for endpoint in items])},
        states=[("enabled", _("Enabled")), ("disabled", _("Disabled"))],
    )


@bp.get("/webhooks/deliveries")
def webhook_deliveries():
    return _listing(
        "webhook_deliveries",
        admin_growth.delivery_filters,
        admin_growth.find_deliveries,
        statuses=list(admin_growth.DELIVERY_STATES),
        events=[(event, event) for event in admin_growth.EVENT_TYPES],
    )


def _action(act, success, back):
    try:
        done = act()
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
    else:
        flash(success(done), "success")
    return redirect(back, 303)


@bp.post("/webhooks/deliveries/<int:delivery_id>/redeliver")
def redeliver_webhook(delivery_id):
    return _action(
        lambda: admin_growth.redeliver(current_user, delivery_id, origin=_origin()),
        lambda delivery: _("The event is on its way again (delivery #%(id)s).", id=delivery.id),
        url_for("admin.webhook_deliveries", endpoint_id=request.form.get("endpoint_id", type=int)),
    )


@bp.post("/webhooks/<int:endpoint_id>/enable")
def enable_webhook(endpoint_id):
    return _action(
        lambda: admin_growth.enable_endpoint(current_user, endpoint_id, origin=_origin()),
        lambda endpoint: _("The webhook to %(url)s is enabled again.", url=endpoint.url),
        url_for("admin.webhooks"),
    )
