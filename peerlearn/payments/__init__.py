"""Payment gateways behind one interface: Razorpay, and a local dev gateway for the embedded mode.

Both issue Razorpay-shaped ids and HMAC-SHA256 signatures, so the same verification, capture and
refund code in ``services.payments`` runs whichever gateway is configured.
"""

from flask import current_app

from .base import Gateway, GatewayError, GatewayPayment, GatewayRefund


def get_gateway():
    """The gateway for this app: Razorpay when its keys are configured, else the dev gateway."""
    app = current_app._get_current_object()
    gateway = app.extensions.get("peerlearn_gateway")
    if gateway is None:
        if app.config.get("RAZORPAY_KEY_ID"):
            from .razorpay_gateway import RazorpayGateway

            gateway = RazorpayGateway.from_config(app.config)
        else:
            from .dev import DevGateway

            gateway = DevGateway.from_config(app.config)
        app.extensions["peerlearn_gateway"] = gateway
    return gateway


__all__ = ["Gateway", "GatewayError", "GatewayPayment", "GatewayRefund", "get_gateway"]
