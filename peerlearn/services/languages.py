"""The language a person reads PeerLearn in, saved on their account (see peerlearn/i18n.py for
how a request's language is chosen)."""

from flask_babel import gettext as _

from ..exceptions import ValidationError
from ..extensions import db
from ..i18n import LANGUAGES


def parse_language(value):
    """``value`` when it names a language PeerLearn speaks ("en", "hi"), else a 422."""
    if isinstance(value, str) and value in LANGUAGES:
        return value
    choices = ", ".join(LANGUAGES)
    raise ValidationError(
        _("Choose one of these languages: %(choices)s.", choices=choices),
        fields={"language": [_("Not a language PeerLearn speaks.")]},
        code="invalid_language",
    )


def save_language(user, language):
    """Save ``language`` as ``user``'s choice: their pages, emails and notifications use it."""
    language = parse_language(language)
    if user.locale != language:
        user.locale = language
        db.session.commit()
    return language


def adopt_language(user, language):
    """At sign-in: an account that never chose a language takes the one this browser chose
    (the ``lang`` cookie); a saved choice is kept. Returns the account's language now, or None
    when neither chose."""
    if user.locale in LANGUAGES:
        return user.locale
    if language in LANGUAGES:
        return save_language(user, language)
    return None
