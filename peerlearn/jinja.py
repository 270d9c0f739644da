"""Template filters, tests and globals: money, times in the viewer's timezone and for machines,
where to start teaching, and whether a session is live or over right now."""

from flask import current_app, g, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .formats import format_count, format_inr, localtime, machine_time, viewer_timezone

_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def device_name(user_agent):
    """A short, readable name for a browser's User-Agent: "Chrome on Linux"."""
    user_agent = user_agent or ""
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), None)
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), None)
    if browser and system:
        return _("%(browser)s on %(system)s", browser=browser, system=system)
    return browser or system or (user_agent[:40] if user_agent else _("Unknown device"))


def become_mentor_url():
    """Where "Become a mentor" leads: the profile when signed in (the same account starts teaching),
    else a new account that teaches from the start."""
    if current_user.is_authenticated:
        return url_for("users.become_mentor")
    return url_for("auth.register", role="mentor")


def path_to(endpoint):
    """``url_for(endpoint)`` for an endpoint that takes no values (the header's and footer's
    links), built once per app and script root instead of on every page."""
    paths = current_app.extensions.setdefault("peerlearn.paths", {})
    key = (request.script_root, endpoint)
    path = paths.get(key)
    if path is None:
        path = paths[key] = url_for(endpoint)
    return path


def issued_csrf_token():
    """The CSRF token this request has already issued (Flask-WTF keeps it in ``g`` once a form
    or ``csrf_token()`` asked for one), or None: asking does not issue one."""
    return g.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))


def init_app(app):
    from . import system_texts
    from .links import external_url
    from .services.sessions import is_live_now, is_over
    from .static_files import asset_url

    # `{% if item is live_now %}`: live, and its room still open; `is over`: nobody can join any more.
    app.jinja_env.tests["live_now"] = is_live_now
    app.jinja_env.tests["over"] = is_over
    app.jinja_env.filters["device_name"] = device_name
    app.jinja_env.filters["inr"] = format_inr
    # Counts for people, grouped the Indian way in both languages: 1,00,000.
    app.jinja_env.filters["number"] = format_count
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["machine_time"] = machine_time
    # A sentence PeerLearn stored in English (a refund's reason...) in the reader's language.
    app.jinja_env.filters["system_text"] = system_texts.translate
    app.jinja_env.globals["viewer_timezone"] = viewer_timezone
    app.jinja_env.globals["become_mentor_url"] = become_mentor_url
    app.jinja_env.globals["issued_csrf_token"] = issued_csrf_token
    app.jinja_env.globals["path_to"] = path_to
    # Links to copy elsewhere (the calendar feed): on PUBLIC_BASE_URL, never the request's host.
    app.jinja_env.globals["external_url"] = external_url
    # The build's bundle and stylesheet under their content-hashed names (static_files.py).
    app.jinja_env.globals["asset_url"] = asset_url
