"""No page uses an API its browser has deprecated: Lighthouse's Best Practices score drops to 81
for a single deprecation, and a deprecated API is one a later Chromium removes.

Chromium reports each use twice, and both are checked: to the page, as a `deprecation` report
that a ReportingObserver installed before the first script receives (buffered, so nothing
reported before it was observing is missed), and to DevTools, as a DeprecationIssue that Chromium
keeps per page and hands to whoever enables the Audits domain (Lighthouse's `deprecations` audit
reads these). Chromium 156 reported "FencedFrame" from app.js on every page, because Alpine's CSP
build read `window.fence` while collecting the page's globals (see scripts/build_js.mjs).
"""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import log_in, visit, wait_for_socket

pytestmark = pytest.mark.browser

WATCH_DEPRECATIONS = """
window.__describeReport = (report) =>
  `${report.body.id}: ${report.body.message} at ${report.body.sourceFile}:${report.body.lineNumber}`;
window.__deprecations = [];
window.__deprecationObserver = new ReportingObserver((reports) => {
  window.__deprecations.push(...reports.map(window.__describeReport));
}, { types: ['deprecation'], buffered: true });
window.__deprecationObserver.observe();
"""
# Reports delivered so far, and those still queued for the observer's next callback.
PAGE_DEPRECATIONS = """() => [
  ...window.__deprecations,
  ...window.__deprecationObserver.takeRecords().map(window.__describeReport),
]"""
# Alpine has initialised the page's components (or the page has none).
ALPINE_STARTED = """() => {
  const el = document.querySelector('[x-data]');
  return !el || Boolean(el._x_dataStack);
}"""


def devtools_deprecations(page):
    """The DeprecationIssues Chromium collected for this page, as Lighthouse would read them."""
    issues = []
    cdp = page.context.new_cdp_session(page)
    cdp.on("Audits.issueAdded", lambda event: issues.append(event["issue"]))
    # Enabling the domain first sends every issue already collected, then answers.
    cdp.send("Audits.enable")
    cdp.detach()
    found = []
    for issue in issues:
        if issue["code"] != "DeprecationIssue":
            continue
        details = issue["details"]["deprecationIssueDetails"]
        where = details.get("sourceCodeLocation") or {}
        found.append(f"{details['type']} at {where.get('url', '?')}:{where.get('lineNumber', 0) + 1}")
    return found


def assert_no_deprecations(page, path):
    page.wait_for_function(ALPINE_STARTED)
    assert page.evaluate(PAGE_DEPRECATIONS) == [], f"{path}: the page received deprecation reports"
    assert devtools_deprecations(page) == [], f"{path}: Chromium reported deprecated APIs"


def watched_page(new_context):
    context = new_context()
    context.add_init_script(WATCH_DEPRECATIONS)
    return context.new_page()


def test_public_pages_use_no_deprecated_api(new_context):
    page = watched_page(new_context)
    visit(page, "/sessions")
    assert_no_deprecations(page, "/sessions")
    links = page.locator('a[href^="/sessions/"]').evaluate_all("(all) => all.map((a) => a.pathname)")
    session_path = next((href for href in links if re.fullmatch(r"/sessions/\d+", href)), None)
    assert session_path, f"the catalog links to no session: {links}"
    for path in ("/", session_path, "/auth/login"):
        visit(page, path)
        assert_no_deprecations(page, path)


@pytest.mark.parametrize(
    ("email", "home"),
    [("learner1@peerlearn.local", "/learn"), ("mentor1@peerlearn.local", "/teach")],
)
def test_signed_in_home_uses_no_deprecated_api(new_context, email, home):
    page = watched_page(new_context)
    log_in(page, email)
    expect(page).to_have_url(re.compile(f"{re.escape(home)}$"))
    # Every chunk this page loads has run: its components, and the socket client.
    wait_for_socket(page)
    assert_no_deprecations(page, home)
