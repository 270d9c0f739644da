from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ...exceptions import DomainError, PermissionDenied
from ...forms import apply_field_errors
from ...services import webhooks
from . import bp
from .forms import EVENT_LABELS, ActionForm, EndpointForm


@bp.before_request
@login_required
def mentors_and_admins_only():
    try:
        webhooks.check_may_use(current_user)
    except PermissionDenied:
        abort(403)


def _endpoint(endpoint_id):
    try:
        return webhooks.owned_endpoint(current_user, endpoint_id)
    except DomainError:
        abort(404)


@bp.get("/")
def index():
    return render_template("webhooks/index.html", endpoints=webhooks.list_endpoints(current_user))


@bp.route("/new", methods=["GET", "POST"])
def create():
    form = EndpointForm()
    endpoint = _saved(form, lambda fields: webhooks.create_endpoint(current_user, **fields))
    if endpoint is not None:
        return render_template("webhooks/secret.html", endpoint=endpoint, created=True)
    status = 422 if form.errors or form.form_errors else 200
    return render_template("webhooks/form.html", form=form, endpoint=None), status


def _saved(form, save):
    """``save(fields)`` with the form's fields once it validates; its result, or None when the
    form is invalid or the service refused it (its errors then on the form's fields)."""
    if not form.validate_on_submit():
        return None
    fields = {
        "url": form.url.data,
        "event_types": form.event_types.data,
        "description": form.description.data or "",
    }
    try:
        return save(fields)
    except DomainError as exc:
        form.form_errors.extend(apply_field_errors(form, exc.fields) or ([] if exc.fields else [exc.message]))
        return None


@bp.get("/<int:endpoint_id>")
def show(endpoint_id):
    endpoint = _endpoint(endpoint_id)
    page = webhooks.deliveries(current_user, endpoint.id, page=request.args.get("page", 1, type=int))
    return render_template("webhooks/show.html", endpoint=endpoint, page=page, labels=EVENT_LABELS)


@bp.route("/<int:endpoint_id>/edit", methods=["GET", "POST"])
def edit(endpoint_id):
    endpoint = _endpoint(endpoint_id)
    form = EndpointForm(obj=endpoint if request.method == "GET" else None)
    if _saved(form, lambda fields: webhooks.update_endpoint(current_user, endpoint.id, **fields)):
        flash(_("Webhook saved."), "success")
        return redirect(url_for("webhooks.show", endpoint_id=endpoint.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("webhooks/form.html", form=form, endpoint=endpoint), status


def _action(endpoint_id):
    endpoint = _endpoint(endpoint_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return endpoint


@bp.post("/<int:endpoint_id>/secret")
def reveal_secret(endpoint_id):
    endpoint = _action(endpoint_id)
    return render_template("webhooks/secret.html", endpoint=endpoint, created=False)


@bp.post("/<int:endpoint_id>/roll-secret")
def roll_secret(endpoint_id):
    endpoint = webhooks.roll_secret(current_user, _action(endpoint_id).id)
    flash(_("A new signing secret is in force: update your receiver."), "success")
    return render_template("webhooks/secret.html", endpoint=endpoint, created=False)


@bp.post("/<int:endpoint_id>/ping")
def ping(endpoint_id):
    delivery = webhooks.send_ping(current_user, _action(endpoint_id).id)
    if delivery.status == "succeeded":
        flash(
            _("Ping delivered: your endpoint answered %(status)s.", status=delivery.response_status),
            "success",
        )
    else:
        flash(_("Ping not delivered: %(error)s", error=delivery.error or _("no answer")), "error")
    return redirect(url_for("webhooks.show", endpoint_id=endpoint_id))


@bp.post("/<int:endpoint_id>/enable")
def enable(endpoint_id):
    webhooks.set_enabled(current_user, _action(endpoint_id).id, True)
    flash(_("Webhook enabled."), "success")
    return redirect(url_for("webhooks.show", endpoint_id=endpoint_id))


@bp.post("/<int:endpoint_id>/disable")
def disable(endpoint_id):
    webhooks.set_enabled(current_user, _action(endpoint_id).id, False)
    flash(_("Webhook disabled: no events are sent to it until you enable it."), "success")
    return redirect(url_for("webhooks.show", endpoint_id=endpoint_id))


@bp.post("/<int:endpoint_id>/delete")
def delete(endpoint_id):
    webhooks.delete_endpoint(current_user, _action(endpoint_id).id)
    flash(_("Webhook deleted."), "success")
    return redirect(url_for("webhooks.index"))


@bp.post("/deliveries/<int:delivery_id>/redeliver")
def redeliver(delivery_id):
    try:
        original = webhooks.owned_delivery(current_user, delivery_id)
    except DomainError:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    delivery = webhooks.redeliver(current_user, original.id)
    if delivery.status == "succeeded":
        flash(_("Event %(event)s delivered again.", event=delivery.event_id), "success")
    else:
        flash(
            _(
                "Event %(event)s queued again: %(error)s",
                event=delivery.event_id,
                error=delivery.error or _("not delivered yet"),
            ),
            "error",
        )
    return redirect(url_for("webhooks.show", endpoint_id=delivery.endpoint_id))
