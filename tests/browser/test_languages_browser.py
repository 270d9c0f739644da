"""Choosing Hindi in a real browser: the footer's switcher is a plain form, the page comes back in
Hindi, and the scripts speak it too (their texts come from the page's data block, js/i18n.js)."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_the_switcher_turns_the_page_and_its_scripts_hindi_and_back(new_context):
    # A browser asking for English: only the switcher makes the pages Hindi.
    page = new_context(locale="en-GB").new_page()
    response = page.goto("/auth/register")
    assert response is not None and response.ok
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.get_by_test_id("language-switcher").get_by_role("button", name="हिन्दी").click()
    expect(page.locator("html")).to_have_attribute("lang", "hi")
    assert page.url.endswith("/auth/register")  # back on the page it was chosen from

    search = page.get_by_label("टाइमज़ोन खोजें")
    expect(search).to_be_visible()
    search.fill("london")
    expect(page.locator("#timezone")).to_have_value("Europe/London")
    status = page.get_by_role("status").filter(has_text="टाइमज़ोन")
    expect(status).to_have_text("1 टाइमज़ोन मिला।")
    search.fill("nowhere at all")
    expect(status).to_have_text("कोई टाइमज़ोन नहीं मिला।")

    page.get_by_test_id("language-switcher").get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_label("Find a timezone").fill("london")
    expect(page.get_by_role("status").filter(has_text="timezone")).to_have_text("1 timezone matches.")
