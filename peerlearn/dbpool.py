"""Checking a pooled PostgreSQL connection before it is handed out, without a round trip.

SQLAlchemy's ``pool_pre_ping`` sends ``SELECT 1`` on every checkout: one more wait on the
database for every request and every live-room event that touches it (a chat line paid it beside
its SELECT, INSERT and COMMIT), and more work for PostgreSQL. What it guards against is a
connection the server has ended: a restart, an administrator's ``pg_terminate_backend``, an idle
timeout. A server that ends a connection says so on its socket (a FATAL message, then the
close), so the socket turns readable while the connection sits idle in the pool, where nothing
else is ever waiting to be read. So at checkout:

- a connection whose socket has nothing to read, used within the last ``IDLE_PING_SECONDS``, is
  handed out as it is: a zero-timeout ``select``, no round trip;
- one whose socket is readable, or that was idle for longer (a peer that vanished without a word,
  behind a firewall that forgets idle flows), is pinged, and if that fails the pool is told it is
  gone (``DisconnectionError``): it drops it and opens a new one, and the request never sees it.

SQLite has no server to lose; nothing is attached there.
"""

import logging
import time

from gevent import monkey
from sqlalchemy import event, exc

log = logging.getLogger(__name__)

IDLE_PING_SECONDS = 30
# The operating system's select: gevent's would hand a zero-timeout check to the event loop.
_select = monkey.get_original("select", "select")


def watch(engine):
    """Check ``engine``'s PostgreSQL connections at checkout as the module says."""
    if engine.dialect.name != "postgresql":
        return
    event.listen(engine, "checkin", _checked_in)
    event.listen(engine, "checkout", _checkout)


def _checked_in(_dbapi_connection, record):
    record.info["idle_since"] = time.monotonic()


def _checkout(dbapi_connection, record, _proxy):
    idle_since = record.info.pop("idle_since", None)
    if idle_since is None:  # just opened
        return
    if time.monotonic() - idle_since < IDLE_PING_SECONDS and not _has_word_from_server(dbapi_connection):
        return
    record.info["pings"] = record.info.get("pings", 0) + 1
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        dbapi_connection.rollback()
    except Exception as error:  # any failure: the connection is not usable
        log.info("Dropping a pooled database connection the server ended: %s", error)
        raise exc.DisconnectionError(str(error)) from error


def _has_word_from_server(dbapi_connection):
    """Whether the idle connection's socket has something to read (or is closed)."""
    if dbapi_connection.closed:
        return True
    try:
        fd = dbapi_connection.pgconn.socket
    except Exception:  # no socket left: ended
        return True
    readable, _, _ = _select([fd], [], [], 0)
    return bool(readable)
