from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DecimalField,
    EmailField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Email, InputRequired, Length, NumberRange, Optional

from ...forms import BaseForm, TagListField
from ...limits import MAX_BIO_LENGTH, MAX_HEADLINE_LENGTH, MAX_NAME_LENGTH


class RegisterForm(BaseForm):
    role = RadioField(
        _l("I want to"),
        # Every account learns; "mentor" turns teaching on from the start.
        choices=[SelectChoice("learner", _l("Learn")), SelectChoice("mentor", _l("Learn and teach"))],
        default="learner",
        validators=[InputRequired()],
    )
    name = StringField(_l("Full name"), validators=[InputRequired(), Length(max=MAX_NAME_LENGTH)])
    email = EmailField(
        _l("Email"), validators=[InputRequired(), Email(check_deliverability=False), Length(max=254)]
    )
    password = PasswordField(_l("Password"), validators=[InputRequired(), Length(max=256)])
    skills = TagListField(_l("Skills you have"))
    interests = TagListField(_l("What you want to learn"))
    timezone = SelectField(_l("Timezone"), validate_choice=False)
    headline = StringField(_l("Headline"), validators=[Optional(), Length(max=MAX_HEADLINE_LENGTH)])
    bio = TextAreaField(_l("About you"), validators=[Optional(), Length(max=MAX_BIO_LENGTH)])
    hourly_rate = DecimalField(
        _l("Hourly rate (₹)"), places=2, validators=[Optional(), NumberRange(min=0, max=1_000_000)]
    )


class LoginForm(BaseForm):
    email = EmailField(_l("Email"), validators=[InputRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[InputRequired(), Length(max=256)])
    remember = BooleanField(_l("Keep me signed in"))


class ForgotPasswordForm(BaseForm):
    email = EmailField(_l("Email"), validators=[InputRequired(), Email(check_deliverability=False)])


class ResetPasswordForm(BaseForm):
    password = PasswordField(_l("New password"), validators=[InputRequired(), Length(max=256)])


class ChangePasswordForm(BaseForm):
    current_password = PasswordField(_l("Current password"), validators=[InputRequired(), Length(max=256)])
    new_password = PasswordField(_l("New password"), validators=[InputRequired(), Length(max=256)])
