"""Dashboards in a real browser: the mentor's and the admin's charts are drawn (uPlot, loaded as
its own chunk from this server) from the figures the server computed, at desktop and phone width,
and the admin can find a user."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import PHONE_WIDTH, log_in, no_sideways_scroll, visit

pytestmark = pytest.mark.browser


def charts_drawn(page):
    figures = page.locator("[data-chart-figure]")
    expect(figures.first).to_be_visible()
    for index in range(figures.count()):
        figure = figures.nth(index)
        # A chart is drawn when it nears the viewport, as a reader scrolls to it.
        figure.scroll_into_view_if_needed()
        # The chart engine draws into a canvas inside the figure's chart box.
        expect(figure.locator("canvas").first).to_be_attached(timeout=10_000)
        box = figure.locator("canvas").first.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 50, box
    return figures.count()


def test_mentor_dashboard_draws_its_charts_at_desktop_and_phone_width(page):
    log_in(page, "mentor2@peerlearn.local")
    expect(page).to_have_url(re.compile(r"/teach$"))
    assert charts_drawn(page) >= 2
    # Every chart's figures are also there as a table.
    table = page.locator("[data-chart-table]").first
    page.locator("[data-chart-figure] summary").first.click()
    expect(table).to_be_visible()

    page.set_viewport_size({"width": PHONE_WIDTH, "height": 844})
    visit(page, "/teach")
    charts_drawn(page)
    no_sideways_scroll(page)


def test_admin_overview_charts_and_user_search(page):
    log_in(page, "admin@peerlearn.local")
    visit(page, "/admin")
    charts_drawn(page)
    visit(page, "/admin/users?q=learner1")
    page.get_by_role("link", name="Rohan Gupta").click()
    expect(page).to_have_url(re.compile(r"/admin/users/\d+$"))
    expect(page.get_by_text("learner1@peerlearn.local").first).to_be_visible()
