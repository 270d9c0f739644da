"""English and Hindi (issue 20): every text marked and translated, Indian formats in both
languages, and the language a person chose kept wherever they go.

The audit (tests/support/i18n_audit.py) is run per template folder and per part of the package,
so a failure names the part with text left in English. The catalog checks read the Hindi
``.po`` files one by one: each parses, keeps every placeholder of its msgid, and a msgid
translated in two files is translated alike.
"""

import json
import re
from datetime import UTC, datetime

import pytest
from babel.messages import pofile
from flask_babel import force_locale
from sqlalchemy import select

from peerlearn import i18n
from peerlearn.extensions import db
from peerlearn.formats import format_count, format_inr, format_moment, localtime
from peerlearn.models import Notification, OutboundEmail, utcnow
from tests.conftest import AuthActions, extract_csrf
from tests.factories import UserFactory, make_session, paid_booking
from tests.support import i18n_audit

TEMPLATES = i18n_audit.TEMPLATES
PACKAGE = i18n_audit.PACKAGE
DEVANAGARI = re.compile(r"[\u0900-\u097F]")
HINDI_MONTHS = ("जन॰", "फ़र॰", "मार्च", "अप्रैल", "मई", "जून", "जुल॰", "अग॰", "सित॰", "अक्टू॰", "नव॰", "दिस॰")
ENGLISH_MONTHS = re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b")
LAKH = "₹1,00,000"


def template_folders():
    return sorted(path.name for path in TEMPLATES.iterdir() if path.is_dir())


def python_parts():
    """The package's subpackages, and its modules directly under ``peerlearn/`` as one part."""
    parts = sorted(
        path.name
        for path in PACKAGE.iterdir()
        if path.is_dir() and (path / "__init__.py").exists() and path.name not in ("static", "templates")
    )
    return ["(modules)", *parts]


def python_files(part):
    if part == "(modules)":
        return sorted(PACKAGE.glob("*.py"))
    return sorted((PACKAGE / part).rglob("*.py"))


def report(findings):
    return "\n".join(str(finding) for finding in findings)


# --- the audit, per part -----------------------------------------------------------------------


@pytest.mark.parametrize("folder", template_folders())
def test_templates_mark_all_their_text(folder):
    findings = [
        finding
        for path in i18n_audit.source_files([TEMPLATES / folder])
        if path.suffix != ".py"
        for finding in i18n_audit.template_findings(path)
    ]
    assert findings == [], f"text in templates/{folder} not marked for translation:\n{report(findings)}"


@pytest.mark.parametrize("folder", template_folders())
def test_every_text_marked_in_templates_has_hindi(folder):
    findings = i18n_audit.catalog_findings(i18n_audit.source_files([TEMPLATES / folder]))
    assert findings == [], f"templates/{folder}:\n{report(findings)}"


@pytest.mark.parametrize("part", python_parts())
def test_python_marks_the_texts_people_read(part):
    findings = [finding for path in python_files(part) for finding in i18n_audit.python_findings(path)]
    assert findings == [], f"peerlearn/{part}:\n{report(findings)}"


@pytest.mark.parametrize("part", python_parts())
def test_every_text_marked_in_python_has_hindi(part):
    findings = i18n_audit.catalog_findings(python_files(part))
    assert findings == [], f"peerlearn/{part}:\n{report(findings)}"


def test_every_text_of_the_scripts_has_hindi():
    catalog = i18n.load_catalog("hi")
    assert "Notifications, %(num)s unread" in i18n.js_messages()  # the scripts are read at all
    missing = [text for text in i18n.js_messages() if not (catalog.get(text) and catalog.get(text).string)]
    assert missing == []


def test_every_counted_text_of_the_scripts_has_both_hindi_forms():
    catalog = i18n.load_catalog("hi")
    counted = i18n.js_plural_messages()
    assert ("%(num)s day", "%(num)s days") in counted  # tn() calls are read at all
    wrong = []
    for singular, plural in counted:
        message = catalog.get(singular)
        if message is None or message.id != (singular, plural) or not all(message.string):
            wrong.append(singular)
    assert wrong == []


# --- the catalogs ------------------------------------------------------------------------------


def catalogs():
    files = i18n.catalog_files("hi")
    assert files, "no Hindi catalog"
    read = {}
    for path in files:
        with path.open("rb") as handle:
            read[path.name] = pofile.read_po(handle, locale="hi", abort_invalid=True)
    return read


def strings(message):
    return list(message.string) if isinstance(message.string, (tuple, list)) else [message.string]


def test_each_catalog_parses_and_says_it_is_hindi_with_two_plural_forms():
    for name, catalog in catalogs().items():
        assert catalog.locale.language == "hi", name
        assert catalog.num_plurals == 2, name
        assert len(catalog) > 0, name


def test_the_catalogs_pick_a_plural_form_by_the_same_rule_as_the_scripts(app):
    """Scripts choose a form with the browser's CLDR rule (Intl.PluralRules); the server with the
    catalogs' Plural-Forms header. They must agree for every count, 0 included (singular in
    Hindi), or a page and its script word the same count differently."""
    from gettext import c2py

    from babel import Locale

    cldr = Locale("hi").plural_form
    for name, catalog in catalogs().items():
        header = c2py(catalog.plural_expr)
        wrong = [n for n in range(0, 1001) if header(n) != (0 if cldr(n) == "one" else 1)]
        assert not wrong, (name, catalog.plural_expr, wrong[:5])
    singular, plural = (
        "Whiteboard, page %(page)s of %(pages)s, %(shapes)s shape",
        ("Whiteboard, page %(page)s of %(pages)s, %(shapes)s shapes"),
    )
    with app.test_request_context(), force_locale("hi"):
        hindi = i18n.spoken_translations()
        assert hindi.ungettext(singular, plural, 0) == hindi.ungettext(singular, plural, 1)
        assert hindi.ungettext(singular, plural, 0) != hindi.ungettext(singular, plural, 2)


def test_every_translation_keeps_the_placeholders_of_its_text():
    wrong = []
    for name, catalog in catalogs().items():
        for message in catalog:
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, (tuple, list)) else (message.id,)
            wanted = set().union(*(i18n_audit.PLACEHOLDERS.findall(text) for text in ids))
            for string in strings(message):
                have = set(i18n_audit.PLACEHOLDERS.findall(string))
                # A plural's singular may leave the number out ("एक सीट"); it adds nothing.
                if string and (have - wanted or (wanted - have and len(ids) == 1)):
                    wrong.append((name, ids[0], string))
    assert wrong == []


def test_a_text_translated_in_two_catalogs_is_translated_alike():
    seen, differ = {}, []
    for name, catalog in catalogs().items():
        for message in catalog:
            if not message.id or not all(strings(message)):
                continue
            key = (message.context, message.id if isinstance(message.id, str) else tuple(message.id))
            translation = tuple(strings(message))
            if key in seen and seen[key][1] != translation:
                differ.append((key, seen[key][0], seen[key][1], name, translation))
            seen.setdefault(key, (name, translation))
    assert differ == [], "\n".join(map(repr, differ))


# --- the audit catches what it should ------------------------------------------------------------


def test_the_audit_reports_plain_text_and_an_untranslated_attribute(tmp_path):
    text = tmp_path / "plain.html"
    text.write_text(
        '{% extends "layouts/base.html" %}\n{% block content %}<p>Hello there</p>{% endblock %}\n'
    )
    attribute = tmp_path / "attribute.html"
    attribute.write_text('<div>\n  <img src="/cat.png" alt="A sleeping cat">\n</div>\n')

    assert [(f.line, f.text, f.why) for f in i18n_audit.template_findings(text)] == [
        (2, "Hello there", "untranslated text")
    ]
    assert [(f.line, f.text, f.why) for f in i18n_audit.template_findings(attribute)] == [
        (2, "A sleeping cat", "untranslated alt=")
    ]


def test_the_audit_accepts_marked_text_and_finds_a_literal_handed_to_a_macro(tmp_path):
    marked = tmp_path / "marked.html"
    marked.write_text(
        '<p>{{ _("Hello there") }}</p><img src="/cat.png" alt="{{ _(\'A sleeping cat\') }}">\n'
        "{% block main_class %}flex items-center{% endblock %}\n"
    )
    literal = tmp_path / "literal.html"
    literal.write_text("{{ nav_link('/x', 'Browse sessions') }}\n")

    assert i18n_audit.template_findings(marked) == []
    assert [f.text for f in i18n_audit.template_findings(literal)] == ["Browse sessions"]


def test_the_audit_finds_english_only_python_and_text_without_hindi(tmp_path):
    module = tmp_path / "views.py"
    module.write_text(
        "from flask import flash\nfrom flask_babel import gettext as _\n\n"
        "def view():\n    flash('Your changes are saved.')\n    return _('A text nobody translated yet')\n"
    )

    assert [(f.line, f.text) for f in i18n_audit.python_findings(module)] == [(5, "Your changes are saved.")]
    assert [(f.line, f.text, f.why) for f in i18n_audit.catalog_findings([module])] == [
        (6, "A text nobody translated yet", "no Hindi for")
    ]


def test_the_audit_knows_every_domain_error_a_message_is_given_to(tmp_path):
    """A refusal the page, the API or the room shows (rate limits, an unreachable gateway) is
    checked like the others, without a list of error classes to keep up to date."""
    assert {"RateLimited", "GatewayUnavailable", "MediaUnavailable", "Conflict"} <= i18n_audit.ERROR_CALLS
    exceptions = tmp_path / "exceptions.py"
    exceptions.write_text(
        "class DomainError(Exception):\n    pass\n\n\nclass Refused(DomainError):\n    pass\n"
    )
    assert i18n_audit.domain_errors(exceptions) == {"DomainError", "Refused"}

    module = tmp_path / "limits.py"
    module.write_text(
        "from .exceptions import RateLimited\n\n"
        "def hit(minutes):\n"
        "    raise RateLimited(f'Too many attempts. Please wait {minutes} minutes.', retry_after=60)\n"
    )
    assert [(f.line, f.why) for f in i18n_audit.python_findings(module)] == [
        (4, "untranslated text given to RateLimited()")
    ]


def test_the_audit_finds_an_error_bodys_english_message(tmp_path):
    module = tmp_path / "events.py"
    module.write_text(
        "from flask_babel import gettext as _\n\n"
        "def refused():\n"
        "    return {'code': 'unavailable', 'message': 'The room is away.'}\n\n"
        "def marked():\n"
        "    return {'code': 'unavailable', 'message': _('The room is away.'), 'kind': 'Plain value'}\n"
    )
    assert [(f.line, f.text) for f in i18n_audit.python_findings(module)] == [(4, "The room is away.")]


def test_the_audit_finds_an_api_answers_english_message(tmp_path):
    module = tmp_path / "api.py"
    module.write_text(
        "from flask_babel import gettext as _\n\n"
        "def moved():\n"
        "    return ok({'id': 1}, 'Booking moved.')\n\n"
        "def gone():\n"
        "    return error_response(404, 'not_found', 'No such booking.')\n\n"
        "def marked():\n"
        "    return ok({'id': 1}, _('Booking moved.'))\n\n"
        "def for_a_server():\n"
        "    return ok({'outcome': 'done'}, 'Event processed.')  # i18n: not text\n"
    )
    assert [(f.line, f.text) for f in i18n_audit.python_findings(module)] == [
        (4, "Booking moved."),
        (7, "No such booking."),
    ]


# --- Indian formats in both languages ------------------------------------------------------------

EVENING = datetime(2026, 12, 5, 13, 0, tzinfo=UTC)  # 6:30 PM in India


def test_dates_read_as_before_in_english_and_in_hindi_words_in_hindi(app):
    # The test's app context holds the language between request contexts: each is forced.
    with app.test_request_context(), force_locale("en"):
        # A leading zero is dropped after a space only, as it always was.
        assert localtime(EVENING, tz="Asia/Kolkata") == "05 Dec 2026, 6:30 PM"
        assert localtime(EVENING, "%a %d %b %Y, %I:%M %p", tz="Asia/Kolkata") == "Sat 5 Dec 2026, 6:30 PM"
        assert localtime(EVENING, "%A %d %B %Y", tz="Asia/Kolkata") == "Saturday 5 December 2026"
    with app.test_request_context(), force_locale("hi"):
        assert localtime(EVENING, tz="Asia/Kolkata") == "05 दिस॰ 2026, 6:30 pm"
        assert localtime(EVENING, "%a %d %b %Y, %I:%M %p", tz="Asia/Kolkata") == "शनि 5 दिस॰ 2026, 6:30 pm"
        assert localtime(EVENING, "%A %d %B %Y", tz="Asia/Kolkata") == "शनिवार 5 दिसंबर 2026"
        # Formats machines read have no words: the same in every language.
        assert localtime(EVENING, "%Y-%m-%dT%H:%M%z", tz="Asia/Kolkata") == "2026-12-05T18:30+0530"
        assert localtime(EVENING, "%Y%m%d", tz="Asia/Kolkata") == "20261205"


def test_every_month_and_weekday_has_its_hindi_word():
    months = [format_moment(datetime(2026, month, 1, tzinfo=UTC), "%b", "hi") for month in range(1, 13)]
    assert tuple(months) == HINDI_MONTHS
    assert format_moment(EVENING, "%p", "hi") == "pm"
    assert format_moment(EVENING.replace(hour=3), "%p", "hi") == "am"


def test_money_and_counts_are_grouped_the_indian_way_with_latin_digits_in_both(app):
    for language in ("en", "hi"):
        with app.test_request_context(), force_locale(language):
            assert format_inr(10_000_000) == LAKH
            assert format_inr(123_456_789) == "₹12,34,567.89"
            assert format_count(100_000) == "1,00,000"
            assert format_count(12_345_678) == "1,23,45,678"
            assert format_count(-1_500) == "-1,500"
            rendered = app.jinja_env.from_string("{{ 100000|number }} · {{ 10000000|inr }}").render()
            assert rendered == "1,00,000 · ₹1,00,000"


# --- choosing the language -----------------------------------------------------------------------


def header(response):
    html = response.get_data(as_text=True)
    return html[html.index("<header") : html.index("</header>")]


def language_of(response):
    return re.search(r'<html lang="(\w+)"', response.get_data(as_text=True)).group(1)


def test_a_visitor_reads_the_language_their_browser_asks_for_and_caches_are_told(client):
    english = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    hindi = client.get("/", headers={"Accept-Language": "hi-IN,hi;q=0.9,en;q=0.5"})

    assert language_of(english) == "en" and "Browse sessions" in header(english)
    assert language_of(hindi) == "hi" and "सेशन देखें" in header(hindi)
    assert "Browse sessions" not in header(hindi)
    for response in (english, hindi):
        assert {"Accept-Language", "Cookie"} <= set(response.vary)


def test_the_switcher_sets_a_cookie_for_a_year_and_goes_back(client):
    response = client.post("/language", data={"language": "hi", "next": "/sessions?q=flask"})

    assert response.status_code == 303
    assert response.headers["Location"] == "/sessions?q=flask"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lang=hi;") and "Max-Age=31536000" in cookie and "SameSite=Lax" in cookie
    # The cookie wins over the browser's own languages.
    page = client.get("/", headers={"Accept-Language": "en"})
    assert language_of(page) == "hi"
    assert "भाषा" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    "target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:x"]
)
def test_the_switcher_goes_back_only_to_a_page_of_this_site(client, target):
    response = client.post("/language", data={"language": "hi", "next": target})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_the_switcher_refuses_another_sites_form_and_an_unknown_language(client):
    crossed = client.post("/language", data={"language": "hi"}, headers={"Origin": "https://evil.example"})
    unknown = client.post("/language", data={"language": "fr"})

    fetched = client.post("/language", data={"language": "hi"}, headers={"Sec-Fetch-Site": "cross-site"})
    own = client.post("/language", data={"language": "hi"}, headers={"Origin": "http://localhost"})

    assert crossed.status_code == 400 and "Set-Cookie" not in crossed.headers
    assert fetched.status_code == 400 and "Set-Cookie" not in fetched.headers
    assert own.status_code == 303
    assert unknown.status_code == 422 and "Set-Cookie" not in unknown.headers


def test_a_signed_in_persons_choice_is_saved_on_the_account_and_checked_for_csrf(app, client, make_user):
    user = make_user(email="asha@example.com")
    assert AuthActions(client).login(user.email).status_code == 302

    forged = client.post("/language", data={"language": "hi"})
    assert forged.status_code == 400
    db.session.refresh(user)
    assert user.locale is None

    token = extract_csrf(client.get("/profile/edit").get_data(as_text=True))
    chosen = client.post("/language", data={"language": "hi", "next": "/profile/edit", "csrf_token": token})
    assert chosen.status_code == 303
    db.session.refresh(user)
    assert user.locale == "hi"
    settings = client.get("/profile/edit")
    assert language_of(settings) == "hi"
    assert 'data-testid="language-select"' in settings.get_data(as_text=True)


def test_the_api_saves_the_language_and_answers_in_it(client, make_user, api_token):
    user = make_user(email="ravi@example.com")
    headers = {"Authorization": f"Bearer {api_token(user.email)}"}

    assert client.get("/api/me/language/", headers=headers).get_json()["data"]["language"] is None
    saved = client.put("/api/me/language/", json={"language": "hi"}, headers=headers)
    unknown = client.put("/api/me/language/", json={"language": "fr"}, headers=headers)
    extra = client.put("/api/me/language/", json={"language": "en", "role": "admin"}, headers=headers)

    assert saved.status_code == 200
    assert saved.get_json()["data"]["language"] == "hi"
    assert saved.get_json()["message"] == "भाषा सहेजी गई।"
    assert unknown.status_code == 422 and unknown.get_json()["error"]["code"] == "invalid_language"
    assert extra.status_code == 422 and extra.get_json()["error"]["code"] == "read_only_field"
    db.session.refresh(user)
    assert user.locale == "hi"


def test_the_choice_is_kept_across_sign_in_and_reaches_a_new_browser(app, make_user):
    user = make_user(email="meera@example.com")
    first = app.test_client()
    first.post("/language", data={"language": "hi"})

    assert AuthActions(first).login(user.email).status_code == 302
    db.session.refresh(user)
    assert user.locale == "hi"  # an account that never chose takes the browser's choice
    assert language_of(first.get("/profile")) == "hi"

    # Signing out keeps the browser's choice.
    assert AuthActions(first).logout().status_code in (302, 303)
    assert language_of(first.get("/")) == "hi"

    # Another browser, which never chose, asks for English: the account's choice wins and the
    # browser keeps it from then on.
    second = app.test_client()
    signed_in = AuthActions(second).login(user.email)
    assert "lang=hi" in signed_in.headers.get("Set-Cookie", "")
    assert language_of(second.get("/profile", headers={"Accept-Language": "en"})) == "hi"


def test_a_saved_choice_outranks_the_cookie_of_the_browser_signing_in(app, make_user):
    user = make_user(email="kabir@example.com")
    user.locale = "en"
    db.session.commit()
    browser = app.test_client()
    browser.post("/language", data={"language": "hi"})

    signed_in = AuthActions(browser).login(user.email)
    db.session.refresh(user)

    assert user.locale == "en"
    assert "lang=en" in signed_in.headers.get("Set-Cookie", "")
    assert language_of(browser.get("/profile")) == "en"


# --- kept fragments are kept per language --------------------------------------------------------


def test_a_kept_fragment_is_never_served_in_the_other_language(app, client, make_user):
    mentor = make_user(email="guru@example.com", role="mentor")
    make_session(mentor, title="Graphs for everyone")

    english = client.get("/sessions", headers={"Accept-Language": "en"}).get_data(as_text=True)
    hindi = client.get("/sessions", headers={"Accept-Language": "hi"}).get_data(as_text=True)
    english_again = client.get("/sessions", headers={"Accept-Language": "en"}).get_data(as_text=True)

    for page in (english, hindi, english_again):
        assert "Graphs for everyone" in page
    assert "Free" in english and "5 seats left" in english
    assert "मुफ़्त" in hindi and "5 सीटें बची हैं" in hindi
    assert "5 seats left" not in hindi
    assert "Free" in english_again and "5 seats left" in english_again
    assert "मुफ़्त" not in english_again and "सीटें" not in english_again


# --- a page, an email and a notification in Hindi ------------------------------------------------


def test_a_hindi_readers_page_email_and_notification_are_hindi_with_indian_formats(app, client):
    mentor = UserFactory(role="mentor", name="Asha Mentor", email="asha.mentor@example.com")
    learner = UserFactory(name="Lena Learner", email="lena@example.com", locale="hi")
    starts = datetime(utcnow().year + 1, 12, 5, 13, 0, tzinfo=UTC)
    session = make_session(mentor, title="Graph algorithms", price_paise=10_000_000, starts_at=starts)
    paid_booking(session, learner)

    assert AuthActions(client).login(learner.email).status_code == 302
    page = client.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert '<html lang="hi"' in page
    assert LAKH in page and "दिस॰" in page
    assert "लॉग आउट करें" in page  # the header, in Hindi too

    email = db.session.scalar(
        select(OutboundEmail).where(
            OutboundEmail.user_id == learner.id, OutboundEmail.template == "booking_confirmed"
        )
    )
    assert email is not None
    assert DEVANAGARI.search(email.subject)
    for body in (email.text_body, email.html_body):
        assert LAKH in body and "दिस॰" in body
        assert "You have a seat in" not in body
        assert not ENGLISH_MONTHS.search(body.split("BEGIN:VCALENDAR")[0])

    notification = db.session.scalar(
        select(Notification).where(
            Notification.user_id == learner.id, Notification.kind == "booking_confirmed"
        )
    )
    assert notification is not None
    assert DEVANAGARI.search(notification.title)
    assert "दिस॰" in notification.body and LAKH in notification.body
    assert not ENGLISH_MONTHS.search(notification.body)


def test_the_sign_in_prompt_speaks_the_visitors_language(client):
    page = client.get("/profile", headers={"Accept-Language": "hi"}, follow_redirects=True)
    # A page's script asking for JSON gets the same prompt as a 401.
    api = client.get("/profile", headers={"Accept-Language": "hi", "Accept": "application/json"})
    english = client.get("/profile", headers={"Accept-Language": "en", "Accept": "application/json"})

    assert "आगे बढ़ने के लिए कृपया लॉग इन करें।" in page.get_data(as_text=True)
    assert api.status_code == 401 and api.get_json()["message"] == "आगे बढ़ने के लिए लॉग इन करें।"
    assert english.get_json()["message"] == "Log in to continue."


def test_the_audit_looks_a_text_up_in_its_context(tmp_path):
    from babel.messages.catalog import Catalog

    template = tmp_path / "context.html"
    template.write_text('<p>{{ pgettext("payout", "To") }}</p><p>{{ pgettext("date range", "To") }}</p>')
    catalog = Catalog(locale="hi")
    catalog.add("To", "तक", context="date range")

    assert [(f.text, f.why) for f in i18n_audit.catalog_findings([template], catalog)] == [
        ("payout|To", "no Hindi for")
    ]


def test_a_hindi_page_hands_its_scripts_their_texts_in_a_data_block(client):
    block = re.compile(r'<script type="application/json" id="js-texts">(.*?)</script>', re.S)
    hindi = block.search(client.get("/", headers={"Accept-Language": "hi"}).get_data(as_text=True))
    english = block.search(client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True))

    assert english is None  # the scripts' own English is the text
    texts = json.loads(hindi.group(1))
    assert texts["Copy link"] == "लिंक कॉपी करें"
    assert texts["Notifications, %(num)s unread"] == "सूचनाएँ, %(num)s अपठित"  # filled by the script
    # A counted text carries its forms, for one and for more, under its English singular.
    assert texts["%(num)s timezone matches."] == ["%(num)s टाइमज़ोन मिला।", "%(num)s टाइमज़ोन मिले।"]
    assert texts["Whiteboard, page %(page)s of %(pages)s, %(shapes)s shape"] == [
        "व्हाइटबोर्ड, %(pages)s में से पेज %(page)s, %(shapes)s आकृति",
        "व्हाइटबोर्ड, %(pages)s में से पेज %(page)s, %(shapes)s आकृतियाँ",
    ]
    singulars = {singular for singular, _plural in i18n.js_plural_messages()}
    assert set(texts) <= set(i18n.js_messages()) | singulars


def test_categories_and_languages_are_stored_in_english_and_read_in_the_readers_language(client):
    mentor = UserFactory(role="mentor", name="Asha Mentor")
    session = make_session(mentor, title="Colour theory", category="Design", language="Tamil")

    hindi = client.get(f"/sessions/{session.id}", headers={"Accept-Language": "hi"}).get_data(as_text=True)
    assert '<span class="badge">डिज़ाइन</span>' in hindi and '<span class="badge">तमिल</span>' in hindi
    catalog = client.get("/sessions", headers={"Accept-Language": "hi"}).get_data(as_text=True)
    assert '<option value="Design">डिज़ाइन</option>' in catalog  # the filter still sends the stored word
    assert '<option value="Tamil">तमिल</option>' in catalog

    english = client.get(f"/sessions/{session.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<span class="badge">Design</span>' in english and '<span class="badge">Tamil</span>' in english
    from peerlearn.models import CATEGORIES, LANGUAGES

    assert set(i18n.TERMS) == set(CATEGORIES) | set(LANGUAGES)  # a new word needs its translation
