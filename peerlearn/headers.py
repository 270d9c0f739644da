"""Security headers on every response.

The content security policy allows only this origin's scripts, styles and sockets. Alpine
evaluates its x-data expressions with Function(), hence 'unsafe-eval'; inline styles are limited
to a few computed widths. When Razorpay is configured its checkout script and frame are allowed,
the only outside origins any page may use.
"""

from urllib.parse import urlsplit

# Razorpay Checkout opens its payment form in a frame served from these origins.
RAZORPAY_FRAME_ORIGINS = "https://api.razorpay.com https://checkout.razorpay.com"


def content_security_policy(config):
    """The policy for HTML pages; Razorpay's checkout origins only when Razorpay is configured."""
    script, frame, connect = "'self' 'unsafe-eval'", "'self'", "'self' ws: wss:"
    if config.get("RAZORPAY_KEY_ID"):
        checkout = urlsplit(config["RAZORPAY_CHECKOUT_URL"])
        origin = f"{checkout.scheme}://{checkout.netloc}"
        script += f" {origin}"
        frame += f" {RAZORPAY_FRAME_ORIGINS}"
        connect += " https://api.razorpay.com https://lumberjack.razorpay.com"
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {script}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            f"connect-src {connect}",
            "font-src 'self'",
            f"frame-src {frame}",
            "frame-ancestors 'self'",
            "form-action 'self'",
            "base-uri 'self'",
            "object-src 'none'",
        ]
    )


def init_app(app):
    @app.after_request
    def set_security_headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        headers.setdefault("Permissions-Policy", "camera=(self), microphone=(self), display-capture=(self)")
        if response.mimetype == "text/html":
            headers.setdefault("Content-Security-Policy", content_security_policy(app.config))
        if app.config["SESSION_COOKIE_SECURE"]:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
