"""Session packs on the pages: a mentor's packs under Teach (make, deactivate, sales), buying one
(the pay page shares the booking checkout's script), the learner's packs, and booking a session
with a credit (services.packs)."""

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import BooleanField, IntegerField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ...exceptions import DomainError, ValidationError
from ...forms import BaseForm, apply_field_errors
from ...limits import MAX_PRICE_RUPEES
from ...models import PaymentPurpose, Role
from ...payments import get_gateway
from ...security import role_required
from ...services import packs as pack_service
from ...services import payments as payment_service
from . import bp


class PackForm(BaseForm):
    title = StringField(
        _l("Title"), validators=[InputRequired(_l("Give the pack a title.")), Length(max=120)]
    )
    credits = IntegerField(
        _l("Sessions"), default=5, validators=[InputRequired(), NumberRange(min=1, max=50)]
    )
    price = IntegerField(
        _l("Price of the pack (₹)"), validators=[InputRequired(), NumberRange(min=1, max=MAX_PRICE_RUPEES)]
    )
    valid_days = IntegerField(
        _l("Valid for (days)"), default=60, validators=[InputRequired(), NumberRange(min=1, max=730)]
    )
    max_session_price = IntegerField(
        _l("Highest session price a credit covers (₹)"), validators=[Optional(), NumberRange(min=0)]
    )
    one_to_one_only = BooleanField(_l("One-to-one sessions only"), default=True)


def _render_manage(form, status=200):
    packs = pack_service.mentor_packs(current_user.id, active_only=False)
    return (
        render_template(
            "packs/manage.html", form=form, packs=packs, sales=pack_service.sales_counts(current_user.id)
        ),
        status,
    )


@bp.get("/teach/packs")
@role_required(Role.MENTOR)
def packs():
    return _render_manage(PackForm())


@bp.post("/teach/packs")
@role_required(Role.MENTOR)
def create_pack():
    form = PackForm()
    if form.validate_on_submit():
        fields = {
            "title": form.title.data,
            "credits": form.credits.data,
            "price_paise": form.price.data * 100,
            "valid_days": form.valid_days.data,
            "max_session_price_paise": (form.max_session_price.data or 0) * 100,
            "one_to_one_only": bool(form.one_to_one_only.data),
        }
        try:
            pack = pack_service.create_pack(current_user, fields)
        except ValidationError as exc:
            names = {"price_paise": "price", "max_session_price_paise": "max_session_price"}
            leftover = apply_field_errors(form, {names.get(k, k): v for k, v in (exc.fields or {}).items()})
            for message in leftover:
                flash(message, "error")
        else:
            flash(_("“%(title)s” is on sale on your profile.", title=pack.title), "success")
            return redirect(url_for("booking.packs"))
    return _render_manage(form, status=422)


@bp.post("/teach/packs/<int:pack_id>/deactivate")
@role_required(Role.MENTOR)
def deactivate_pack(pack_id):
    pack = pack_service.deactivate_pack(current_user, pack_id)  # another's pack: 404
    flash(
        _("“%(title)s” is no longer sold. Packs already bought keep their credits.", title=pack.title),
        "success",
    )
    return redirect(url_for("booking.packs"))


@bp.post("/packs/<int:pack_id>/buy")
@login_required
def buy_pack(pack_id):
    try:
        payment = pack_service.start_pack_payment(current_user, pack_id)
    except DomainError as exc:
        if exc.status == 404:
            abort(404)
        flash(exc.message, "error")
        return redirect(url_for("booking.my_packs"))
    return redirect(url_for("booking.pack_checkout", order_id=payment.order_id))


@bp.get("/packs/orders/<order_id>")
@login_required
def pack_checkout(order_id):
    payment = payment_service.payment_for_order(current_user, order_id)
    if payment is None or payment.purpose != PaymentPurpose.PACK:
        abort(404)
    if payment.is_captured:
        flash(_("Payment received. Your pack's credits are ready to book with."), "success")
        return redirect(url_for("booking.my_packs"))
    gateway = get_gateway()
    return render_template(
        "packs/pay.html",
        payment=payment,
        purchase=pack_service.purchase_for_payment(payment),
        gateway=gateway,
        razorpay_script=current_app.config["RAZORPAY_CHECKOUT_URL"] if gateway.name == "razorpay" else None,
    )


@bp.get("/my-packs")
@login_required
def my_packs():
    return render_template("packs/mine.html", purchases=pack_service.learner_purchases(current_user))


@bp.post("/sessions/<int:session_id>/book-with-credit")
@login_required
def book_with_credit(session_id):
    try:
        booking, created = pack_service.book_with_credit(session_id, current_user)
    except DomainError as exc:
        if exc.status == 404:
            abort(404)
        flash(exc.message, "error")
        return redirect(url_for("sessions.detail", session_id=session_id))
    flash(
        _("Booked with a pack credit. See you there!") if created else _("You already have this seat."),
        "success",
    )
    return redirect(url_for("booking.detail", booking_id=booking.id))
