"""Security headers on every response.

The content security policy allows only this origin's scripts and styles, and no eval: the pages
use Alpine's CSP build, which reads x-data and x-on expressions without Function(). Inline
styles are limited to a few computed widths.

Connections (fetch, Socket.IO, Janus) may go to this origin, the WebSocket origin of
PUBLIC_BASE_URL (ws: for http, wss: for https; CSP3 browsers already count it as 'self', older
ones need it named), and the `public` origin of each Janus instance in JANUS_INSTANCES, which
browsers reach directly for room media. When Razorpay is configured its checkout script, frames
and API are allowed too: the only outside origins any page may use.
"""

import re
from urllib.parse import urlsplit

# Razorpay Checkout opens its payment form in a frame served from these origins, and reports to
# its API from the page.
RAZORPAY_FRAME_ORIGINS = ("https://api.razorpay.com", "https://checkout.razorpay.com")
RAZORPAY_CONNECT_ORIGINS = ("https://api.razorpay.com", "https://lumberjack.razorpay.com")

WEBSOCKET_SCHEMES = {"http": "ws", "https": "wss"}
# A host name or an IP address, nothing that could end a source expression or the directive.
HOST = re.compile(r"[a-z0-9.-]+|\[[0-9a-f:.]+\]")


def origin(url, *, schemes=("http", "https", "ws", "wss")):
    """scheme://host[:port] of an absolute URL, or None when it has no origin a policy can name."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is not a number, or an unbalanced IPv6 bracket
        return None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.scheme not in schemes or not HOST.fullmatch(host):
        return None
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def websocket_origin(base_url):
    """The ws:// or wss:// origin of the site at ``base_url`` (its PUBLIC_BASE_URL)."""
    site = origin(base_url or "", schemes=tuple(WEBSOCKET_SCHEMES))
    if site is None:
        return None
    scheme, rest = site.split("://", 1)
    return f"{WEBSOCKET_SCHEMES[scheme]}://{rest}"


def janus_origins(instances):
    """The origins browsers open for Janus: each instance's ``public`` URL. A relative one (a
    path on this site behind the same proxy) is already 'self'."""
    found = (origin(str(item.get("public") or "")) for item in instances or [])
    return [url for url in found if url]


def unique(sources):
    return list(dict.fromkeys(source for source in sources if source))


def content_security_policy(config):
    """The policy for HTML pages, from the app's configuration (its settings are looked at per
    response, so a local Janus started after the app was created is included)."""
    script, frame = ["'self'"], ["'self'"]
    connect = ["'self'", websocket_origin(config.get("PUBLIC_BASE_URL"))]
    connect += janus_origins(config.get("JANUS_INSTANCES"))
    if config.get("RAZORPAY_KEY_ID"):
        script.append(origin(config["RAZORPAY_CHECKOUT_URL"], schemes=("https", "http")))
        frame += RAZORPAY_FRAME_ORIGINS
        connect += RAZORPAY_CONNECT_ORIGINS
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {' '.join(unique(script))}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            f"connect-src {' '.join(unique(connect))}",
            "font-src 'self'",
            f"frame-src {' '.join(unique(frame))}",
            "frame-ancestors 'self'",
            "form-action 'self'",
            "base-uri 'self'",
            "object-src 'none'",
        ]
    )


POLICY_SETTINGS = ("PUBLIC_BASE_URL", "JANUS_INSTANCES", "RAZORPAY_KEY_ID", "RAZORPAY_CHECKOUT_URL")


def policy_for(config, kept):
    """content_security_policy(config), drawn again only when a setting it reads has changed
    (``kept`` holds the last one drawn, per app)."""
    key = repr(tuple(config.get(name) for name in POLICY_SETTINGS))
    last = kept.get("policy")
    if last is None or last[0] != key:
        last = (key, content_security_policy(config))
        kept["policy"] = last  # one assignment: a concurrent reader sees the old pair or the new
    return last[1]


def init_app(app):
    kept = {}

    @app.after_request
    def set_security_headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        headers.setdefault("Permissions-Policy", "camera=(self), microphone=(self), display-capture=(self)")
        if response.mimetype == "text/html":
            headers.setdefault("Content-Security-Policy", policy_for(app.config, kept))
        if app.config["SESSION_COOKIE_SECURE"]:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
