from flask_wtf.file import FileField
from wtforms import (
    DateField,
    DecimalField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ...forms import BaseForm, TagListField
from ...models import CATEGORIES, LANGUAGES, MAX_CAPACITY, SessionLevel

LEVEL_LABELS = {
    SessionLevel.ALL: "All levels",
    SessionLevel.BEGINNER: "Beginner",
    SessionLevel.INTERMEDIATE: "Intermediate",
    SessionLevel.ADVANCED: "Advanced",
}
MAX_PRICE_RUPEES = 100_000


class SessionForm(BaseForm):
    """A session as the mentor types it: the start as a date and a time in their own timezone,
    the price in rupees. The view converts both before calling the service."""

    title = StringField("Title", validators=[InputRequired(), Length(min=3, max=120)])
    description = TextAreaField("What learners will get out of it", validators=[Optional(), Length(max=5000)])
    category = SelectField(
        "Category",
        choices=[SelectChoice("", "Choose a category"), *(SelectChoice(c) for c in CATEGORIES)],
        validators=[InputRequired("Choose a category.")],
    )
    skills = TagListField("Skills covered")
    level = SelectField(
        "Level", choices=[SelectChoice(level.value, label) for level, label in LEVEL_LABELS.items()]
    )
    language = SelectField("Language", choices=[SelectChoice(lang) for lang in LANGUAGES], default="English")
    start_date = DateField("Date", validators=[InputRequired("Choose a date.")])
    start_time = TimeField("Start time", validators=[InputRequired("Choose a start time.")])
    duration_minutes = IntegerField(
        "Duration (minutes)",
        default=60,
        validators=[
            InputRequired("Enter a duration in minutes."),
            NumberRange(min=15, max=480, message="Between 15 minutes and 8 hours."),
        ],
    )
    capacity = IntegerField(
        "Seats",
        default=1,
        validators=[
            InputRequired("Enter how many learners can join."),
            NumberRange(min=1, max=MAX_CAPACITY, message=f"Between 1 and {MAX_CAPACITY} seats."),
        ],
    )
    price = DecimalField(
        "Price per seat",
        places=2,
        default=0,
        validators=[
            InputRequired("Enter a price, or 0 for a free session."),
            NumberRange(min=0, max=MAX_PRICE_RUPEES, message="Between ₹0 and ₹1,00,000."),
        ],
    )
    cover = FileField("Cover image")


class CancelSessionForm(BaseForm):
    reason = TextAreaField("Reason (sent to everyone who booked)", validators=[Optional(), Length(max=500)])
