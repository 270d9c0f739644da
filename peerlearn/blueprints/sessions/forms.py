from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
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
from ...limits import (
    DURATION_MESSAGE,
    MAX_CAPACITY,
    MAX_DESCRIPTION_LENGTH,
    MAX_DURATION_MINUTES,
    MAX_PRICE_RUPEES,
    MAX_TITLE_LENGTH,
    MIN_DURATION_MINUTES,
    MIN_TITLE_LENGTH,
    PRICE_MESSAGE,
    SEATS_MESSAGE,
)
from ...models import CATEGORIES, LANGUAGES, SessionLevel

LEVEL_LABELS = {
    SessionLevel.ALL: "All levels",
    SessionLevel.BEGINNER: "Beginner",
    SessionLevel.INTERMEDIATE: "Intermediate",
    SessionLevel.ADVANCED: "Advanced",
}


class SessionForm(BaseForm):
    """A session as the mentor types it: the start as a date and a time in their own timezone,
    the price in rupees. The view converts both before calling the service."""

    title = StringField(
        "Title", validators=[InputRequired(), Length(min=MIN_TITLE_LENGTH, max=MAX_TITLE_LENGTH)]
    )
    description = TextAreaField(
        "What learners will get out of it", validators=[Optional(), Length(max=MAX_DESCRIPTION_LENGTH)]
    )
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
            NumberRange(min=MIN_DURATION_MINUTES, max=MAX_DURATION_MINUTES, message=DURATION_MESSAGE),
        ],
    )
    capacity = IntegerField(
        "Seats",
        default=1,
        validators=[
            InputRequired("Enter how many learners can join."),
            NumberRange(min=1, max=MAX_CAPACITY, message=SEATS_MESSAGE),
        ],
    )
    price = DecimalField(
        "Price per seat",
        places=2,
        default=0,
        validators=[
            InputRequired("Enter a price, or 0 for a free session."),
            NumberRange(min=0, max=MAX_PRICE_RUPEES, message=PRICE_MESSAGE),
        ],
    )
    cover = FileField("Cover image")
    recording_enabled = BooleanField("Record this session")


class CancelSessionForm(BaseForm):
    reason = TextAreaField("Reason (sent to everyone who booked)", validators=[Optional(), Length(max=500)])
