"""The bell's unread count, kept per user between the changes that alter it.

Every signed-in page shows the bell, and the notification API answers with the count: reading it
from the database each time is one statement per request for a figure that changes only when a
notification of that user is written, read or taken back. So the count is kept, stamped with the
*version* of the user's notifications it was counted at, and counted again once the version has
moved (the pattern of services/fragments.py, per user):

- one process (no ``REDIS_URL``): the versions and counts live in this process;
- with ``REDIS_URL``: a user's version is a counter in Redis, raised with INCR after each commit
  that changed their notifications, and the count is kept beside it; one MGET reads both, so a
  change committed by one process is seen by every other at its next request. While Redis cannot
  be reached the count is read from the database (slower, never stale).

The changes are noticed in the database session (``watch``), not by the callers: a flush of a
``Notification`` names its user, and a bulk statement names it through the execution option
``unread_of`` (``mark_read`` and ``retract`` set it). Any other write to the notifications table
(a bulk statement without the option, raw SQL) moves every user's version at once. The version
moves after the commit, never on rollback; a count read before the move is stamped with the old
version, so it is never taken for the new one. A kept count also expires after ``TTL_SECONDS``,
in case a process died between its commit and the move.
"""

import logging
import threading
import time

from flask import current_app
from redis import Redis, RedisError
from sqlalchemy import TextClause, event

from ...extensions import db
from ...models import Notification
from ..kept import Kept

log = logging.getLogger(__name__)

TTL_SECONDS = 120
MAX_USERS = 20_000  # counts kept in one process without Redis; past this the oldest quarter goes
REDIS_TIMEOUT = 0.25
REDIS_RECHECK_SECONDS = 5
EPOCH_KEY = "peerlearn:unread:epoch"  # raised when a change names no user: every count is stale
VERSION_KEY = "peerlearn:unread:version:{}"
COUNT_KEY = "peerlearn:unread:count:{}"
CHANGED = "peerlearn.unread.changed"  # session.info: the user ids changed, or ALL
ALL = "all"
WRITES = ("INSERT", "UPDATE", "DELETE", "TRUNCATE")
TABLE = Notification.__tablename__


class UnreadCounts:
    """The kept counts of one app (see the module's note)."""

    def __init__(self, redis_url=None, ttl=TTL_SECONDS):
        self.ttl = ttl
        self.redis = (
            Redis.from_url(redis_url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT)
            if redis_url
            else None
        )
        self._redis_down_until = 0.0
        self._epoch = 0
        self._versions = {}
        self._counts = Kept(MAX_USERS)
        self._lock = threading.Lock()

    def get(self, user_id, count):
        """The kept count of ``user_id`` if it is of their current version, else ``count()``."""
        if self.redis is None:
            return self._get_local(user_id, count)
        if time.monotonic() < self._redis_down_until:
            return count()
        keys = (EPOCH_KEY, VERSION_KEY.format(user_id), COUNT_KEY.format(user_id))
        try:
            epoch, version, kept = self.redis.mget(keys)
        except (RedisError, OSError) as exc:
            self._redis_away(exc)
            return count()
        stamp = f"{int(epoch or 0)}.{int(version or 0)}"
        if kept is not None:
            kept_stamp, _, value = kept.decode().partition(":")
            if kept_stamp == stamp:
                return int(value)
        value = count()
        try:
            self.redis.set(keys[2], f"{stamp}:{value}", ex=self.ttl)
        except (RedisError, OSError) as exc:
            self._redis_away(exc)
        return value

    def _get_local(self, user_id, count):
        stamp = (self._epoch, self._versions.get(user_id, 0))  # read before counting
        return self._counts.get(user_id, stamp, self.ttl, count)

    def changed(self, user_ids):
        """After a commit: the counts of ``user_ids`` (or of everyone, ``ALL``) are stale."""
        with self._lock:
            if user_ids == ALL:
                self._epoch += 1
                self._counts.clear()
            else:
                for user_id in user_ids:
                    self._versions[user_id] = self._versions.get(user_id, 0) + 1
                    self._counts.drop(user_id)
        if self.redis is None:
            return
        try:
            with self.redis.pipeline(transaction=False) as pipe:
                if user_ids == ALL:
                    pipe.incr(EPOCH_KEY)
                else:
                    for user_id in user_ids:
                        key = VERSION_KEY.format(user_id)
                        pipe.incr(key)
                        # Outlives every count stamped with it; gone, it reads 0 again only
                        # once those counts have expired.
                        pipe.expire(key, self.ttl * 2)
                pipe.execute()
        except (RedisError, OSError) as exc:
            # Kept counts elsewhere may be stale until they expire: read fresh here meanwhile.
            self._redis_away(exc)

    def _redis_away(self, exc):
        self._redis_down_until = time.monotonic() + REDIS_RECHECK_SECONDS
        log.warning("unread counts read from the database for %s s: %s", REDIS_RECHECK_SECONDS, exc)


def init_app(app):
    app.extensions["unread_counts"] = UnreadCounts(app.config.get("REDIS_URL"))
    watch()


def kept(user_id, count):
    """``count()``, or the count kept for ``user_id`` at their current version."""
    store = current_app.extensions.get("unread_counts")
    return count() if store is None else store.get(user_id, count)


def watch():
    """Note in the database session which users' notifications a flush or a bulk statement
    changes, and move their versions when the transaction commits (not on rollback)."""
    if event.contains(db.session, "after_flush", _note_flush):
        return
    event.listen(db.session, "after_flush", _note_flush)
    event.listen(db.session, "do_orm_execute", _note_statement)
    event.listen(db.session, "after_commit", _after_commit)
    event.listen(db.session, "after_rollback", _after_rollback)


def _note(session, user_ids):
    noted = session.info.get(CHANGED)
    if noted == ALL:
        return
    if user_ids == ALL:
        session.info[CHANGED] = ALL
    else:
        session.info[CHANGED] = (noted or set()) | set(user_ids)


def _note_flush(session, _flush_context):
    users = {
        instance.user_id
        for instance in (*session.new, *session.dirty, *session.deleted)
        if isinstance(instance, Notification)
    }
    if users:
        _note(session, users)


def _note_statement(state):
    statement = state.statement
    if isinstance(statement, TextClause):
        # Raw SQL names its tables only in its text: any write may have been to notifications.
        if str(statement).lstrip().upper().startswith(WRITES):
            _note(state.session, ALL)
        return
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(statement, "table", None)
    if getattr(table, "name", None) != TABLE:
        return
    user_id = state.execution_options.get("unread_of")
    _note(state.session, ALL if user_id is None else {user_id})


def _after_commit(session):
    changed = session.info.pop(CHANGED, None)
    if changed:
        store = current_app.extensions.get("unread_counts")
        if store is not None:
            store.changed(changed)


def _after_rollback(session):
    session.info.pop(CHANGED, None)
