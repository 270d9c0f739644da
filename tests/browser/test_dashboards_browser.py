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


def test_the_chart_engine_loads_only_when_a_chart_nears_the_screen(page):
    """The charts sit below the fold on a phone: the page's first load leaves their engine (a
    56 kB chunk that blocked the main thread) for the moment the reader scrolls to them."""
    log_in(page, "mentor2@peerlearn.local")
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 844})
    engine_requests = []
    page.on("request", lambda request: "chart-engine" in request.url and engine_requests.append(request.url))
    visit(page, "/teach")
    page.wait_for_load_state("networkidle")
    first = page.locator("[data-chart-figure]").first
    assert not first.evaluate("(figure) => figure.getBoundingClientRect().top < innerHeight + 200"), (
        "the first chart is within reach of the first screen: this check needs a page where it is not"
    )
    assert engine_requests == [], "the chart engine loaded before any chart neared the screen"
    assert first.locator("canvas").count() == 0

    first.scroll_into_view_if_needed()
    expect(first.locator("canvas").first).to_be_attached(timeout=10_000)
    assert len(engine_requests) == 1, engine_requests
