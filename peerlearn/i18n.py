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

import re
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from threading import Lock
from time import monotonic

import flask_babel
from babel.messages import pofile
from babel.support import NullTranslations, Translations
from flask import current_app, has_request_context, request
from flask_babel import lazy_gettext
from flask_login import current_user

# Code → the language's own name, as the switcher shows it.
LANGUAGES = {"en": "English", "hi": "हिन्दी"}
DEFAULT_LANGUAGE = "en"
COOKIE = "lang"
CATALOG_DIR = Path(__file__).parent / "translations"
SCRIPTS_DIR = Path(__file__).parent / "static" / "src"
# A script's text: t('English') or t("English", {...}) in static/src (js/i18n.js).
_LITERAL = r"""(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")"""
SCRIPT_TEXT = re.compile(rf"\bt\(\s*{_LITERAL}")
# A script's counted text: tn('%(num)s day', '%(num)s days', n, {...}).
SCRIPT_PLURAL = re.compile(rf"\btn\(\s*{_LITERAL}\s*,\s*{_LITERAL}")

_catalogs = {}  # language -> (stamp, Translations)
_checked_at = {}  # language -> when debug mode last looked at its files (time.monotonic)
RELOAD_SECONDS = 2.0
_ENGLISH = NullTranslations()  # the source texts: nothing to look up
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
    """``language``'s merged catalog, built once per process. Asked on every translated text, so
    the usual answer is one dictionary lookup; in debug mode the files are looked at again at
    most every RELOAD_SECONDS, so an edited catalog shows without a restart."""
    cached = _catalogs.get(language)
    if cached is not None and not current_app.debug:
        return cached[1]
    now = monotonic()
    if cached is not None and now - _checked_at.get(language, 0.0) < RELOAD_SECONDS:
        return cached[1]
    with _catalogs_lock:
        stamp = _stamp(catalog_files(language))
        _checked_at[language] = now
        cached = _catalogs.get(language)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        catalog = load_catalog(language)
        translations = _ENGLISH if catalog is None else _compiled(catalog)
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
        return spoken_translations()


def spoken_translations():
    """The catalog of the language spoken now (the request's, or the one ``for_user`` forced)."""
    locale = flask_babel.get_locale()
    language = locale.language if locale is not None else DEFAULT_LANGUAGE
    if language == DEFAULT_LANGUAGE or language not in LANGUAGES:
        return _ENGLISH
    return _translations(language)


class Babel(flask_babel.Babel):
    _domain = CatalogDomain()

    @property
    def domain_instance(self):
        return self._domain


def _unquoted(text):
    return text.replace("\\'", "'").replace('\\"', '"')


@cache
def js_messages():
    """The English texts the scripts pass to ``t()``, read once from their sources."""
    found = set()
    for path in sorted(SCRIPTS_DIR.rglob("*.js")):
        for single, double in SCRIPT_TEXT.findall(path.read_text(encoding="utf-8")):
            found.add(_unquoted(single or double))
    return tuple(sorted(found))


@cache
def js_plural_messages():
    """The (singular, plural) English pairs the scripts pass to ``tn()``, read once."""
    found = set()
    for path in sorted(SCRIPTS_DIR.rglob("*.js")):
        for one_single, one_double, many_single, many_double in SCRIPT_PLURAL.findall(
            path.read_text(encoding="utf-8")
        ):
            found.add((_unquoted(one_single or one_double), _unquoted(many_single or many_double)))
    return tuple(sorted(found))


def js_texts():
    """{English: text} of the scripts' texts in the language being spoken, for the layout's
    data block (js/i18n.js); empty in English, where the scripts' own text is the text.
    A counted text is keyed by its English singular and carries its forms, [for one, for more]:
    the script picks one by the language's plural rule. Placeholders stay in for the script to
    fill."""
    if current_language() == DEFAULT_LANGUAGE:
        return {}
    translations = flask_babel.get_translations()
    texts = {english: translations.ugettext(english) for english in js_messages()}
    found = {english: text for english, text in texts.items() if text != english}
    for singular, plural in js_plural_messages():
        forms = [translations.ungettext(singular, plural, n) for n in (1, 2)]
        if forms != [singular, plural]:
            found[singular] = forms
    return found


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


# The catalog's fixed words (models.CATEGORIES and models.LANGUAGES) are stored, searched and
# sent over the API in English; people read them in their language. Written out, so the audit and
# the catalogs see each one.
TERMS = {
    "Programming": lazy_gettext("Programming"),
    "Data & AI": lazy_gettext("Data & AI"),
    "Design": lazy_gettext("Design"),
    "Product & Business": lazy_gettext("Product & Business"),
    "Career": lazy_gettext("Career"),
    "Languages": lazy_gettext("Languages"),
    "Music & Arts": lazy_gettext("Music & Arts"),
    "Science & Maths": lazy_gettext("Science & Maths"),
    "Other": lazy_gettext("Other"),
    "English": lazy_gettext("English"),
    "Hindi": lazy_gettext("Hindi"),
    "Bengali": lazy_gettext("Bengali"),
    "Tamil": lazy_gettext("Tamil"),
    "Telugu": lazy_gettext("Telugu"),
    "Marathi": lazy_gettext("Marathi"),
    "Kannada": lazy_gettext("Kannada"),
    "Malayalam": lazy_gettext("Malayalam"),
    "Gujarati": lazy_gettext("Gujarati"),
}


def term(word):
    """A category or session language as the reader says it ("Design" -> "डिज़ाइन"); any other
    word as it is."""
    label = TERMS.get(word)
    return str(label) if label is not None else word


_term_labels = {}  # language -> {stored word: that language's word}


def term_labels():
    """{stored word: the reader's word} for a select's options (made once per language)."""
    language = current_language()
    labels = _term_labels.get(language)
    if labels is None:
        labels = _term_labels[language] = {word: str(label) for word, label in TERMS.items()}
    return labels


def init_app(app):
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    babel.init_app(app, locale_selector=chosen_language)
    # Templates ask for a translation many times a page: straight to the spoken language's
    # catalog, instead of Flask-Babel's way round through its domain for each text.
    app.jinja_env.install_gettext_callables(
        gettext=lambda text: spoken_translations().ugettext(text),
        ngettext=lambda singular, plural, n: spoken_translations().ungettext(singular, plural, n),
        pgettext=lambda context, text: spoken_translations().upgettext(context, text),
        npgettext=lambda context, singular, plural, n: spoken_translations().unpgettext(
            context, singular, plural, n
        ),
        newstyle=True,
    )
    app.jinja_env.globals.update(
        LANGUAGES=LANGUAGES, current_language=current_language, js_texts=js_texts, term_labels=term_labels
    )
    app.jinja_env.filters["term"] = term
    # Flask-Babel keeps the chosen language in ``g``, which belongs to the app context: a request
    # run inside an app context that is already pushed (a CLI command, a job, a test) would
    # otherwise keep the language of the request before it. First, before anything reads it.
    app.before_request_funcs.setdefault(None, []).insert(0, flask_babel.refresh)
    app.after_request(vary_by_language)


# Responses whose text is chosen per request: pages and the API's messages.
LANGUAGE_DEPENDENT = frozenset({"text/html", "application/json"})


def vary_by_language(response):
    """Tell caches that a page's language comes from the browser's languages and cookies, so a
    shared cache never hands a Hindi page to an English reader or the reverse."""
    if response.mimetype in LANGUAGE_DEPENDENT:
        response.vary.update(("Accept-Language", "Cookie"))
    return response
