"""Absolute links: in emails, the calendar feed, the API and the pages that show a link to copy.

Every one is built on PUBLIC_BASE_URL, the site's configured address, never on the request: its
Host header (and X-Forwarded-Host) is whatever the client sent, so a password reset asked for with
``Host: evil.example`` would mail the reset token to evil.example. Flask's own absolute URLs
(``url_for(..., _external=True)``, ``request.host_url``) take the request's host, so the app
does not use them.
"""

from urllib.parse import urlsplit

from flask import current_app


def external_url(endpoint, **values):
    """The absolute URL of ``endpoint`` on PUBLIC_BASE_URL, path prefix included; the same in a
    request, a job or a command."""
    base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    current_app.inject_url_defaults(endpoint, values)
    return adapter.build(endpoint, values, force_external=True)


def public_host():
    """The host name of PUBLIC_BASE_URL (Message-IDs, calendar UIDs)."""
    return urlsplit(current_app.config["PUBLIC_BASE_URL"]).hostname
