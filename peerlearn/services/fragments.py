"""Cached fragments of the pages every visitor sees alike: the landing page's figures, sessions
and mentors, the catalog's and the mentor directory's cards, a mentor's public profile.

A fragment is kept under a key (the page, its filters, the viewer's timezone: cards show times
in it) together with the *version* of the public catalog it was drawn from. Any commit that
changes what those pages show (a session published, edited, cancelled or started, a seat taken
or given back, a review posted or hidden, a profile edited, a mentor suspended...) bumps the
version, so the next request draws the fragment again; nothing is served from an older version.
The change is noticed in the database session itself (``watch``), so no use case has to
remember to call anything, and every such commit is seen, whatever event it records or none.

Where the version lives:

- one process (no ``REDIS_URL``): a counter in this process;
- with ``REDIS_URL``: a counter in Redis, read once per cached request and raised with INCR, so
  a change committed by one process is seen by every other at its next request. The HTML itself
  stays in each process's memory. While Redis cannot be reached the fragments are drawn fresh on
  every request (slower, never stale).

A fragment also expires after ``FRAGMENT_TTL_SECONDS`` (30 s by default), for what changes with
the clock alone: a session that starts drops out of "Starting soon". A cached fragment must never
hold anything personal (a CSRF token, the viewer's name, whether they booked, a nonce): the views
cache only what an anonymous visitor in the same timezone would see, and draw the rest per request.
"""

import logging
import threading
import time

from flask import current_app, has_request_context, request
from flask_login import current_user
from markupsafe import escape
from redis import Redis, RedisError
from sqlalchemy import TextClause, event, inspect

from ..extensions import db
from ..formats import viewer_timezone
from ..models import Booking, Follow, LearningSession, Review, Skill, User, session_skills, user_skills
from .kept import Kept

log = logging.getLogger(__name__)

VERSION_KEY = "peerlearn:fragments:version"
MAX_ENTRIES = 500  # about 15 MB of pages at most; past this, the oldest quarter is dropped
REDIS_TIMEOUT = 0.25  # seconds: a slow Redis must not hold up a page that can be drawn fresh
REDIS_RECHECK_SECONDS = 5  # after a failure, pages are drawn fresh without asking Redis this long

# Tables whose rows the cached fragments show (or count).
SHOWN_TABLES = frozenset(
    table.name
    for table in (
        LearningSession.__table__,
        Booking.__table__,
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
    {"email", "password_hash", "last_login_at", "calendar_token", "credential_epoch", "timezone"}
)
STALE = "peerlearn.fragments.stale"
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
        self._redis_down_until = 0.0
        self._entries = Kept(MAX_ENTRIES)
        self._lock = threading.Lock()

    def version(self):
        """The catalog's version, or None when it cannot be known (Redis away)."""
        if self.redis is None:
            return self._version
        if time.monotonic() < self._redis_down_until:
            return None
        try:
            return int(self.redis.get(VERSION_KEY) or 0)
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

    def get(self, key, build):
        """The value kept under ``key`` for the current version, else ``build()`` kept."""
        version = self.request_version()  # read before building: a change during the build wins
        if version is None:
            return build()
        return self._entries.get(key, version, self.ttl, build)

    def clear(self):
        self._entries.clear()


def init_app(app):
    app.extensions["fragments"] = FragmentCache(
        app.config.get("REDIS_URL"), ttl=app.config["FRAGMENT_TTL_SECONDS"]
    )
    app.add_template_global(fragment, "fragment")
    watch()


def cache():
    return current_app.extensions["fragments"]


def cached(*key, build):
    """``build()``'s value for ``key`` at the catalog's current version (see the module's note)."""
    return cache().get(key, build)


def fragment(*key, caller):
    """``{% call fragment("name", ...) %}...{% endcall %}`` in a template: the block's HTML,
    drawn once per catalog version for each timezone (cards show times in the viewer's) and for
    visitors and signed-in people apart (a few links differ). The block must show nothing else
    that differs between viewers; what it needs from the database is best handed to the page as
    a ``Lazy`` list, which then costs nothing while the fragment is kept."""
    signed_in = bool(current_user and current_user.is_authenticated)
    return cached("html", viewer_timezone(), signed_in, *key, build=caller)  # caller() is Markup


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
    if session.info.pop(STALE, False):
        invalidate()


def _after_rollback(session):
    session.info.pop(STALE, None)
