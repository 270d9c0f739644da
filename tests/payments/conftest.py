"""Fixtures for the payment gateways: Razorpay's API stand-in and an app configured to use it."""

import pytest

from tests.fakes import RazorpayStandIn


@pytest.fixture
def razorpay_api():
    """Razorpay's REST API, served on a free loopback port for the length of one test."""
    api = RazorpayStandIn().start()
    yield api
    api.stop()


@pytest.fixture
def razorpay_app(app, razorpay_api):
    """The test app with Razorpay keys set and pointed at the stand-in: ``get_gateway()`` builds a
    RazorpayGateway that talks to it through the real SDK."""
    app.config.update(
        RAZORPAY_KEY_ID=razorpay_api.key_id,
        RAZORPAY_KEY_SECRET=razorpay_api.key_secret,
        RAZORPAY_WEBHOOK_SECRET=razorpay_api.webhook_secret,
        RAZORPAY_BASE_URL=razorpay_api.base_url,
    )
    app.extensions.pop("peerlearn_gateway", None)
    yield app
    gateway = app.extensions.pop("peerlearn_gateway", None)
    if gateway is not None:
        gateway.close()
