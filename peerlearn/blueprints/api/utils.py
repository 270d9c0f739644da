from functools import wraps

from flask import request
from flask_babel import gettext as _
from flask_login import current_user

from ...exceptions import AuthenticationError, DomainError, UnsupportedMediaType, ValidationError
from ...inputs import MAX_ID, is_id, whole_number
from ...limits import API_MAX_PER_PAGE, API_PER_PAGE, MAX_PAGE


def json_body():
    """The request's JSON object, or a 400/422 with a clear message."""
    if not request.is_json:
        if not request.content_length and not request.get_data(cache=True):
            return {}
        raise UnsupportedMediaType(_("Send a JSON body with Content-Type: application/json."))
    if not request.get_data(cache=True):
        return {}
    data = request.get_json(silent=True)
    if data is None:
        raise DomainError(_("The request body is not valid JSON."), code="malformed_json")
    if not isinstance(data, dict):
        raise DomainError(_("The JSON body must be an object."), code="malformed_json")
    return data


def page_args(default_per_page=API_PER_PAGE, max_per_page=API_MAX_PER_PAGE):
    """``page`` and ``per_page`` from the query string, or a 422 naming the bad one."""
    values = {}
    for name, default, high in (("page", 1, MAX_PAGE), ("per_page", default_per_page, max_per_page)):
        value = whole_number(request.args.get(name, str(default)))
        if value is None or not 1 <= value <= high:
            raise ValidationError(
                _("%(name)s must be a whole number from 1 to %(high)s.", name=name, high=high),
                fields={name: [_("Out of range.")]},
            )
        values[name] = value
    return values["page"], values["per_page"]


def refuse_empty_args(*names):
    """A 422 naming each of these query parameters that is sent without a value. The pages'
    filter forms send an unused filter as ``name=``, so the services read an empty value as no
    filter; over the API such a value is a mistake (``date_to=`` is not a date) and says so."""
    empty = [name for name in names if any(value == "" for value in request.args.getlist(name))]
    if empty:
        raise ValidationError(
            _("Leave out a filter you don't use: %(names)s may not be empty.", names=", ".join(empty)),
            fields={name: [_("May not be empty.")] for name in empty},
        )


def api_login_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            raise AuthenticationError(
                _("Log in, or send a bearer token from POST /api/login/."), code="authentication_required"
            )
        return view(*args, **kwargs)

    return wrapped


def text_field(data, name, *, required=False):
    value = data.get(name)
    if value is None:
        if required:
            raise ValidationError(
                _("%(name)s is required.", name=name), fields={name: [_("This field is required.")]}
            )
        return None
    if not isinstance(value, str):
        raise ValidationError(
            _("%(name)s must be a string.", name=name), fields={name: [_("Must be a string.")]}
        )
    return value


def refuse_nulls(data, *names):
    """A 422 naming each of these fields sent as null. Left out, a field takes its default; null
    is not a way to leave it out (a null hourly rate was once saved as ₹0)."""
    nulls = [name for name in names if name in data and data[name] is None]
    if nulls:
        raise ValidationError(
            _("Leave out a field you don't set: %(names)s may not be null.", names=", ".join(nulls)),
            fields={name: [_("May not be null.")] for name in nulls},
        )


def id_field(data, name):
    """``data[name]`` as an id, or a 422 naming the field: a whole number from 1 to MAX_ID
    (larger ones name nothing, and the database refuses them; see inputs.py)."""
    value = data.get(name)
    if not is_id(value):
        raise ValidationError(
            _("%(name)s must be an id: a whole number from 1 to %(max)s.", name=name, max=MAX_ID),
            fields={name: [_("An id (a whole number from 1 to %(max)s).", max=MAX_ID)]},
        )
    return value
