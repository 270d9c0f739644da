"""Every page people see is valid HTML, as the Nu HTML Checker (vnu.jar, an npm dev dependency)
reads it. Alpine's attributes (x-*, @*, :*) are the one thing let through: HTML has no place for
them, and the CSP build of Alpine needs them as they are.

With the demo data loaded, each persona (anonymous, a learner, a mentor, the admin) crawls the site
from its home pages through same-site links, collecting every HTML page. Pages that no link
reaches are added by hand: a live session's room, the room's refusal page, checkout pages, error
pages, forms sent back with their errors, and the emails sent meanwhile. All of them go through
one run of the checker, and every GET page of the app must have been checked by some persona.
"""

import json
import re
import shutil
import subprocess
from collections import deque
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from peerlearn import demo
from peerlearn.extensions import db
from peerlearn.models import (
    Booking,
    BookingStatus,
    LearningSession,
    OutboundEmail,
    Review,
    SessionStatus,
    User,
    utcnow,
)
from peerlearn.services import accounts, packs, session_requests
from peerlearn.services import checkout as gift_checkout
from peerlearn.services import gifts as gift_service
from peerlearn.services import room as room_service
from tests import factories
from tests.conftest import AuthActions, extract_csrf, unavailable
from tests.support.recordings import collect_recording_pages

ROOT = Path(__file__).resolve().parent.parent
VNU_JAR = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"

# The checker's words for an attribute HTML does not know; only Alpine's names are forgiven.
ALPINE_ATTRIBUTE = re.compile(r"^Attribute “(?:x-|@|:)[^”]*” not allowed on element “[^”]*” at this point\.$")

LEARNER, MENTOR, ADMIN = "learner1@peerlearn.local", "mentor1@peerlearn.local", "admin@peerlearn.local"
PERSONAS = {
    "anonymous": (
        None,
        ["/", "/sessions", "/mentors", "/auth/login", "/auth/register", "/auth/forgot", "/dev/outbox"],
    ),
    "learner": (LEARNER, ["/home", "/profile"]),
    "mentor": (MENTOR, ["/home", "/profile"]),
    "admin": (ADMIN, ["/home", "/profile"]),
}

# Links the crawl does not follow: files and feeds, the JSON API, signing out, and GETs that act
# (a confirmation link verifies the address and signs in; it is checked with a spent token).
NOT_FOLLOWED = re.compile(
    r"^/(static|api|media|covers)/|^/auth/(logout|verify/)|\.ics$|^/calendar/|/attachments/|^/healthz$"
)
# Many pages of one kind (sessions, mentors, bookings, filters of a list) share a template: a
# persona checks this many of each endpoint with the same query parameters.
PER_KIND = 6

# GET endpoints that answer something else than HTML.
NOT_HTML = {
    "booking.ics": "a calendar file",
    "booking.feed": "a calendar feed",
    "users.avatar": "an image",
    "sessions.cover": "an image",
    "main.generated_cover": "an image",
    "main.health": "JSON for load balancers",
    "main.ready": "JSON for probes and alerts",
    "pwa.manifest": "the web app manifest (JSON)",
    "pwa.service_worker": "the service worker (JavaScript)",
    "metrics": "Prometheus's text format",
    "dashboards.home": "a redirect to the account's own home page",
    "dev.outbox_attachment": "an email's attachment",
    "sessions.recording_file": "a session's recorded video",
    "sessions.notes_markdown": "a session's notes as Markdown",
    "sessions.whiteboard_png": "a whiteboard page as an image",
    "users.download_export": "a ZIP of the user's data",
}
# HTML pages this test does not check, and why (none at the moment).
NOT_CHECKED = {}


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def same_site_links(base, html):
    parser = Links()
    parser.feed(html)
    for href in parser.hrefs:
        parts = urlsplit(urljoin("http://localhost" + base, href))
        if parts.scheme in ("http", "https") and parts.netloc == "localhost":
            yield parts.path + (f"?{parts.query}" if parts.query else "")


class Pages:
    """The HTML pages collected so far: (label, url, endpoint, html)."""

    def __init__(self, app):
        self.app = app
        self.adapter = app.url_map.bind("localhost")
        self.found = []
        self.broken = []

    def endpoint(self, url):
        parts = urlsplit(url)
        try:
            return self.adapter.match(parts.path, method="GET")[0]
        except HTTPException:  # a URL no GET route serves
            return None

    def add(self, persona, url, response, *, status=200):
        assert response.status_code == status, f"{persona} {url}: {response.status_code}"
        assert response.mimetype == "text/html", f"{persona} {url}: {response.mimetype}"
        self.found.append((persona, url, self.endpoint(url), response.get_data(as_text=True)))

    def crawl(self, persona, browser, starts):
        """Breadth-first through same-site links; a server error on the way is a failure too."""
        seen, per_kind = set(), {}
        queue = deque(starts)
        while queue:
            url = queue.popleft()
            if url in seen or NOT_FOLLOWED.search(urlsplit(url).path):
                continue
            seen.add(url)
            endpoint = self.endpoint(url)
            kind = (endpoint, tuple(sorted(k for k in re.findall(r"[?&]([^=&]+)", url))))
            if per_kind.get(kind, 0) >= PER_KIND:
                continue
            per_kind[kind] = per_kind.get(kind, 0) + 1
            response = browser.get(url)
            if response.status_code in (301, 302, 303, 307, 308):
                queue.append(
                    urljoin("http://localhost" + url, response.headers["Location"]).removeprefix(
                        "http://localhost"
                    )
                )
                continue
            if response.status_code >= 500:
                self.broken.append(f"{persona} {url}: {response.status_code}")
            if response.status_code != 200 or response.mimetype != "text/html":
                response.close()
                continue
            html = response.get_data(as_text=True)
            self.found.append((persona, url, endpoint, html))
            queue.extend(same_site_links(url, html))


def signed_in(app, email):
    browser = app.test_client()
    if email is not None:
        response = AuthActions(browser).login(email, demo.DEMO_PASSWORD)
        assert response.status_code == 302, f"{email} could not sign in"
    return browser


def post_form(browser, path, data, *, page=None):
    """Send a form as the page at ``page`` (default: ``path``) would, CSRF token included."""
    token = extract_csrf(browser.get(page or path).get_data(as_text=True))
    return browser.post(path, data={"csrf_token": token, **data})


def user(email):
    return db.session.scalar(select(User).where(User.email == email))


def live_session_with_learner():
    """One of the mentor's booked sessions, moved to now and started through the service."""
    mentor, learner = user(MENTOR), user(LEARNER)
    session = db.session.scalar(
        select(LearningSession)
        .join(Booking, Booking.session_id == LearningSession.id)
        .where(
            LearningSession.mentor_id == mentor.id,
            LearningSession.status == SessionStatus.SCHEDULED.value,
            LearningSession.price_paise > 0,
            Booking.learner_id == learner.id,
            Booking.status == BookingStatus.CONFIRMED.value,
        )
        .limit(1)
    )
    session.starts_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    return room_service.start(mentor, session.id)


def unbooked_paid_session(email):
    """A scheduled paid session the account neither teaches nor has booked."""
    account = user(email)
    booked = select(Booking.session_id).where(Booking.learner_id == account.id)
    return db.session.scalar(
        select(LearningSession)
        .where(
            LearningSession.status == SessionStatus.SCHEDULED.value,
            LearningSession.price_paise > 0,
            LearningSession.mentor_id != account.id,
            LearningSession.seats_taken < LearningSession.capacity,
            LearningSession.id.not_in(booked),
        )
        .order_by(LearningSession.starts_at)
        .limit(1)
    )


def collect_unlinked_pages(app, pages, browsers):
    """Pages people see that no link leads to."""
    anonymous, learner, mentor = browsers["anonymous"], browsers["learner"], browsers["mentor"]

    # Forms sent back with their errors.
    response = post_form(
        anonymous,
        "/auth/register",
        {
            "role": "learner",
            "name": "Someone",
            "email": "not-an-email",
            "password": "x",
            "timezone": "Asia/Kolkata",
        },
    )
    pages.add("anonymous", "/auth/register (errors)", response, status=422)
    response = post_form(anonymous, "/auth/login", {"email": LEARNER, "password": "wrong password"})
    pages.add("anonymous", "/auth/login (errors)", response, status=response.status_code)
    response = post_form(anonymous, "/auth/forgot", {"email": "not-an-email"})
    pages.add("anonymous", "/auth/forgot (errors)", response, status=422)
    # What the service worker shows when the network is gone (pwa/sw.js).
    pages.add("anonymous", "/offline", anonymous.get("/offline"))
    response = post_form(mentor, "/teach/sessions/new", {"title": ""})
    pages.add("mentor", "/teach/sessions/new (errors)", response, status=response.status_code)

    mentor_id = user(MENTOR).id
    response = post_form(learner, f"/mentors/{mentor_id}/request", {"topic": ""})
    pages.add("learner", f"/mentors/{mentor_id}/request (errors)", response, status=422)

    # A request to the mentor, which the learner and the mentor then find in their lists.
    session_requests.create_request(
        user(LEARNER),
        mentor_id,
        {
            "topic": "Feature engineering for churn models",
            "message": "I have a dataset and a deadline.",
            "preferred_times": [(utcnow() + timedelta(days=4)).replace(microsecond=0).isoformat()],
        },
    )

    # A past session the learner has not reviewed yet: its page offers the review form.
    review = db.session.scalar(
        select(Review)
        .where(Review.learner_id == user(LEARNER).id)
        .order_by(Review.created_at.desc())
        .limit(1)
    )
    reviewed_session_id = review.session_id
    db.session.delete(review)
    db.session.commit()
    response = post_form(learner, f"/sessions/{reviewed_session_id}/review", {"body": "No stars given."})
    pages.add("learner", f"/sessions/{reviewed_session_id}/review (errors)", response, status=422)

    # All of a mentor's reviews (the profile shows the latest and links here when there are more).
    pages.add("anonymous", f"/mentors/{mentor_id}/reviews", anonymous.get(f"/mentors/{mentor_id}/reviews"))

    # Links from emails: forged tokens, and a reset link that works.
    accounts.request_password_reset(LEARNER, ip_address="127.0.0.1")
    sent = db.session.scalar(select(OutboundEmail).order_by(OutboundEmail.id.desc()).limit(1))
    reset = re.search(r"/auth/reset/[^\s\"<]+", sent.text_body).group(0)
    pages.add("anonymous", "/auth/reset/<token>", anonymous.get(reset))
    pages.add("anonymous", "/auth/verify/forged", anonymous.get("/auth/verify/forged"), status=400)
    pages.add("anonymous", "/auth/reset/forged", anonymous.get("/auth/reset/forged"), status=400)
    pages.add(
        "anonymous",
        "/notifications/unsubscribe/forged",
        anonymous.get("/notifications/unsubscribe/forged"),
        status=400,
    )

    # A webhook of the mentor's, its form's errors and its secret (its pages are then reached by links).
    response = post_form(mentor, "/settings/webhooks/new", {"url": "not an address"})
    pages.add("mentor", "/settings/webhooks/new (errors)", response, status=422)
    response = post_form(
        mentor, "/settings/webhooks/new", {"url": "https://127.0.0.1/hooks", "event_types": "review.created"}
    )
    pages.add("mentor", "/settings/webhooks/new (secret)", response)

    # A session pack: its form's errors, and the pay page buying one opens.
    response = post_form(mentor, "/teach/packs", {"title": "", "credits": "0"})
    pages.add("mentor", "/teach/packs (errors)", response, status=422)
    pack = packs.create_pack(
        user(MENTOR), {"title": "Three sessions", "credits": 3, "price_paise": 90_000, "valid_days": 30}
    )
    bought = post_form(learner, f"/packs/{pack.id}/buy", {}, page=f"/mentors/{mentor_id}")
    pages.add("learner", "/packs/orders/<order_id>", learner.get(bought.location))

    # Moving a paid booking to a dearer session: the confirm step, and the move's pay page.
    move_from = factories.make_session(
        user(MENTOR), title="Move from", price_paise=50_000, starts_at=utcnow() + timedelta(days=9)
    )
    move_to = factories.make_session(
        user(MENTOR), title="Move to", price_paise=80_000, starts_at=utcnow() + timedelta(days=10)
    )
    to_move, _ = factories.paid_booking(move_from, user(LEARNER))
    moving = f"/bookings/{to_move.id}/reschedule"
    pages.add("learner", f"{moving}?session_id=<dearer>", learner.get(f"{moving}?session_id={move_to.id}"))
    ordered = post_form(learner, moving, {"session_id": str(move_to.id)})
    pages.add("learner", f"{moving}/orders/<order_id>", learner.get(ordered.location))

    # Not found.
    pages.add("learner", "/sessions/999999", learner.get("/sessions/999999"), status=404)

    # A live session's room, for its learner and its mentor, and its refusal for someone without a seat.
    session = live_session_with_learner()
    room = f"/sessions/{session.id}/room"
    pages.add("learner", room, learner.get(room))
    pages.add("mentor", room, mentor.get(room))
    pages.add("admin", f"{room} (no seat)", browsers["admin"].get(room), status=403)

    # Its recording: watched, its forms, composing, deleted (tests/support/recordings.py).
    collect_recording_pages(pages, browsers, session, learner=user(LEARNER), mentor=user(MENTOR))

    # A gift in the room, paid in the test checkout and failed: the page the checkout returns to.
    _, payment = gift_checkout.create_gift(user(LEARNER), session.id, gift_service.presets()[0])
    order_id = payment.order_id
    pages.add(
        "learner", f"/payments/dev-checkout/{order_id}", learner.get(f"/payments/dev-checkout/{order_id}")
    )
    url = f"/payments/dev-return?order_id={order_id}&failed=1"
    pages.add("learner", url, learner.get(url))

    # Booking a paid seat: the checkout page and the test gateway's page.
    target = unbooked_paid_session(LEARNER)
    response = post_form(learner, f"/sessions/{target.id}/book", {}, page=f"/sessions/{target.id}")
    assert response.status_code == 302, response.status_code
    checkout = response.headers["Location"]
    page = learner.get(checkout)
    pages.add("learner", checkout, page)
    dev_checkout = re.search(r'href="(/payments/dev-checkout/[^"]+)"', page.get_data(as_text=True)).group(1)
    pages.add("learner", dev_checkout, learner.get(dev_checkout))


def collect_emails(pages, browser):
    """The HTML part of every email sent while the pages were collected, as the development
    outbox serves it (in a sandboxed frame of its message page, which no link follows)."""
    for email_id in db.session.scalars(select(OutboundEmail.id).order_by(OutboundEmail.id)):
        url = f"/dev/outbox/{email_id}/html"
        pages.add("anonymous", url, browser.get(url))


def run_checker(java, pages, folder):
    paths = []
    for index, (_, _, _, html) in enumerate(pages.found):
        path = folder / f"page-{index:04d}.html"
        path.write_text(html, encoding="utf-8")
        paths.append(path)
    result = subprocess.run(  # noqa: S603 - our own arguments
        [
            java,
            "-jar",
            str(VNU_JAR),
            "--errors-only",
            "--format",
            "json",
            "--exit-zero-always",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    by_name = {path.name: page for path, page in zip(paths, pages.found, strict=True)}
    errors = []
    for message in json.loads(result.stderr)["messages"]:
        if ALPINE_ATTRIBUTE.match(message.get("message", "")):
            continue
        # The checker names a page by its file URL: file:/tmp/.../page-0001.html
        persona, url, _, _ = by_name[message["url"].rsplit("/", 1)[-1]]
        errors.append(f"{persona} {url} line {message.get('lastLine')}: {message['message']}")
    return errors


@pytest.fixture
def checker():
    java = shutil.which("java")
    if java is None:
        unavailable("java is not installed (apt-get install default-jre-headless)")
    if not VNU_JAR.is_file():
        unavailable("the Nu HTML Checker is not installed (run npm ci)")
    return java


def test_every_page_is_valid_html(app, checker, tmp_path):
    demo.load_demo()
    pages = Pages(app)
    browsers = {name: signed_in(app, email) for name, (email, _) in PERSONAS.items()}
    # First the pages no link reaches: they leave a live session, a pending booking and emails
    # in the outbox behind, which the crawl then meets as people would.
    collect_unlinked_pages(app, pages, browsers)
    for name, (_, starts) in PERSONAS.items():
        pages.crawl(name, browsers[name], starts)
    assert pages.broken == [], "server errors:\n" + "\n".join(pages.broken)
    collect_emails(pages, browsers["anonymous"])

    errors = run_checker(checker, pages, tmp_path)
    assert errors == [], f"{len(errors)} HTML errors in {len(pages.found)} pages:\n" + "\n".join(errors)

    checked = {endpoint for _, _, endpoint, _ in pages.found}
    pages_of_the_app = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and rule.endpoint != "static" and not rule.endpoint.startswith("api.")
    }
    assert pages_of_the_app - checked - set(NOT_HTML) - set(NOT_CHECKED) == set()


def test_the_favicon_is_a_file_that_browsers_revalidate(client):
    html = client.get("/auth/login").get_data(as_text=True)
    href = re.search(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)">', html).group(1)
    response = client.get(href)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.get_data(as_text=True).startswith("<svg")
    # Like every static file: kept by the browser, asked again with its ETag, answered 304 unchanged.
    etag = response.headers["ETag"]
    response.close()
    again = client.get(href, headers={"If-None-Match": etag})
    assert again.status_code == 304
    again.close()
