"""Money, counts and times as people read them (and as machines do), for templates, emails and
notices alike: the template filters in ``jinja`` and the services' texts use the same functions.

Both languages write numbers the Indian way with Latin digits: ₹2,50,000 and 2,50,000 (lakh
grouping). Names in dates (months, weekdays, AM/PM) come from Babel in the language being spoken:
"5 Dec 2026, 6:30 PM" in English, "5 दिस॰ 2026, 6:30 pm" in Hindi; the digits around them are the
same in both."""

import re
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import get_day_names, get_month_names, get_period_names
from flask import current_app
from flask_login import current_user

from .i18n import current_language


def indian_grouping(number):
    """A whole number's digits grouped the Indian way: 12345678 -> "1,23,45,678"."""
    digits = str(abs(int(number)))
    if len(digits) > 3:
        head, tail = digits[:-3], digits[-3:]
        groups = []
        while len(head) > 2:
            groups.insert(0, head[-2:])
            head = head[:-2]
        if head:
            groups.insert(0, head)
        digits = ",".join(groups) + "," + tail
    return ("-" if int(number) < 0 else "") + digits


def format_count(number):
    """A count for people, in either language: 250000 -> "2,50,000"; None -> ""."""
    if number is None:
        return ""
    return indian_grouping(number)


def format_inr(paise):
    """Integer paise to a rupee string with Indian digit grouping: 123456789 -> ₹12,34,567.89."""
    if paise is None:
        return ""
    sign = "-" if paise < 0 else ""
    rupees, rest = divmod(abs(int(paise)), 100)
    return f"{sign}₹{indian_grouping(rupees)}" + (f".{rest:02d}" if rest else "")


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


# strftime's directives that write words: each becomes the current language's word from Babel.
# The others (%d, %Y, %I, %H, %M, %z, %Z...) are numbers and codes, written by strftime in
# both languages, so machine formats such as "%Y%m%dT%H%M" are untouched.
DIRECTIVE = re.compile(r"%(.)")
WORDS = frozenset("aAbBp")


@cache
def date_words(language):
    """{directive: function of a datetime -> the word} in ``language`` (CLDR's names)."""
    months = get_month_names("abbreviated", context="format", locale=language)
    full_months = get_month_names("wide", context="format", locale=language)
    days = get_day_names("abbreviated", context="format", locale=language)
    full_days = get_day_names("wide", context="format", locale=language)
    periods = get_period_names("abbreviated", context="format", locale=language)
    return {
        "a": lambda moment: days[moment.weekday()],
        "A": lambda moment: full_days[moment.weekday()],
        "b": lambda moment: months[moment.month],
        "B": lambda moment: full_months[moment.month],
        "p": lambda moment: periods["am" if moment.hour < 12 else "pm"],
    }


def format_moment(moment, fmt, language=None):
    """``moment`` written with a strftime-style ``fmt``, its words (%a %A %b %B %p) in
    ``language`` (the one being spoken when not given) and its numbers as strftime writes them."""
    words = date_words(language or current_language())

    def directive(match):
        name = match.group(1)
        if name in WORDS:
            return words[name](moment)
        return moment.strftime(match.group(0))

    return DIRECTIVE.sub(directive, fmt)


def localtime(value, fmt="%d %b %Y, %I:%M %p", tz=None):
    """Show an aware UTC datetime in the viewer's (or the given) timezone, in the language being
    spoken: "5 Dec 2026, 6:30 PM", "5 दिस॰ 2026, 6:30 pm". A leading zero after a space is
    dropped ("05" -> "5")."""
    if not isinstance(value, datetime):
        return ""
    zone = ZoneInfo(tz or viewer_timezone())
    return format_moment(value.astimezone(zone), fmt).replace(" 0", " ")


def machine_time(value):
    """A moment for a ``<time datetime>`` attribute: ISO 8601 to the second (HTML allows at most
    milliseconds), with the UTC offset when the value is aware; a date stays a date."""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return ""
