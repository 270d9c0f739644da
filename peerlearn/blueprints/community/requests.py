"""Session requests on pages: the learner's form and list, the mentor's inbox with accept and
decline, one request's page, and "Confirm and pay" for an accepted one."""

from decimal import Decimal

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from ...exceptions import DomainError
from ...forms import apply_field_errors
from ...jinja import localtime
from ...models import BookingStatus, RequestStatus, Role, utcnow
from ...security import role_required
from ...services import people
from ...services import session_requests as service
from ...services.accounts import rupees_to_paise
from . import bp
from .forms import AcceptForm, DeclineForm, RequestForm

LIST_SIZE = 50
OTHER_TIME = "other"


def accept_form(req, *, formdata=None):
    """The accept form of one request, its times offered in the mentor's timezone."""
    now = utcnow()
    form = AcceptForm(
        formdata=formdata,
        prefix=f"accept-{req.id}",
        data={"price": Decimal(service.default_price(req, req.mentor)) / 100},
    )
    choices = [
        SelectChoice(moment.isoformat(), localtime(moment, "%a %d %b %Y, %I:%M %p", tz=req.mentor.timezone))
        for moment in service.preferred_times(req)
        if moment > now
    ]
    form.time.choices = [*choices, SelectChoice(OTHER_TIME, _("Another time…"))]
    if formdata is None:
        form.time.data = choices[0].value if choices else OTHER_TIME
    return form


def decline_form(req, *, formdata=None):
    return DeclineForm(formdata=formdata, prefix=f"decline-{req.id}")


def _render_detail(req, *, status=200, accept=None, decline=None, problems=()):
    mentor_view = current_user.id == req.mentor_id
    if mentor_view and service.mentor_can_act(req):
        accept = accept or accept_form(req)
        decline = decline or decline_form(req)
    return render_template(
        "community/requests/detail.html",
        req=req,
        session=service.made_session(req),
        mentor_view=mentor_view,
        times=service.preferred_times(req),
        booking=service.learner_booking(req),
        accept=accept,
        decline=decline,
        problems=list(problems),
        can_act=service.mentor_can_act(req),
        can_confirm=service.learner_can_confirm(req),
    ), status


# --------------------------------------------------------------------------------- the learner


@bp.route("/mentors/<int:mentor_id>/request", methods=["GET", "POST"])
@login_required
def new_request(mentor_id):
    mentor = people.active_mentor(mentor_id)
    service.check_can_ask(current_user, mentor)
    form = RequestForm()
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        data = {
            "topic": form.topic.data,
            "message": form.message.data or "",
            # Naive wall-clock times: the service reads them in the learner's timezone.
            "preferred_times": [f.data for f in (form.time_1, form.time_2, form.time_3) if f.data],
        }
        try:
            if form.budget.data is not None:
                data["budget_paise"] = rupees_to_paise(form.budget.data)
            req = service.create_request(current_user, mentor.id, data)
        except DomainError as exc:
            fields = dict(exc.fields)
            if "preferred_times" in fields:
                fields["time_1"] = fields.pop("preferred_times")
            if "budget_paise" in fields:
                fields["budget"] = fields.pop("budget_paise")
            leftover = apply_field_errors(form, fields) if fields else [exc.message]
            if leftover:
                flash(leftover[0], "error")
            status = exc.status
        else:
            flash(
                _("Request sent. We'll let you know when %(name)s answers.", name=mentor.first_name),
                "success",
            )
            return redirect(url_for("community.request_detail", request_id=req.id), 303)
    return render_template("community/requests/new.html", form=form, mentor=mentor), status


@bp.get("/requests")
@login_required
def my_requests():
    """The requests this account sent as a learner (a mentor's own inbox is /requests/inbox)."""
    items, _total = service.requests_for(current_user, side="sent", per_page=LIST_SIZE)
    sessions = service.made_sessions(items)
    bookings = {r.id: service.learner_booking(r) for r in items if r.session_id}
    seated = {r.id for r in items if bookings.get(r.id) is not None and bookings[r.id].is_active}
    confirmable = {r.id for r in items if service.learner_can_confirm(r) and r.id not in seated}
    # What the learner can still take back: a pending request, or an offer they have not taken.
    withdrawable = {
        r.id
        for r in items
        if service.is_open(r) and (r.status == RequestStatus.PENDING or r.id in confirmable)
    }
    return render_template(
        "community/requests/list.html",
        requests=items,
        sessions=sessions,
        bookings=bookings,
        seated=seated,
        confirmable=confirmable,
        withdrawable=withdrawable,
    )


@bp.post("/requests/<int:request_id>/withdraw")
@login_required
def withdraw(request_id):
    try:
        service.withdraw(current_user, request_id)
    except DomainError as exc:
        if exc.status in (403, 404):
            abort(exc.status)
        flash(exc.message, "error")
    else:
        flash(_("Request withdrawn."), "success")
    if request.form.get("back") == "list":
        return redirect(url_for("community.my_requests"), 303)
    return redirect(url_for("community.request_detail", request_id=request_id), 303)


@bp.post("/requests/<int:request_id>/confirm")
@login_required
def confirm(request_id):
    try:
        _req, booking, _created = service.confirm(current_user, request_id)
    except DomainError as exc:
        if exc.status in (403, 404):
            abort(exc.status)
        flash(exc.message, "error")
        return redirect(url_for("community.request_detail", request_id=request_id), 303)
    if booking.status == BookingStatus.PENDING_PAYMENT:
        return redirect(url_for("payments.checkout", booking_id=booking.id), 303)
    flash(_("You're booked. See you in the session!"), "success")
    return redirect(url_for("booking.detail", booking_id=booking.id), 303)


# ---------------------------------------------------------------------------------- the mentor


@bp.get("/requests/inbox")
@role_required(Role.MENTOR)
def requests_inbox():
    pending, _pending_total = service.requests_for(
        current_user, status=RequestStatus.PENDING.value, per_page=LIST_SIZE
    )
    pending = [r for r in pending if service.mentor_can_act(r)]
    everything, _total = service.requests_for(current_user, per_page=LIST_SIZE)
    earlier = [r for r in everything if r not in pending]
    return render_template(
        "community/requests/inbox.html",
        pending=pending,
        earlier=earlier,
        times={r.id: service.preferred_times(r) for r in pending},
        accept_forms={r.id: accept_form(r) for r in pending},
        decline_forms={r.id: decline_form(r) for r in pending},
    )


@bp.post("/requests/<int:request_id>/accept")
@role_required(Role.MENTOR)
def accept(request_id):
    req = service.request_for(current_user, request_id)
    form = accept_form(req, formdata=request.form)
    if not service.mentor_can_act(req):
        flash(service.request_is(req.status if req.status != "pending" else "expired"), "error")
        return redirect(url_for("community.request_detail", request_id=req.id), 303)
    if not form.validate_on_submit():
        return _render_detail(req, status=422, accept=form)
    if form.time.data == OTHER_TIME:
        if form.other_time.data is None:
            form.other_time.errors = [*form.other_time.errors, _("Choose the other time.")]
            return _render_detail(req, status=422, accept=form)
        starts_at = form.other_time.data  # naive: read in the mentor's timezone
    else:
        starts_at = form.time.data
    try:
        choices = {
            "starts_at": starts_at,
            "price_paise": rupees_to_paise(form.price.data),
            "category": form.category.data,
            "note": form.note.data or "",
        }
        req, session = service.accept(current_user, req.id, choices)
    except DomainError as exc:
        fields = dict(exc.fields)
        if "starts_at" in fields:
            fields["other_time" if form.time.data == OTHER_TIME else "time"] = fields.pop("starts_at")
        if "price_paise" in fields:
            fields["price"] = fields.pop("price_paise")
        leftover = apply_field_errors(form, fields)
        problems = leftover or ([] if exc.fields else [exc.message])
        return _render_detail(req, status=exc.status, accept=form, problems=problems)
    flash(
        _(
            "Accepted. “%(title)s” is published and kept for %(name)s, who has been asked to confirm.",
            title=session.title,
            name=req.learner.first_name,
        ),
        "success",
    )
    return redirect(url_for("community.request_detail", request_id=req.id), 303)


@bp.post("/requests/<int:request_id>/decline")
@role_required(Role.MENTOR)
def decline(request_id):
    req = service.request_for(current_user, request_id)
    form = decline_form(req, formdata=request.form)
    if not form.validate_on_submit():
        return _render_detail(req, status=422, decline=form)
    try:
        service.decline(current_user, req.id, form.note.data or "")
    except DomainError as exc:
        if exc.status in (403, 404):
            abort(exc.status)
        flash(exc.message, "error")
    else:
        flash(_("Declined. %(name)s has been told.", name=req.learner.first_name), "success")
    return redirect(url_for("community.request_detail", request_id=req.id), 303)


# ------------------------------------------------------------------------------------- both


@bp.get("/requests/<int:request_id>")
@login_required
def request_detail(request_id):
    return _render_detail(service.request_for(current_user, request_id))
