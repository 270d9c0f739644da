"""Template filters, tests and globals: money, times in the viewer's timezone and for machines,
where to start teaching, and whether a session is live or over right now."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, url_for
from flask_login import current_user


def format_inr(paise):
    """Integer paise to a rupee string with Indian digit grouping: 123456789 -> ₹12,34,567.89."""
    if paise is None:
        return ""
    sign = "-" if paise < 0 else ""
    rupees, rest = divmod(abs(int(paise)), 100)
    digits = str(rupees)
    if len(digits) > 3:
        head, tail = digits[:-3], digits[-3:]
        groups = []
        while len(head) > 2:
            groups.insert(0, head[-2:])
            head = head[:-2]
        if head:
            groups.insert(0, head)
        digits = ",".join(groups) + "," + tail
    return f"{sign}₹{digits}" + (f".{rest:02d}" if rest else "")


def viewer_timezone():
    if current_user and current_user.is_authenticated:
        return current_user.timezone
    return current_app.config["DEFAULT_TIMEZONE"]


def localtime(value, fmt="%d %b %Y, %I:%M %p", tz=None):
    """Show an aware UTC datetime in the viewer's (or the given) timezone."""
    if not isinstance(value, datetime):
        return ""
    zone = ZoneInfo(tz or viewer_timezone())
    return value.astimezone(zone).strftime(fmt).replace(" 0", " ")


def machine_time(value):
    """A moment for a ``<time datetime>`` attribute: ISO 8601 to the second (HTML allows at most
    milliseconds), with the UTC offset when the value is aware; a date stays a date."""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return ""


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
        return f"{browser} on {system}"
    return browser or system or (user_agent[:40] if user_agent else "Unknown device")


def become_mentor_url():
    """Where "Become a mentor" leads: the profile when signed in (the same account starts teaching),
    else a new account that teaches from the start."""
    if current_user.is_authenticated:
        return url_for("users.become_mentor")
    return url_for("auth.register", role="mentor")


def init_app(app):
    from .links import external_url
    from .services.sessions import is_live_now, is_over

    # `{% if item is live_now %}`: live, and its room still open; `is over`: nobody can join any more.
    app.jinja_env.tests["live_now"] = is_live_now
    app.jinja_env.tests["over"] = is_over
    app.jinja_env.filters["device_name"] = device_name
    app.jinja_env.filters["inr"] = format_inr
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["machine_time"] = machine_time
    app.jinja_env.globals["viewer_timezone"] = viewer_timezone
    app.jinja_env.globals["become_mentor_url"] = become_mentor_url
    # Links to copy elsewhere (the calendar feed): on PUBLIC_BASE_URL, never the request's host.
    app.jinja_env.globals["external_url"] = external_url
