"""Which browser origins may open a socket.

A page on another site must not open a socket to ours with the user's cookies, so each Socket.IO
handshake's Origin header must be this site's own origin, or one named in SOCKETIO_CORS_ORIGINS.
The site's own origins are that of PUBLIC_BASE_URL, the address people open the site at, and the
one the request itself names: its Host with the scheme as ProxyFix sees it (X-Forwarded-Proto
counts only from the PROXY_COUNT proxies configured). A browser sets Host to the address it opened
and no page can change it, so a page that names the very host it talks to is that site's own page:
the development server is then as happy at localhost:5000 as at 127.0.0.1:5000.

Engine.IO's own same-origin check also accepts whatever host an X-Forwarded-Host header names,
from any client, so it is replaced by this one; nothing in PeerLearn trusts X-Forwarded-Host.
"""

from ..headers import origin

DEFAULT_PORTS = {"http": 80, "https": 443}


def site_origin(url):
    """scheme://host[:port] as a browser's Origin header spells it (no default port), or None."""
    found = origin(url or "", schemes=tuple(DEFAULT_PORTS))
    if found is None:
        return None
    scheme = found.split("://", 1)[0]
    return found.removesuffix(f":{DEFAULT_PORTS[scheme]}")


def own_origins(app, environ):
    """The origins this site's pages are served from: the public address and the request's own."""
    found = {site_origin(app.config.get("PUBLIC_BASE_URL"))}
    host = environ.get("HTTP_HOST")
    if host:
        found.add(site_origin(f"{_scheme(app, environ)}://{host}"))
    return found - {None}


def _scheme(app, environ):
    """The request's scheme after ProxyFix: Socket.IO's middleware sees the request before it."""
    count = app.config.get("PROXY_COUNT") or 0
    if not count:
        return environ.get("wsgi.url_scheme", "http")
    from werkzeug.middleware.proxy_fix import ProxyFix

    seen = {}

    def capture(fixed_environ, _start_response):
        seen.update(fixed_environ)
        return []

    ProxyFix(capture, x_for=count, x_proto=count, x_host=0)(dict(environ), None)
    return seen.get("wsgi.url_scheme", "http")


def origin_check(app):
    """What Engine.IO's ``cors_allowed_origins`` takes: a check of each handshake's Origin."""

    def allowed(request_origin, environ):
        extra = app.config.get("SOCKETIO_CORS_ORIGINS") or []
        if "*" in extra:
            return True
        given = site_origin(request_origin)
        if given is None:
            return False
        return given in own_origins(app, environ) or given in {site_origin(item) for item in extra}

    return allowed
