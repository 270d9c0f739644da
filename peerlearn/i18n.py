"""The languages PeerLearn speaks: English (the source text) and Hindi.

Texts are marked in the code and templates with ``_()`` (``flask_babel.gettext``) and friends; the
Hindi catalogs are the ``.po`` files under ``peerlearn/translations/hi/``, one per part of the
app, so people translating one part never edit another's file. They are read straight from the
``.po`` files (no compiled ``.mo`` step to forget): each language's files are merged once per
process, and again when one of them changes while the app runs in debug mode.

Which language a request gets: the signed-in user's saved choice, else the ``lang`` cookie a
visitor set with the language switcher, else the best match in the browser's Accept-Language,
else English. Emails, notifications and jobs speak their recipient's language
(``for_user`` below), whatever language the request that caused them was in.
"""

from contextlib import contextmanager
from pathlib import Path
from threading import Lock

import flask_babel
from babel.messages import pofile
from babel.support import NullTranslations, Translations
from flask import current_app, has_request_context, request
from flask_login import current_user

# Code → the language's own name, as the switcher shows it.
LANGUAGES = {"en": "English", "hi": "हिन्दी"}
DEFAULT_LANGUAGE = "en"
COOKIE = "lang"
CATALOG_DIR = Path(__file__).parent / "translations"

_catalogs = {}  # language -> (stamp, Translations)
_catalogs_lock = Lock()


def catalog_files(language):
    """The ``.po`` files that together make ``language``'s catalog, in a stable order."""
    return sorted((CATALOG_DIR / language).glob("*.po"))


def _stamp(files):
    return tuple((path.name, path.stat().st_mtime_ns) for path in files)


def load_catalog(language):
    """The merged catalog of ``language``: a ``babel.messages.Catalog`` of every file's messages.
    A message translated in two files must be translated alike (the catalog tests check)."""
    merged = None
    for path in catalog_files(language):
        with path.open("rb") as handle:
            catalog = pofile.read_po(handle, locale=language)
        if merged is None:
            merged = catalog
            continue
        for message in catalog:
            if message.id and message.string:
                merged[message.id] = message
    return merged


def _translations(language):
    files = catalog_files(language)
    stamp = _stamp(files) if current_app.debug else None
    cached = _catalogs.get(language)
    if cached is not None and (stamp is None or cached[0] == stamp):
        return cached[1]
    with _catalogs_lock:
        cached = _catalogs.get(language)
        if cached is not None and (stamp is None or cached[0] == stamp):
            return cached[1]
        catalog = load_catalog(language)
        translations = NullTranslations() if catalog is None else _compiled(catalog)
        _catalogs[language] = (stamp, translations)
        return translations


def _compiled(catalog):
    from io import BytesIO

    from babel.messages import mofile

    buffer = BytesIO()
    mofile.write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer)


class CatalogDomain(flask_babel.Domain):
    """Flask-Babel's domain, reading our per-part ``.po`` files instead of compiled ones."""

    def __init__(self):
        super().__init__(domain="messages")

    def get_translations(self):
        locale = flask_babel.get_locale()
        language = locale.language if locale is not None else DEFAULT_LANGUAGE
        if language == DEFAULT_LANGUAGE or language not in LANGUAGES:
            return NullTranslations()
        return _translations(language)


class Babel(flask_babel.Babel):
    _domain = CatalogDomain()

    @property
    def domain_instance(self):
        return self._domain


def chosen_language(user=None):
    """The language for this request: see the module's docstring."""
    user = user if user is not None else (current_user if has_request_context() else None)
    saved = getattr(user, "locale", None) if user is not None and user.is_authenticated else None
    if saved in LANGUAGES:
        return saved
    if not has_request_context():
        return DEFAULT_LANGUAGE
    cookie = request.cookies.get(COOKIE)
    if cookie in LANGUAGES:
        return cookie
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def current_language():
    """The language the current request, email or job speaks."""
    locale = flask_babel.get_locale()
    return locale.language if locale is not None else DEFAULT_LANGUAGE


def user_language(user):
    """The language ``user`` reads: their saved choice, else English."""
    saved = getattr(user, "locale", None)
    return saved if saved in LANGUAGES else DEFAULT_LANGUAGE


@contextmanager
def for_user(user):
    """Speak ``user``'s language inside the block (their emails and notifications)."""
    with flask_babel.force_locale(user_language(user)):
        yield


babel = Babel()


def init_app(app):
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    babel.init_app(app, locale_selector=chosen_language)
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, current_language=current_language)
