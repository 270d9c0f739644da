"""Payment jobs: sending reserved refunds and reconciling open orders."""

from ..services import payments, refunds


def send_refund(refund_id):
    refunds.send_refund(refund_id)


def reconcile():
    return payments.reconcile_open_payments()
