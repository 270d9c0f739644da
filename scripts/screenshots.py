"""Render the key pages at 1280 px and 390 px into screenshots/, and weigh the landing page.

    make screenshots        (or .venv/bin/python scripts/screenshots.py)

Starts its own server on a temporary instance directory with the demo data, like the browser
tests. Exits non-zero if the server, the browser or any page fails.
"""

import sys
from pathlib import Path

# Run as a file, not a module: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from peerlearn.demo import DEMO_PASSWORD
from scripts.live_server import (
    REPO_ROOT,
    LiveServer,
    ServerError,
    block_external_requests,
    browser_setup_problem,
    launch_chromium,
    measure_page_weight,
)

OUT_DIR = REPO_ROOT / "screenshots"
WIDTHS = {1280: 800, 390: 844}
TIMEOUT_MS = 15_000

# (file name, path, account to sign in as or None)
PAGES = [
    ("landing", "/", None),
    ("register", "/auth/register", None),
    ("login", "/auth/login", None),
    ("profile-learner1", "/profile", "learner1@peerlearn.local"),
    ("home-learner1", "/learn", "learner1@peerlearn.local"),
    ("home-mentor1", "/teach", "mentor1@peerlearn.local"),
    ("browse", "/sessions", None),
    ("session", "/sessions/1", None),
    ("bookings-learner1", "/bookings", "learner1@peerlearn.local"),
    ("my-sessions-mentor1", "/teach/sessions", "mentor1@peerlearn.local"),
    ("earnings-mentor1", "/teach/earnings", "mentor1@peerlearn.local"),
]


class PageProblems:
    """Console errors, page errors and requests leaving loopback, across every page rendered."""

    def __init__(self):
        self.found = []

    def watch(self, context):
        block_external_requests(context, lambda url: self.found.append(f"request left 127.0.0.1: {url}"))
        context.on("console", self._on_console)
        context.on("weberror", lambda error: self.found.append(f"page error: {error.error}"))

    def _on_console(self, message):
        if message.type == "error":
            self.found.append(f"console error: {message.text}")


def log_in(page, email):
    page.goto("/auth/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_url(lambda url: "/auth/login" not in url)


def settle(page):
    """Wait until what a person would see is drawn: fonts, Alpine, the socket on signed-in pages."""
    page.wait_for_load_state("load")
    page.evaluate("document.fonts.ready.then(() => true)")
    if page.evaluate("document.body.dataset.userId !== undefined"):
        page.wait_for_function("() => document.body.dataset.socket === 'connected'")
    page.wait_for_timeout(300)  # transitions (flash, menus) last at most 200 ms


def render_all(browser, server, problems):
    written = []
    OUT_DIR.mkdir(exist_ok=True)
    for width, height in WIDTHS.items():
        contexts = {}
        try:
            for name, path, account in PAGES:
                if account not in contexts:
                    context = browser.new_context(
                        base_url=server.url, viewport={"width": width, "height": height}
                    )
                    context.set_default_timeout(TIMEOUT_MS)
                    problems.watch(context)
                    page = context.new_page()
                    if account:
                        log_in(page, account)
                    contexts[account] = page
                page = contexts[account]
                response = page.goto(path)
                if response is None or not response.ok:
                    status = response.status if response else "no response"
                    raise RuntimeError(f"{path} answered {status} (signed in as {account or 'nobody'})")
                settle(page)
                target = OUT_DIR / f"{name}-{width}.png"
                page.screenshot(path=str(target), full_page=True)
                written.append(target)
                print(f"wrote {target.relative_to(REPO_ROOT)}", flush=True)
        finally:
            for page in contexts.values():
                page.context.close()
    return written


def report_weight(browser, server):
    weight = measure_page_weight(browser, f"{server.url}/", viewport={"width": 1280, "height": 800})
    print("\nLanding page at 1280 px (uncompressed response bodies):")
    print(f"  HTML + CSS + JS: {weight.html_css_js:>9,} bytes")
    print(f"    HTML:          {weight['html']:>9,} bytes")
    print(f"    CSS:           {weight['css']:>9,} bytes")
    print(f"    JS:            {weight['js']:>9,} bytes")
    if weight["other"]:
        print(f"  other:           {weight['other']:>9,} bytes")
    print(f"  content-encoding: {', '.join(sorted(weight.content_encodings)) or 'none'}")
    leaked = weight.external_requests
    print(f"  requests to hosts other than 127.0.0.1: {'yes' if leaked else 'no'} ({len(leaked)})")
    for url in leaked:
        print(f"    {url}")
    return not leaked


def main():
    problem = browser_setup_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    server = LiveServer(settings={"ROOM_MEDIA": "mesh"})  # no room pages: no local Janus needed
    try:
        server.start()
    except ServerError as exc:
        print(f"The server did not start: {exc}", file=sys.stderr)
        return 1
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                problems = PageProblems()
                render_all(browser, server, problems)
                clean = report_weight(browser, server)
            finally:
                browser.close()
    except (PlaywrightError, RuntimeError) as exc:
        print(f"\nFailed: {exc}\n\nServer output:\n{server.output()[-4000:]}", file=sys.stderr)
        return 1
    finally:
        server.stop()
    if problems.found:
        print("\nProblems seen while rendering:", file=sys.stderr)
        for problem in problems.found:
            print(f"  {problem}", file=sys.stderr)
        return 1
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
