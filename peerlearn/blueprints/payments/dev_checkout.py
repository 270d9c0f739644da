"""The dev gateway's local checkout page (the embedded mode's stand-in for Razorpay Checkout).

It does what Razorpay's checkout does: shows the order, takes the payment on the gateway's side,
and hands the browser the payment id and signature, which ``payments.dev_return`` verifies with the
same code as ``/api/verify-payment/``. It exists only while the dev gateway is the active one.
"""

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from ...extensions import db
from ...payments import GatewayError, get_gateway
from ...payments.dev import DevGateway
from ...services import payments as payment_service
from . import bp
from .forms import DevPaymentForm


def _dev_order(order_id):
    """The dev gateway and the signed-in payer's Payment for this order; 404 for anyone else."""
    gateway = get_gateway()
    if not isinstance(gateway, DevGateway):
        abort(404)
    payment = payment_service.payment_for_order(current_user, order_id)
    if payment is None or payment.gateway != gateway.name:
        abort(404)
    try:
        order_status = gateway.order_status(order_id)
    except GatewayError:
        abort(404)
    return gateway, payment, order_status


def _render(form, payment, order_status, status=200):
    return (
        render_template(
            "payments/dev_checkout.html", form=form, payment=payment, order_paid=order_status == "paid"
        ),
        status,
    )


@bp.get("/payments/dev-checkout/<order_id>")
@login_required
def dev_checkout(order_id):
    _gateway, payment, order_status = _dev_order(order_id)
    return _render(DevPaymentForm(), payment, order_status)


@bp.post("/payments/dev-checkout/<order_id>/pay")
@login_required
def dev_checkout_pay(order_id):
    return _attempt(order_id, succeed=True)


@bp.post("/payments/dev-checkout/<order_id>/fail")
@login_required
def dev_checkout_fail(order_id):
    return _attempt(order_id, succeed=False)


def _attempt(order_id, *, succeed):
    gateway, payment, order_status = _dev_order(order_id)
    form = DevPaymentForm()
    if not form.validate_on_submit():
        return _render(form, payment, order_status, 422)
    try:
        remote, signature = gateway.pay(order_id, succeed=succeed, method=form.method.data)
    except GatewayError as exc:
        flash(str(exc), "error")
        return redirect(url_for("payments.dev_checkout", order_id=order_id), 303)
    # This request plays the gateway (the stand-in for Razorpay's checkout), not a PeerLearn use
    # case: its attempt stands whatever PeerLearn makes of it next, so the gateway commits it here.
    db.session.commit()
    if succeed:
        target = url_for("payments.dev_return", order_id=order_id, payment_id=remote.id, signature=signature)
    else:
        target = url_for("payments.dev_return", order_id=order_id, payment_id=remote.id, failed=1)
    return redirect(target, 303)
