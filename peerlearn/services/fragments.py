"""Cached fragments of the pages every visitor sees alike: the landing page's figures, sessions
and mentors, the catalog's and the mentor directory's cards, a mentor's public profile.

A fragment is kept under a key (the page, its filters, the viewer's timezone: cards show times
in it) together with the *version* of the public catalog it was drawn from. Any commit that
changes what those pages show (a session published, edited, cancelled or started, a review
posted or hidden, a profile edited, a mentor suspended...) bumps the version, so the next request
draws the fragment again; nothing is served from an older version. The change is noticed in the
database session itself (``watch``), so no use case has to remember to call anything, and every
such commit is seen, whatever event it records or none.

Seats are not kept in any fragment. Bookings come about once a second under load, and redrawing
every card for each of them cost the web processes about 40 % of their CPU. A card holds a mark
(``seats_badge``: ``<!--seats:ID-->``) where its "N seats left" or "Full" goes; before an HTML
response leaves (``fill_seats``), the marks are replaced from the sessions' current
``seats_taken`` and ``capacity``. Those are kept per process too, under a second counter, the
*seats version*, raised by every commit that takes or gives back a seat (a hold, a confirmation,
a cancellation, an expiry, a refund), and read in the same round trip as the catalog's. So a
booking costs each process one statement (``SELECT id, seats_taken, capacity ... WHERE id IN``)
at its next page with cards, not a redraw, and no page shows a seat count older than its request.
The catalog version is still raised when a seat change fills a session or opens a full one again:
lists that only show sessions with seats (the landing page, the catalog's "has seats" filter)
change which cards they hold. A visitor's session page is kept per ``seats_taken`` of its session
(read for every request anyway): its booking box differs when full.

What may be up to ``FRAGMENT_TTL_SECONDS`` old: what counts bookings or orders by them, since
bookings alone no longer raise the version: the "Most popular" sort's order (its cards' seats
are current), and the landing page's and mentor profiles' counts of learners.

Where the versions live:

- one process (no ``REDIS_URL``): counters in this process;
- with ``REDIS_URL``: counters in Redis, read once per cached request (one MGET) and raised with
  INCR, so a change committed by one process is seen by every other at its next request. The
  HTML itself stays in each process's memory. While Redis cannot be reached the fragments are
  drawn fresh and the seats read on every request (slower, never stale).

A fragment also expires after ``FRAGMENT_TTL_SECONDS`` (30 s by default), for what changes with
the clock alone: a session that starts drops out of "Starting soon". A cached fragment must never
hold anything personal (a CSRF token, the viewer's name, whether they booked, a nonce): the views
cache only what an anonymous visitor in the same timezone would see, and draw the rest per request.
"""

import logging
import re
import threading
import time
from functools import cache as built_once

from flask import current_app, has_request_context, request
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup, escape
from redis import Redis, RedisError
from sqlalchemy import TextClause, bindparam, event, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..formats import viewer_timezone
from ..i18n import current_language
from ..models import Follow, LearningSession, Review, SessionPack, Skill, User, session_skills, user_skills
from .kept import Kept

log = logging.getLogger(__name__)

VERSION_KEY = "peerlearn:fragments:version"
SEATS_VERSION_KEY = "peerlearn:fragments:seats-version"
MAX_ENTRIES = 500  # about 15 MB of pages at most; past this, the oldest quarter is dropped
REDIS_TIMEOUT = 0.25  # seconds: a slow Redis must not hold up a page that can be drawn fresh
REDIS_RECHECK_SECONDS = 5  # after a failure, pages are drawn fresh without asking Redis this long

MAX_SEAT_ENTRIES = 5000  # sessions whose seats are kept; past this the seats are read again

# Tables whose rows the cached fragments show (or count). Bookings are not one of them: a seat
# taken or given back moves the seats version only (see the module's note).
SHOWN_TABLES = frozenset(
    table.name
    for table in (
        LearningSession.__table__,
        SessionPack.__table__,  # the packs on a mentor's profile
        Review.__table__,
        Follow.__table__,
        User.__table__,
        Skill.__table__,
        session_skills,
        user_skills,
    )
)
# Columns of a user no fragment shows: signing in, a new password or a calendar link leave the
# cards as they were.
UNSHOWN_USER_COLUMNS = frozenset(
    {"email", "password_hash", "last_login_at", "calendar_token", "credential_epoch", "timezone", "locale"}
)
STALE = "peerlearn.fragments.stale"
SEATS_STALE = "peerlearn.fragments.seats_stale"
# Marks a statement that changes nothing but seats_taken (services/booking.py): it moves the seats
# version, not the catalog's.
SEATS_ONLY = "peerlearn_seats_only"
SEATS_MARK = re.compile(rb"<!--seats:(\d+)-->")
REQUEST_VERSION = "peerlearn.fragments.version"  # the version this request read, in its environ
WRITES = ("INSERT", "UPDATE", "DELETE", "TRUNCATE")


class FragmentCache:
    """Fragments of one app, by key, each with the catalog version it was drawn from."""

    def __init__(self, redis_url=None, ttl=30):
        self.ttl = ttl
        self.redis = (
            Redis.from_url(redis_url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT)
            if redis_url
            else None
        )
        self._version = 0
        self._seats_version = 0
        self._redis_down_until = 0.0
        self._entries = Kept(MAX_ENTRIES)
        self._lock = threading.Lock()
        self._seats = {}  # session id -> (seats_taken, capacity), for _seats_stamp
        self._seats_stamp = None  # (versions, expires at)

    def version(self):
        """The catalog's version and the seats version, or None when they cannot be known
        (Redis away). One round trip to Redis."""
        if self.redis is None:
            return (self._version, self._seats_version)
        if time.monotonic() < self._redis_down_until:
            return None
        try:
            catalog, seats = self.redis.mget(VERSION_KEY, SEATS_VERSION_KEY)
            return (int(catalog or 0), int(seats or 0))
        except (RedisError, OSError, ValueError) as exc:
            # Not asked again for a while: every page would otherwise wait for the timeout.
            self._redis_down_until = time.monotonic() + REDIS_RECHECK_SECONDS
            log.warning("fragment cache bypassed for %s s: %s", REDIS_RECHECK_SECONDS, exc)
            return None

    def request_version(self):
        """version(), read once per request: a page of several fragments asks Redis once."""
        if not has_request_context():
            return self.version()
        environ = request.environ
        if REQUEST_VERSION not in environ:
            environ[REQUEST_VERSION] = self.version()
        return environ[REQUEST_VERSION]

    def bump(self):
        """Mark every fragment stale, in every process sharing the version."""
        if has_request_context():
            request.environ.pop(REQUEST_VERSION, None)  # this request's later fragments ask again
        with self._lock:
            self._version += 1
        self._entries.clear()
        if self.redis is not None:
            try:
                self.redis.incr(VERSION_KEY)
            except (RedisError, OSError) as exc:
                # Other processes keep their copies until FRAGMENT_TTL_SECONDS runs out.
                log.warning("could not raise the fragment version in Redis: %s", exc)

    def bump_seats(self):
        """Mark every kept seat count stale (the cards' HTML stays), in every process."""
        if has_request_context():
            request.environ.pop(REQUEST_VERSION, None)
        with self._lock:
            self._seats_version += 1
            self._seats, self._seats_stamp = {}, None
        if self.redis is not None:
            try:
                self.redis.incr(SEATS_VERSION_KEY)
            except (RedisError, OSError) as exc:
                log.warning("could not raise the seats version in Redis: %s", exc)

    def get(self, key, build):
        """The value kept under ``key`` for the current version, else ``build()`` kept."""
        version = self.request_version()  # read before building: a change during the build wins
        if version is None:
            return build()
        return self._entries.get(key, version[0], self.ttl, build)

    def seats(self, ids, load):
        """{session id: (seats_taken, capacity)} for ``ids``: those kept for the current
        versions, the rest from ``load(missing ids)`` (one statement), then kept."""
        version = self.request_version()  # read before loading, as for fragments
        if version is None:
            return load(ids)
        now = time.monotonic()
        with self._lock:
            stamp = self._seats_stamp
            if stamp is None or stamp[0] != version or stamp[1] <= now:
                self._seats, self._seats_stamp = {}, (version, now + self.ttl)
            kept = self._seats
            found = {i: kept[i] for i in ids if i in kept}
        missing = [i for i in ids if i not in found]
        if missing:
            loaded = load(missing)
            found.update(loaded)
            with self._lock:
                # Kept only if no newer version replaced the store meanwhile.
                if self._seats is kept and len(kept) + len(loaded) <= MAX_SEAT_ENTRIES:
                    kept.update(loaded)
        return found

    def clear(self):
        self._entries.clear()
        with self._lock:
            self._seats, self._seats_stamp = {}, None


def init_app(app):
    app.extensions["fragments"] = FragmentCache(
        app.config.get("REDIS_URL"), ttl=app.config["FRAGMENT_TTL_SECONDS"]
    )
    app.add_template_global(fragment, "fragment")
    app.add_template_global(seats_badge, "seats_badge")
    app.after_request(fill_seats)
    watch()


def cache():
    return current_app.extensions["fragments"]


def cached(*key, build):
    """``build()``'s value for ``key`` at the catalog's current version (see the module's note),
    kept apart per language: what is drawn in Hindi is never served to an English reader."""
    return cache().get((current_language(), *key), build)


def fragment(*key, caller):
    """``{% call fragment("name", ...) %}...{% endcall %}`` in a template: the block's HTML,
    drawn once per catalog version for each timezone (cards show times in the viewer's) and for
    visitors and signed-in people apart (a few links differ). The block must show nothing else
    that differs between viewers; what it needs from the database is best handed to the page as
    a ``Lazy`` list, which then costs nothing while the fragment is kept."""
    signed_in = bool(current_user and current_user.is_authenticated)
    return cached("html", viewer_timezone(), signed_in, *key, build=caller)  # caller() is Markup


def seats_badge(session):
    """Where a card shows its seats: a mark, filled in per response (``fill_seats``), so a kept
    card never holds a count. Outside a request (nothing would fill it) the badge itself."""
    if has_request_context():
        return Markup(f"<!--seats:{int(session.id)}-->")  # noqa: S704 - an integer only
    return badge_html(session.seats_taken, session.capacity)


def badge_html(seats_taken, capacity):
    left = max(0, capacity - seats_taken)
    if left == 0:
        return Markup('<span class="badge">%s</span>') % _("Full")
    text = ngettext("%(num)d seat left", "%(num)d seats left", left)
    if left <= 3:
        return Markup('<span class="badge border-amber-200 bg-amber-50 text-amber-800">%s</span>') % text
    return Markup('<span class="badge border-emerald-200 bg-emerald-50 text-emerald-700">%s</span>') % text


def current_seats(ids):
    """{session id: (seats_taken, capacity)} as committed, kept per seats version."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    store = current_app.extensions.get("fragments")
    return store.seats(ids, _load_seats) if store is not None else _load_seats(ids)


def _load_seats(ids):
    rows = db.session.execute(_seats_statement(), {"ids": list(ids)})
    return {row.id: (row.seats_taken, row.capacity) for row in rows}


@built_once
def _seats_statement():
    # Built once (SQLAlchemy keeps the cache key on the statement object).
    return select(LearningSession.id, LearningSession.seats_taken, LearningSession.capacity).where(
        LearningSession.id.in_(bindparam("ids", expanding=True))
    )


def fill_seats(response):
    """Replace each card's seats mark in an HTML response with its current badge."""
    if response.mimetype != "text/html" or response.direct_passthrough or response.is_streamed:
        return response
    body = response.get_data()
    if b"<!--seats:" not in body:
        return response
    try:
        seats = current_seats(int(found) for found in SEATS_MARK.findall(body))
    except SQLAlchemyError:
        log.exception("could not read the seats of the cards")
        seats = {}  # no badge rather than a stale one

    def badge(match):
        row = seats.get(int(match.group(1)))
        return badge_html(*row).encode() if row is not None else b""

    response.set_data(SEATS_MARK.sub(badge, body))
    return response


def seats_with(items):
    """Copies of the API's kept session summaries with ``seats_left`` as committed now."""
    seats = current_seats(item["id"] for item in items)
    fresh = []
    for item in items:
        taken, capacity = seats.get(item["id"], (0, item["capacity"]))
        fresh.append({**item, "seats_left": max(0, capacity - taken)})
    return fresh


def seats_moved(seats_taken, capacity, *, taken):
    """Told by the seat counting (services/booking.py) after one seat was taken (``taken``) or
    given back, with the session's counts after it: a session that filled or opened again
    changes which cards the lists of sessions with seats hold, so the catalog version moves at
    commit too. Any other seat change moves only the seats version."""
    if (taken and seats_taken >= capacity) or (not taken and seats_taken == capacity - 1):
        db.session.info[STALE] = True


class Lazy:
    """A value (a list, a result) loaded on first use, for data only a cached fragment needs."""

    _unset = object()

    def __init__(self, load):
        self._load = load
        self._value = Lazy._unset

    def _loaded(self):
        if self._value is Lazy._unset:
            self._value = self._load()
        return self._value

    def __iter__(self):
        return iter(self._loaded())

    def __len__(self):
        return len(self._loaded())

    def __bool__(self):
        return bool(self._loaded())

    def __getitem__(self, index):
        return self._loaded()[index]

    def __str__(self):
        return str(self._loaded())

    def __html__(self):
        value = self._loaded()
        return value.__html__() if hasattr(value, "__html__") else escape(str(value))

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._loaded(), name)


def invalidate():
    """Mark every fragment stale, in this process and (through Redis) every other."""
    store = current_app.extensions.get("fragments")
    if store is not None:
        store.bump()


def watch():
    """Note in the database session when a flush or a bulk statement changes a shown table, and
    bump the version when that transaction commits (not on rollback)."""
    if event.contains(db.session, "after_flush", _note_flush):
        return
    event.listen(db.session, "after_flush", _note_flush)
    event.listen(db.session, "do_orm_execute", _note_statement)
    event.listen(db.session, "after_commit", _after_commit)
    event.listen(db.session, "after_rollback", _after_rollback)


def _shows(instance, changed):
    table = getattr(type(instance), "__table__", None)
    if table is None or table.name not in SHOWN_TABLES:
        return False
    if isinstance(instance, User) and changed:
        state = inspect(instance)
        return any(
            state.attrs[attr.key].history.has_changes()
            for attr in state.mapper.column_attrs
            if attr.key not in UNSHOWN_USER_COLUMNS
        ) or any(state.attrs[key].history.has_changes() for key in ("skills", "interests"))
    return True


def _note_flush(session, flush_context):
    if session.info.get(STALE):
        return
    if (
        any(_shows(instance, False) for instance in session.new)
        or any(_shows(instance, False) for instance in session.deleted)
        or any(_shows(instance, True) for instance in session.dirty)
    ):
        session.info[STALE] = True


def _note_statement(state):
    if state.session.info.get(STALE):
        return
    statement = state.statement
    if state.is_update and state.execution_options.get(SEATS_ONLY):
        state.session.info[SEATS_STALE] = True
        return
    if isinstance(statement, TextClause):
        # Raw SQL names its tables only in its text: any write counts.
        if str(statement).lstrip().upper().startswith(WRITES):
            state.session.info[STALE] = True
        return
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(statement, "table", None)
    if table is not None and getattr(table, "name", None) in SHOWN_TABLES:
        state.session.info[STALE] = True


def _after_commit(session):
    seats_moved = session.info.pop(SEATS_STALE, False)
    if session.info.pop(STALE, False):
        invalidate()  # the seats are kept per catalog version too
    elif seats_moved:
        store = current_app.extensions.get("fragments")
        if store is not None:
            store.bump_seats()


def _after_rollback(session):
    session.info.pop(STALE, None)
    session.info.pop(SEATS_STALE, None)
