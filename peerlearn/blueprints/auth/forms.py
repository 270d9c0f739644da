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
        "I want to",
        # Every account learns; "mentor" turns teaching on from the start.
        choices=[SelectChoice("learner", "Learn"), SelectChoice("mentor", "Learn and teach")],
        default="learner",
        validators=[InputRequired()],
    )
    name = StringField("Full name", validators=[InputRequired(), Length(max=MAX_NAME_LENGTH)])
    email = EmailField(
        "Email", validators=[InputRequired(), Email(check_deliverability=False), Length(max=254)]
    )
    password = PasswordField("Password", validators=[InputRequired(), Length(max=256)])
    skills = TagListField("Skills you have")
    interests = TagListField("What you want to learn")
    timezone = SelectField("Timezone", validate_choice=False)
    headline = StringField("Headline", validators=[Optional(), Length(max=MAX_HEADLINE_LENGTH)])
    bio = TextAreaField("About you", validators=[Optional(), Length(max=MAX_BIO_LENGTH)])
    hourly_rate = DecimalField(
        "Hourly rate (₹)", places=2, validators=[Optional(), NumberRange(min=0, max=1_000_000)]
    )


class LoginForm(BaseForm):
    email = EmailField("Email", validators=[InputRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[InputRequired(), Length(max=256)])
    remember = BooleanField("Keep me signed in")


class ForgotPasswordForm(BaseForm):
    email = EmailField("Email", validators=[InputRequired(), Email(check_deliverability=False)])


class ResetPasswordForm(BaseForm):
    password = PasswordField("New password", validators=[InputRequired(), Length(max=256)])


class ChangePasswordForm(BaseForm):
    current_password = PasswordField("Current password", validators=[InputRequired(), Length(max=256)])
    new_password = PasswordField("New password", validators=[InputRequired(), Length(max=256)])
