"""The admin pages' forms."""

from wtforms import StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from ...forms import BaseForm
from ...services import admin as admin_service


class MarkPaidForm(BaseForm):
    reference = StringField(
        "Bank or UPI reference",
        validators=[InputRequired("Give the bank or UPI reference of the transfer."), Length(max=100)],
    )


class RejectPayoutForm(BaseForm):
    note = TextAreaField("Reason (shown to the mentor)", validators=[Optional(), Length(max=500)])


class ReasonForm(BaseForm):
    reason = TextAreaField(
        "Reason",
        validators=[
            InputRequired("Give a reason."),
            Length(max=admin_service.MAX_REASON_LENGTH, message="Use at most 500 characters."),
        ],
    )
