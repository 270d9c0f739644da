"""The admin pages' forms."""

from wtforms import StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from ...forms import BaseForm


class MarkPaidForm(BaseForm):
    reference = StringField(
        "Bank or UPI reference",
        validators=[InputRequired("Give the bank or UPI reference of the transfer."), Length(max=100)],
    )


class RejectPayoutForm(BaseForm):
    note = TextAreaField("Reason (shown to the mentor)", validators=[Optional(), Length(max=500)])
