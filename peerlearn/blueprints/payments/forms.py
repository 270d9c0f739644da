"""The dev gateway's checkout form."""

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectChoice
from wtforms.validators import InputRequired

from ...forms import BaseForm


class DevPaymentForm(BaseForm):
    method = RadioField(
        _l("Pay with"),
        choices=[
            SelectChoice("upi", "UPI"),
            SelectChoice("card", _l("Card")),
            SelectChoice("netbanking", _l("Netbanking")),
        ],
        default="upi",
        validators=[InputRequired(_l("Choose how to pay."))],
    )
