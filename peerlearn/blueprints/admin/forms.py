"""The admin pages' forms."""

from flask_babel import lazy_gettext as _l
from wtforms import StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from ...forms import BaseForm
from ...services import admin as admin_service


class MarkPaidForm(BaseForm):
    reference = StringField(
        _l("Bank or UPI reference"),
        validators=[InputRequired(_l("Give the bank or UPI reference of the transfer.")), Length(max=100)],
    )


class RejectPayoutForm(BaseForm):
    note = TextAreaField(_l("Reason (shown to the mentor)"), validators=[Optional(), Length(max=500)])


class ReasonForm(BaseForm):
    reason = TextAreaField(
        _l("Reason"),
        validators=[
            InputRequired(_l("Give a reason.")),
            Length(max=admin_service.MAX_REASON_LENGTH, message=_l("Use at most 500 characters.")),
        ],
    )
