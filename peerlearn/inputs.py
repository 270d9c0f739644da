"""What every input must be before any code sees it, whichever way it came (a page, the API, a
socket). Each rule is kept once, at the edge; what breaks it gets a 404 or a 422 with a message.

- An id is a whole number from 1 to MAX_ID, the largest PostgreSQL ``integer``: every id column
  is one. A larger id names nothing, and handed to the database it fails the query ("integer out
  of range", a 500). Routes check it in their ``int`` converter, JSON bodies in
  ``blueprints.api.utils.id_field``, socket payloads in ``sockets.validation``.
- No text holds a NUL character: PostgreSQL's text types cannot store one (SQLite can, which is
  how it went unseen). Every query string, form and JSON body is checked once per request, and
  socket payloads by their schema.
- A one-line field (a name, a headline, a title, a topic, payout details) holds no control
  character at all, and a multi-line one (a bio, a message) none but line breaks and tabs: a name
  with a line break went into email subjects, which the mail library refused. Forms check it by
  the kind of field (``forms.BaseForm``), services where they clean each field.
"""

import re
from datetime import date

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from .exceptions import ValidationError
from .limits import MAX_PAGE, MAX_YEAR, MIN_YEAR

MAX_ID = 2**31 - 1

# Messages people read, in their language when they read them (lazy: these are made at import).
NUL_MESSAGE = _l("Text may not contain NUL characters (\\0).")
SINGLE_LINE_MESSAGE = _l("Use one line: no line breaks, tabs or other control characters.")
MULTI_LINE_MESSAGE = _l("Remove the control characters: only line breaks and tabs may be used.")

# Unicode's control characters (category Cc) and its line and paragraph separators.
_SINGLE_LINE_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# The same less tab, line feed and carriage return (browsers send a text area's lines with CRLF).
_MULTI_LINE_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

# A yes/no filter in a query string, as links and forms write it (an unticked box sends nothing).
TRUE_WORDS = frozenset({"1", "true", "yes", "on", "y"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", "n"})
FLAG_MESSAGE = _l("Use 1 or 0 (true or false).")
DATE_MESSAGE = _l("Use a date like 2026-12-01.")
READ_ONLY_MESSAGE = _l("This field is read-only.")


def is_id(value):
    """Whether ``value`` (from JSON or a socket) can be the id of a row."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def whole_number(text):
    """``text`` as an int if it is written in ASCII digits (and short enough to mean something),
    else None. ``str.isdigit`` is not enough: "²" is a digit that ``int`` refuses."""
    return int(text) if isinstance(text, str) and _WHOLE_NUMBER.fullmatch(text) else None


def page_or_first(text):
    """A page number from a page's query string or form (``text``), or 1 when it is not one a
    list can show: a bad page link lands on the first page instead of an error."""
    page = whole_number(text)
    return page if page is not None and 1 <= page <= MAX_PAGE else 1


def clean_text(
    value,
    name,
    errors,
    *,
    max_length,
    min_length=0,
    required=False,
    multiline=False,
    required_message=None,
):
    """A text field as it is stored: without surrounding spaces, refused (a message in ``errors``
    under ``name``) when it is not text, holds a control character its kind may not, is empty
    though ``required`` (or given a ``min_length``), or is shorter or longer than its limits.
    None reads as empty. The services clean every field they store from a person with it."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[name] = [_("Must be text.")]
        return ""
    problem = control_character_problem(value, multiline=multiline)
    value = value.strip()
    if problem:
        errors[name] = [problem]
    elif not value and (required or min_length):
        errors[name] = [str(required_message or _("This field is required."))]
    elif len(value) < min_length:
        errors[name] = [_("Use at least %(num)s characters.", num=min_length)]
    elif len(value) > max_length:
        errors[name] = [_("Use at most %(num)s characters.", num=format(max_length, ","))]
    return value


def control_character_problem(text, *, multiline=False):
    """The message for a user when ``text`` holds a control character its field may not, else None."""
    if multiline:
        return str(MULTI_LINE_MESSAGE) if _MULTI_LINE_REFUSED.search(text) else None
    return str(SINGLE_LINE_MESSAGE) if _SINGLE_LINE_REFUSED.search(text) else None


def holds_nul(value):
    """Whether a string anywhere in ``value`` (JSON: keys, values, nested) holds a NUL."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(key) or holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(holds_nul(item) for item in value)
    return False


# ----- query-string filters -------------------------------------------------------------------
# The admin lists, the catalog and the mentor directory read their filters with these. Each takes
# the arguments (a MultiDict or a plain dict), a parameter's name and the ``errors`` dict: a bad
# value adds its message under the name and reads as absent, so every problem is reported at once.


def arg_text(args, name):
    """The parameter's first value without surrounding spaces; "" when absent or not text."""
    value = args.get(name)
    return value.strip() if isinstance(value, str) else ""


def arg_flag(args, name, errors, *, absent=None):
    """A yes/no filter: True or False, or ``absent`` when it is not given (or is not a yes/no)."""
    value = arg_text(args, name).lower()
    if value == "":
        return absent
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    errors[name] = [str(FLAG_MESSAGE)]
    return absent


def arg_whole(args, name, errors, low=1, high=MAX_ID, message=None):
    """A whole number from ``low`` to ``high`` written in ASCII digits, or None when absent."""
    value = arg_text(args, name)
    if not value:
        return None
    number = whole_number(value)
    if number is None or not low <= number <= high:
        errors[name] = [str(message or _("Use a whole number from %(low)s to %(high)s.", low=low, high=high))]
        return None
    return number


def arg_day(args, name, errors):
    """A calendar day written YYYY-MM-DD, or None when absent. Years outside MIN_YEAR..MAX_YEAR
    are refused: far-off ones would overflow when turned into UTC instants."""
    value = arg_text(args, name)
    if not value:
        return None
    if _DATE.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            day = None
        if day is not None and MIN_YEAR <= day.year <= MAX_YEAR:
            return day
    errors[name] = [str(DATE_MESSAGE)]
    return None


# ----- JSON bodies ------------------------------------------------------------------------------


def refuse_fields(names, *, message=None, field_message=None):
    """Refuse a body naming fields its caller may not write (a 422 naming each, with code
    ``read_only_field``), before anything is checked or written."""
    if names:
        names = sorted(names)
        message = message or _("These fields cannot be set")
        field_message = str(field_message or _("This field cannot be set."))
        raise ValidationError(
            _("%(message)s: %(fields)s.", message=message, fields=", ".join(names)),
            fields={name: [field_message] for name in names},
            code="read_only_field",
        )


def refuse_unknown_fields(data, allowed, **messages):
    """``refuse_fields`` for every key of ``data`` not in ``allowed`` (the writable fields)."""
    refuse_fields(set(data) - set(allowed), **messages)
    return data


class IdConverter(IntegerConverter):
    """The app's ``<int:...>``: a number past MAX_ID is a 404 instead of reaching a query.

    A NotFound, not the converter's usual ValidationError: werkzeug turns that into a 405 when
    another method's rule shares the path. No minimum: an attachment index starts at 0."""

    def to_python(self, value):
        number = super().to_python(value)
        if number > MAX_ID:
            raise NotFound()
        return number


def refuse_nul():
    """Before every request: a NUL in the path names nothing (404); one in the query string, a
    form or a JSON body is refused (422, naming the fields) before any view or query sees it."""
    if holds_nul(request.view_args or {}):
        raise NotFound()
    sources = [request.args.lists()]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sources.append(request.form.lists())
    elif request.is_json:
        body = request.get_json(silent=True)
        sources.append(body.items() if isinstance(body, dict) else [("body", body)])
    fields = {
        key.replace("\x00", "\\0"): [str(NUL_MESSAGE)]
        for pairs in sources
        for key, value in pairs
        if holds_nul(key) or holds_nul(value)
    }
    if fields:
        raise ValidationError(str(NUL_MESSAGE), fields=fields)


def init_app(app):
    """Before the blueprints: a rule takes its converter when it is added to the map."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_nul)
