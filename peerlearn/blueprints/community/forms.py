"""The forms of the community pages: session requests (the learner's, the mentor's accept and
decline) and reviews (the learner's review, the mentor's reply)."""

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
from ...limits import MAX_PRICE_RUPEES, PRICE_MESSAGE
from ...models import CATEGORIES
from ...services import reviews
from ...services import session_requests as service

STARS = [
    SelectChoice(5, "5 – Excellent"),
    SelectChoice(4, "4 – Good"),
    SelectChoice(3, "3 – Fair"),
    SelectChoice(2, "2 – Poor"),
    SelectChoice(1, "1 – Very poor"),
]


class RequestForm(BaseForm):
    """What the learner types: times in their own timezone, the budget in rupees."""

    topic = StringField(
        "What would you like to learn?",
        validators=[InputRequired("Say what the session is about."), Length(min=3, max=service.MAX_TOPIC)],
    )
    message = TextAreaField("Message to the mentor", validators=[Optional(), Length(max=service.MAX_MESSAGE)])
    time_1 = DateTimeLocalField(
        "Preferred start", format="%Y-%m-%dT%H:%M", validators=[InputRequired("Give at least one time.")]
    )
    time_2 = DateTimeLocalField("Another time (optional)", format="%Y-%m-%dT%H:%M", validators=[Optional()])
    time_3 = DateTimeLocalField("A third time (optional)", format="%Y-%m-%dT%H:%M", validators=[Optional()])
    budget = DecimalField(
        "Budget (optional)",
        places=2,
        validators=[Optional(), NumberRange(min=0, max=MAX_PRICE_RUPEES, message=PRICE_MESSAGE)],
    )


class AcceptForm(BaseForm):
    """The mentor's answer: one of the learner's times or another (in the mentor's timezone),
    the price in rupees, the category, and a note for the learner."""

    time = SelectField("Start time", validators=[InputRequired("Choose a start time.")])
    other_time = DateTimeLocalField("Another time", format="%Y-%m-%dT%H:%M", validators=[Optional()])
    price = DecimalField(
        "Price",
        places=2,
        validators=[
            InputRequired("Enter a price, or 0 for a free session."),
            NumberRange(min=0, max=MAX_PRICE_RUPEES, message=PRICE_MESSAGE),
        ],
    )
    category = SelectField("Category", choices=[SelectChoice(c) for c in CATEGORIES], default="Other")
    note = TextAreaField(
        "Note to the learner (optional)", validators=[Optional(), Length(max=service.MAX_NOTE)]
    )


class DeclineForm(BaseForm):
    note = TextAreaField(
        "Note to the learner (optional)", validators=[Optional(), Length(max=service.MAX_NOTE)]
    )


class ReviewForm(BaseForm):
    rating = RadioField(
        "Your rating", choices=STARS, coerce=int, validators=[InputRequired("Choose 1 to 5 stars.")]
    )
    body = TextAreaField(
        "Your review",
        validators=[Optional(), Length(max=reviews.MAX_BODY_LENGTH)],
        description="What went well, what could be better (optional).",
    )


class ReplyForm(BaseForm):
    body = TextAreaField(
        "Your reply", validators=[InputRequired("Write your reply."), Length(max=reviews.MAX_REPLY_LENGTH)]
    )
