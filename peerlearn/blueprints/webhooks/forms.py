from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice, SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, Length

from ...forms import BaseForm
from ...models import WEBHOOK_EVENT_TYPES

EVENT_LABELS = {
    "booking.created": _l("A booking is confirmed"),
    "booking.cancelled": _l("A booking is cancelled"),
    "booking.rescheduled": _l("A booking moves to another session"),
    "payment.captured": _l("A payment is captured"),
    "refund.processed": _l("A refund is paid out"),
    "session.published": _l("A session is published"),
    "session.started": _l("A session starts"),
    "session.completed": _l("A session is held and ends"),
    "session.cancelled": _l("A session is cancelled"),
    "review.created": _l("A review is posted"),
}


class EndpointForm(BaseForm):
    url = StringField(_l("Endpoint URL"), validators=[DataRequired(), Length(max=500)])
    description = StringField(_l("Description"), validators=[Length(max=200)])
    event_types = SelectMultipleField(
        _l("Events"),
        choices=[SelectChoice(event, EVENT_LABELS[event]) for event in WEBHOOK_EVENT_TYPES],
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        # No required flag: on a checkbox list it would make a browser demand every box. The
        # service refuses an empty choice with a message on this field.
    )


class ActionForm(BaseForm):
    """The buttons (ping, roll, enable, delete, redeliver): a CSRF token and nothing else."""
