"""The dev gateway's checkout form."""

from wtforms import RadioField, SelectChoice
from wtforms.validators import InputRequired

from ...forms import BaseForm


class DevPaymentForm(BaseForm):
    method = RadioField(
        "Pay with",
        choices=[
            SelectChoice("upi", "UPI"),
            SelectChoice("card", "Card"),
            SelectChoice("netbanking", "Netbanking"),
        ],
        default="upi",
        validators=[InputRequired("Choose how to pay.")],
    )
