from flask_wtf.file import FileField, FileRequired
from wtforms import DecimalField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ...forms import BaseForm, TagListField
from ...limits import MAX_BIO_LENGTH, MAX_HEADLINE_LENGTH, MAX_NAME_LENGTH


class ProfileForm(BaseForm):
    # Saved with the rest of the profile when one is picked (services.avatars checks it).
    avatar = FileField("Profile photo")
    name = StringField("Full name", validators=[InputRequired(), Length(max=MAX_NAME_LENGTH)])
    headline = StringField("Headline", validators=[Optional(), Length(max=MAX_HEADLINE_LENGTH)])
    bio = TextAreaField("About you", validators=[Optional(), Length(max=MAX_BIO_LENGTH)])
    skills = TagListField("Skills you have")
    interests = TagListField("What you want to learn")
    timezone = SelectField("Timezone", validate_choice=False)
    hourly_rate = DecimalField(
        "Hourly rate (₹)",
        places=2,
        validators=[
            Optional(),
            NumberRange(min=0, max=1_000_000, message="Enter a rate from ₹0 to ₹10,00,000 an hour."),
        ],
    )


class TeachingForm(BaseForm):
    """Become a mentor: what learners see before booking."""

    headline = StringField(
        "Headline",
        validators=[InputRequired("Say in a line what you teach."), Length(max=MAX_HEADLINE_LENGTH)],
    )
    bio = TextAreaField("About you", validators=[Optional(), Length(max=MAX_BIO_LENGTH)])
    hourly_rate = DecimalField(
        "Hourly rate (₹)",
        places=2,
        validators=[
            Optional(),
            NumberRange(min=0, max=1_000_000, message="Enter a rate from ₹0 to ₹10,00,000 an hour."),
        ],
    )


class AvatarForm(BaseForm):
    avatar = FileField("Profile photo", validators=[FileRequired("Choose an image to upload.")])


class DeleteAccountForm(BaseForm):
    """Deleting the account: the password again, and a typed word to show it is meant."""

    password = PasswordField(
        "Your password", validators=[InputRequired("Enter your password."), Length(max=256)]
    )
    confirmation = StringField(
        "Type DELETE to confirm", validators=[InputRequired("Type DELETE to confirm."), Length(max=20)]
    )
