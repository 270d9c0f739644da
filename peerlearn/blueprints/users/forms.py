from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import DecimalField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ...forms import BaseForm, TagListField
from ...limits import MAX_BIO_LENGTH, MAX_HEADLINE_LENGTH, MAX_NAME_LENGTH


class ProfileForm(BaseForm):
    # Saved with the rest of the profile when one is picked (services.avatars checks it).
    avatar = FileField(_l("Profile photo"))
    name = StringField(_l("Full name"), validators=[InputRequired(), Length(max=MAX_NAME_LENGTH)])
    headline = StringField(_l("Headline"), validators=[Optional(), Length(max=MAX_HEADLINE_LENGTH)])
    bio = TextAreaField(_l("About you"), validators=[Optional(), Length(max=MAX_BIO_LENGTH)])
    skills = TagListField(_l("Skills you have"))
    interests = TagListField(_l("What you want to learn"))
    timezone = SelectField(_l("Timezone"), validate_choice=False)
    hourly_rate = DecimalField(
        _l("Hourly rate (₹)"),
        places=2,
        validators=[
            Optional(),
            NumberRange(min=0, max=1_000_000, message=_l("Enter a rate from ₹0 to ₹10,00,000 an hour.")),
        ],
    )


class TeachingForm(BaseForm):
    """Become a mentor: what learners see before booking."""

    headline = StringField(
        _l("Headline"),
        validators=[InputRequired(_l("Say in a line what you teach.")), Length(max=MAX_HEADLINE_LENGTH)],
    )
    bio = TextAreaField(_l("About you"), validators=[Optional(), Length(max=MAX_BIO_LENGTH)])
    hourly_rate = DecimalField(
        _l("Hourly rate (₹)"),
        places=2,
        validators=[
            Optional(),
            NumberRange(min=0, max=1_000_000, message=_l("Enter a rate from ₹0 to ₹10,00,000 an hour.")),
        ],
    )


class AvatarForm(BaseForm):
    avatar = FileField(_l("Profile photo"), validators=[FileRequired(_l("Choose an image to upload."))])


class DeleteAccountForm(BaseForm):
    """Deleting the account: the password again, and a typed word to show it is meant."""

    password = PasswordField(
        _l("Your password"), validators=[InputRequired(_l("Enter your password.")), Length(max=256)]
    )
    confirmation = StringField(
        _l("Type DELETE to confirm"),
        validators=[InputRequired(_l("Type DELETE to confirm.")), Length(max=20)],
    )
