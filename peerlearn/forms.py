"""Form pieces shared by several blueprints."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import ValidationError

from .inputs import control_character_problem
from .ml.text import split_tags


def refuse_control_characters(form, field):
    """A text area may hold line breaks and tabs; any other text field is one line (inputs.py)."""
    multiline = isinstance(field, TextAreaField)
    for value in field.raw_data or ():
        problem = isinstance(value, str) and control_character_problem(value, multiline=multiline)
        if problem:
            raise ValidationError(problem)


class BaseForm(FlaskForm):
    """Every form of the app: its text fields refuse the control characters their kind of field
    may not hold, after the field's own validators. Passwords are kept as typed."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self:
            if isinstance(field, StringField) and not isinstance(field, PasswordField | HiddenField):
                field.validators = [*field.validators, refuse_control_characters]


class TagListField(StringField):
    """A list of skill names, posted as one comma-separated value (or several values)."""

    def process_formdata(self, valuelist):
        if valuelist:
            self.data = split_tags(",".join(v for v in valuelist if isinstance(v, str)))

    def process_data(self, value):
        # Filled from a model (obj=user) the value is a list of Skill rows.
        if value and not isinstance(value, str):
            value = [getattr(item, "name", item) for item in value]
        self.data = split_tags(value) if value else []

    def _value(self):
        return ", ".join(self.data or [])


def apply_field_errors(form, fields):
    """Copy a service's ``{field: [messages]}`` onto the matching form fields."""
    leftover = []
    for name, messages in (fields or {}).items():
        field = getattr(form, name, None)
        if field is None:
            leftover.extend(messages)
            continue
        field.errors = list(field.errors) + list(messages)
    return leftover
