"""The forms of the mentor's money pages: a payout request and the payout details."""

from flask_babel import lazy_gettext as _l
from wtforms import DecimalField, RadioField, SelectChoice, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ...forms import BaseForm


class PayoutRequestForm(BaseForm):
    amount = DecimalField(
        _l("Amount (₹)"),
        places=2,
        validators=[
            InputRequired(_l("Enter the amount to withdraw.")),
            NumberRange(min=1, message=_l("A payout is at least ₹1.")),
        ],
    )


class PayoutDetailsForm(BaseForm):
    """What the service checks (formats, the account number twice) is checked there; the form
    only carries the fields."""

    kind = RadioField(
        _l("Pay me by"),
        choices=[SelectChoice("upi", "UPI"), SelectChoice("bank", _l("Bank transfer"))],
        default="upi",
    )
    upi_id = StringField(_l("UPI id"), validators=[Optional(), Length(max=300)])
    holder_name = StringField(_l("Name on the account"), validators=[Optional(), Length(max=100)])
    account_number = StringField(_l("Account number"), validators=[Optional(), Length(max=30)])
    account_number_confirm = StringField(_l("Account number again"), validators=[Optional(), Length(max=30)])
    ifsc = StringField(_l("IFSC"), validators=[Optional(), Length(max=20)])
