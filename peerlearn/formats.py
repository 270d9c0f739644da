"""Money and times as people read them (and as machines do), for templates, emails and notices
alike: the template filters in ``jinja`` and the services' texts use the same functions."""

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
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
    """The signed-in viewer's timezone name, else the site default (DEFAULT_TIMEZONE)."""
    if current_user and current_user.is_authenticated:
        return current_user.timezone
    return current_app.config["DEFAULT_TIMEZONE"]


def viewer_zone(viewer=None):
    """``viewer``'s timezone as a ZoneInfo, or the site default (DEFAULT_TIMEZONE) for anonymous
    visitors and names the tz database does not know."""
    name = None
    if viewer is not None and getattr(viewer, "is_authenticated", False):
        name = viewer.timezone
    try:
        return ZoneInfo(name or current_app.config["DEFAULT_TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])


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
