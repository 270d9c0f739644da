"""The timezone picker: India first, then the common zones, then one group per region by UTC
offset with readable labels, and old alias names kept so an account that has one keeps it."""

import re
from datetime import UTC, datetime
from html import unescape

from flask_babel import force_locale

from peerlearn.services.accounts import COMMON_TIMEZONES, timezone_choices, timezone_label, timezones

JANUARY = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
JULY = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)


def test_india_leads_and_common_zones_come_first(app):
    choices = timezone_choices(JANUARY)
    assert choices[0].value == "Asia/Kolkata" and choices[0].label == "(UTC+05:30) India — Kolkata"
    assert [c.value for c in choices[: len(COMMON_TIMEZONES)]] == list(COMMON_TIMEZONES)
    assert {c.optgroup for c in choices[: len(COMMON_TIMEZONES)]} == {"Common"}


def test_every_zone_is_offered_once(app):
    values = [c.value for c in timezone_choices(JANUARY)]
    assert len(values) == len(set(values)) and set(values) == set(timezones())


def test_regions_are_grouped_and_ordered_by_offset(app):
    choices = timezone_choices(JANUARY)
    groups = list(dict.fromkeys(c.optgroup for c in choices))
    assert groups[0] == "Common" and groups[-1] == "Other names"
    assert {"Asia", "Europe", "Americas", "Africa", "Pacific"} <= set(groups)
    # Each group is contiguous: an optgroup is not split in two.
    runs = [c.optgroup for i, c in enumerate(choices) if i == 0 or choices[i - 1].optgroup != c.optgroup]
    assert len(runs) == len(set(runs))
    americas = [c.label for c in choices if c.optgroup == "Americas"]
    offsets = [re.match(r"\(UTC([+-]\d\d):(\d\d)\)", label).groups() for label in americas]
    minutes = [int(h) * 60 + (int(m) if int(h) >= 0 else -int(m)) for h, m in offsets]
    assert minutes == sorted(minutes)
    assert "(UTC-03:00) Brazil — Sao Paulo" in americas


def test_labels_follow_daylight_saving_and_aliases_stay_with_their_names(app):
    assert timezone_label("Europe/London", JANUARY) == "(UTC+00:00) Britain (UK) — London"
    assert timezone_label("Europe/London", JULY) == "(UTC+01:00) Britain (UK) — London"
    assert timezone_label("America/Argentina/Buenos_Aires", JANUARY) == "(UTC-03:00) Argentina — Buenos Aires"
    assert timezone_label("Asia/Singapore", JANUARY) == "(UTC+08:00) Singapore"
    others = {c.value: c.label for c in timezone_choices(JANUARY) if c.optgroup == "Other names"}
    assert others["Asia/Calcutta"] == "(UTC+05:30) Asia/Calcutta"


def test_the_forms_render_groups_and_a_search_box(client, auth, make_user):
    page = unescape(client.get("/auth/register").get_data(as_text=True))
    assert '<optgroup label="Common">' in page and '<optgroup label="Asia">' in page
    assert 'x-data="timezonePicker"' in page and 'id="timezone-search"' in page
    assert '<option selected value="Asia/Kolkata">(UTC+05:30) India — Kolkata</option>' in page

    user = make_user(timezone="Asia/Calcutta")  # an alias name is still shown as chosen
    auth.login(user.email)
    page = unescape(client.get("/profile/edit").get_data(as_text=True))
    assert '<option selected value="Asia/Calcutta">' in page and 'id="timezone-search"' in page


def test_a_hindi_reader_reads_the_zones_in_hindi_and_can_still_search_in_english(app):
    with force_locale("hi"):
        choices = timezone_choices(JANUARY)
    by_value = {c.value: c for c in choices}
    india = choices[0]
    assert india.value == "Asia/Kolkata" and india.label == "(UTC+05:30) भारत — कोलकाता"
    assert india.optgroup == "प्रमुख" and india.render_kw == {"data-search": "(UTC+05:30) India — Kolkata"}
    assert by_value["Europe/London"].label == "(UTC+00:00) यूनाइटेड किंगडम — लंदन"
    assert by_value["Asia/Singapore"].label == "(UTC+08:00) सिंगापुर"
    assert by_value["Asia/Tokyo"].optgroup == "प्रमुख" and by_value["Asia/Manila"].optgroup == "एशिया"
    # An old name is the stored id, in any language.
    assert by_value["Asia/Calcutta"].label == "(UTC+05:30) Asia/Calcutta"
    assert by_value["Asia/Calcutta"].optgroup == "दूसरे नाम" and by_value["Asia/Calcutta"].render_kw is None
    # The English list is as before, with nothing extra to search.
    assert all(c.render_kw is None for c in timezone_choices(JANUARY))


def test_a_hindi_page_offers_the_zones_in_hindi_with_their_english_names_to_search(client):
    page = unescape(client.get("/auth/register", headers={"Accept-Language": "hi"}).get_data(as_text=True))
    assert (
        '<option data-search="(UTC+05:30) India — Kolkata" selected value="Asia/Kolkata">'
        "(UTC+05:30) भारत — कोलकाता</option>"
    ) in page
    assert '<optgroup label="एशिया">' in page and '<optgroup label="Asia">' not in page
    english = unescape(client.get("/auth/register", headers={"Accept-Language": "en"}).get_data(as_text=True))
    assert "data-search" not in english
