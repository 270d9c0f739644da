"""The timezone picker in a real browser: typing in its search box narrows the grouped select and
chooses the first zone that fits, so the closed select always shows a match."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def visible_values(page):
    # A function, not an expression: the pages' content security policy refuses eval().
    return page.locator("#timezone").evaluate(
        "(select) => [...select.options].filter((option) => !option.hidden).map((option) => option.value)"
    )


def test_searching_narrows_the_list_and_picks_a_match(page):
    response = page.goto("/auth/register")
    assert response is not None and response.ok
    search = page.get_by_label("Find a timezone")
    expect(search).to_be_visible()
    select = page.locator("#timezone")
    expect(select).to_have_value("Asia/Kolkata")
    everything = len(visible_values(page))
    assert everything > 400

    search.fill("london")
    expect(select).to_have_value("Europe/London")
    assert visible_values(page) == ["Europe/London"]
    expect(page.get_by_role("status").filter(has_text="timezone")).to_have_text("1 timezone matches.")

    search.fill("utc+05:30")
    expect(select).to_have_value("Asia/Kolkata")  # India leads the common zones
    assert "Asia/Colombo" in visible_values(page) and "Europe/London" not in visible_values(page)

    search.fill("nowhere at all")
    expect(page.get_by_role("status").filter(has_text="timezone")).to_have_text("No timezone matches.")
    search.fill("")
    assert len(visible_values(page)) == everything


def test_a_hindi_reader_finds_a_zone_by_its_hindi_or_its_english_name(new_context):
    page = new_context(locale="hi-IN").new_page()
    response = page.goto("/auth/register")
    assert response is not None and response.ok
    expect(page.locator("html")).to_have_attribute("lang", "hi")
    search = page.locator("#timezone-search")
    select = page.locator("#timezone")
    expect(select.locator("option:checked")).to_have_text("(UTC+05:30) भारत — कोलकाता")

    status = page.get_by_role("status").filter(has_text="टाइमज़ोन")
    search.fill("लंदन")
    expect(select).to_have_value("Europe/London")
    assert visible_values(page) == ["Europe/London"]
    expect(status).to_have_text("1 टाइमज़ोन मिला।")  # the count's singular form
    search.fill("utc+05:30")
    expect(status).to_have_text(f"{len(visible_values(page))} टाइमज़ोन मिले।")

    search.fill("")
    search.fill("kolkata")  # the zone's own name
    expect(select).to_have_value("Asia/Kolkata")
    search.fill("britain")  # the English label's country
    expect(select).to_have_value("Europe/London")
    assert visible_values(page) == ["Europe/London"]
