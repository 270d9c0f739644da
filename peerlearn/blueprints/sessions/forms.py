from flask_babel import lazy_gettext as _l
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
from ...i18n import TERMS
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
    SessionLevel.ALL: _l("All levels"),
    SessionLevel.BEGINNER: _l("Beginner"),
    SessionLevel.INTERMEDIATE: _l("Intermediate"),
    SessionLevel.ADVANCED: _l("Advanced"),
}


class SessionForm(BaseForm):
    """A session as the mentor types it: the start as a date and a time in their own timezone,
    the price in rupees. The view converts both before calling the service."""

    title = StringField(
        _l("Title"), validators=[InputRequired(), Length(min=MIN_TITLE_LENGTH, max=MAX_TITLE_LENGTH)]
    )
    description = TextAreaField(
        _l("What learners will get out of it"), validators=[Optional(), Length(max=MAX_DESCRIPTION_LENGTH)]
    )
    category = SelectField(
        _l("Category"),
        choices=[SelectChoice("", _l("Choose a category")), *(SelectChoice(c, TERMS[c]) for c in CATEGORIES)],
        validators=[InputRequired(_l("Choose a category."))],
    )
    skills = TagListField(_l("Skills covered"))
    level = SelectField(
        _l("Level"), choices=[SelectChoice(level.value, label) for level, label in LEVEL_LABELS.items()]
    )
    language = SelectField(
        _l("Language"), choices=[SelectChoice(lang, TERMS[lang]) for lang in LANGUAGES], default="English"
    )
    start_date = DateField(_l("Date"), validators=[InputRequired(_l("Choose a date."))])
    start_time = TimeField(_l("Start time"), validators=[InputRequired(_l("Choose a start time."))])
    duration_minutes = IntegerField(
        _l("Duration (minutes)"),
        default=60,
        validators=[
            InputRequired(_l("Enter a duration in minutes.")),
            NumberRange(min=MIN_DURATION_MINUTES, max=MAX_DURATION_MINUTES, message=_l(DURATION_MESSAGE)),
        ],
    )
    capacity = IntegerField(
        _l("Seats"),
        default=1,
        validators=[
            InputRequired(_l("Enter how many learners can join.")),
            NumberRange(min=1, max=MAX_CAPACITY, message=_l(SEATS_MESSAGE)),
        ],
    )
    price = DecimalField(
        _l("Price per seat"),
        places=2,
        default=0,
        validators=[
            InputRequired(_l("Enter a price, or 0 for a free session.")),
            NumberRange(min=0, max=MAX_PRICE_RUPEES, message=_l(PRICE_MESSAGE)),
        ],
    )
    cover = FileField(_l("Cover image"))
    recording_enabled = BooleanField(_l("Record this session"))


class CancelSessionForm(BaseForm):
    reason = TextAreaField(
        _l("Reason (sent to everyone who booked)"), validators=[Optional(), Length(max=500)]
    )
