"""Local stand-ins for outside services, so tests exercise real clients without the internet."""

from .razorpay_api import RazorpayStandIn

__all__ = ["RazorpayStandIn"]
