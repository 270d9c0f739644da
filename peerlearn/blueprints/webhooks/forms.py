from wtforms import SelectChoice, SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, Length

from ...forms import BaseForm
from ...models import WEBHOOK_EVENT_TYPES

EVENT_LABELS = {
    "booking.created": "A booking is confirmed",
    "booking.cancelled": "A booking is cancelled",
    "payment.captured": "A payment is captured",
    "refund.processed": "A refund is paid out",
    "session.published": "A session is published",
    "session.started": "A session starts",
    "session.completed": "A session is held and ends",
    "session.cancelled": "A session is cancelled",
    "review.created": "A review is posted",
}


class EndpointForm(BaseForm):
    url = StringField("Endpoint URL", validators=[DataRequired(), Length(max=500)])
    description = StringField("Description", validators=[Length(max=200)])
    event_types = SelectMultipleField(
        "Events",
        choices=[SelectChoice(event, EVENT_LABELS[event]) for event in WEBHOOK_EVENT_TYPES],
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        # No required flag: on a checkbox list it would make a browser demand every box. The
        # service refuses an empty choice with a message on this field.
    )


class ActionForm(BaseForm):
    """The buttons (ping, roll, enable, delete, redeliver): a CSRF token and nothing else."""
