"""The forms of the mentor's money pages: a payout request and the payout details."""

from wtforms import DecimalField, RadioField, SelectChoice, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ...forms import BaseForm


class PayoutRequestForm(BaseForm):
    amount = DecimalField(
        "Amount (₹)",
        places=2,
        validators=[
            InputRequired("Enter the amount to withdraw."),
            NumberRange(min=1, message="A payout is at least ₹1."),
        ],
    )


class PayoutDetailsForm(BaseForm):
    """What the service checks (formats, the account number twice) is checked there; the form
    only carries the fields."""

    kind = RadioField(
        "Pay me by",
        choices=[SelectChoice("upi", "UPI"), SelectChoice("bank", "Bank transfer")],
        default="upi",
    )
    upi_id = StringField("UPI id", validators=[Optional(), Length(max=300)])
    holder_name = StringField("Name on the account", validators=[Optional(), Length(max=100)])
    account_number = StringField("Account number", validators=[Optional(), Length(max=30)])
    account_number_confirm = StringField("Account number again", validators=[Optional(), Length(max=30)])
    ifsc = StringField("IFSC", validators=[Optional(), Length(max=20)])
