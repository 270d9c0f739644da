"""The forms of the community pages: session requests (the learner's, the mentor's accept and
decline) and reviews (the learner's review, the mentor's reply)."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateTimeLocalField,
    DecimalField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ...forms import BaseForm
from ...i18n import TERMS
from ...limits import MAX_PRICE_RUPEES, PRICE_MESSAGE
from ...models import CATEGORIES
from ...services import reviews
from ...services import session_requests as service

STARS = [
    SelectChoice(5, _l("5 – Excellent")),
    SelectChoice(4, _l("4 – Good")),
    SelectChoice(3, _l("3 – Fair")),
    SelectChoice(2, _l("2 – Poor")),
    SelectChoice(1, _l("1 – Very poor")),
]


class RequestForm(BaseForm):
    """What the learner types: times in their own timezone, the budget in rupees."""

    topic = StringField(
        _l("What would you like to learn?"),
        validators=[
            InputRequired(_l("Say what the session is about.")),
            Length(min=3, max=service.MAX_TOPIC),
        ],
    )
    message = TextAreaField(
        _l("Message to the mentor"), validators=[Optional(), Length(max=service.MAX_MESSAGE)]
    )
    time_1 = DateTimeLocalField(
        _l("Preferred start"),
        format="%Y-%m-%dT%H:%M",
        validators=[InputRequired(_l("Give at least one time."))],
    )
    time_2 = DateTimeLocalField(
        _l("Another time (optional)"), format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    time_3 = DateTimeLocalField(
        _l("A third time (optional)"), format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    budget = DecimalField(
        _l("Budget (optional)"),
        places=2,
        validators=[Optional(), NumberRange(min=0, max=MAX_PRICE_RUPEES, message=PRICE_MESSAGE)],
    )


class AcceptForm(BaseForm):
    """The mentor's answer: one of the learner's times or another (in the mentor's timezone),
    the price in rupees, the category, and a note for the learner."""

    time = SelectField(_l("Start time"), validators=[InputRequired(_l("Choose a start time."))])
    other_time = DateTimeLocalField(_l("Another time"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    price = DecimalField(
        _l("Price"),
        places=2,
        validators=[
            InputRequired(_l("Enter a price, or 0 for a free session.")),
            NumberRange(min=0, max=MAX_PRICE_RUPEES, message=PRICE_MESSAGE),
        ],
    )
    category = SelectField(
        _l("Category"), choices=[SelectChoice(c, TERMS[c]) for c in CATEGORIES], default="Other"
    )
    note = TextAreaField(
        _l("Note to the learner (optional)"), validators=[Optional(), Length(max=service.MAX_NOTE)]
    )


class DeclineForm(BaseForm):
    note = TextAreaField(
        _l("Note to the learner (optional)"), validators=[Optional(), Length(max=service.MAX_NOTE)]
    )


class ReviewForm(BaseForm):
    rating = RadioField(
        _l("Your rating"), choices=STARS, coerce=int, validators=[InputRequired(_l("Choose 1 to 5 stars."))]
    )
    body = TextAreaField(
        _l("Your review"),
        validators=[Optional(), Length(max=reviews.MAX_BODY_LENGTH)],
        description=_l("What went well, what could be better (optional)."),
    )


class ReplyForm(BaseForm):
    body = TextAreaField(
        _l("Your reply"),
        validators=[InputRequired(_l("Write your reply.")), Length(max=reviews.MAX_REPLY_LENGTH)],
    )
