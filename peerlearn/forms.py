"""Form pieces shared by several blueprints."""

from wtforms import StringField

from .ml.text import split_tags


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
