"""peerlearn.dbpool: a pooled PostgreSQL connection is handed out without a ping while its socket
is quiet, and one the server ended is replaced before anyone uses it."""

import os
import time

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.pool import NullPool

from peerlearn import dbpool
from peerlearn.config import normalise_database_url
from tests.conftest import unavailable

pytestmark = pytest.mark.postgres


@pytest.fixture
def engine():
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base.startswith("postgres"):
        unavailable("set TEST_DATABASE_URL=postgresql://… to check pooled connections on PostgreSQL")
    engine = create_engine(normalise_database_url(base), pool_size=1, max_overflow=0)
    dbpool.watch(engine)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        engine.dispose()
        unavailable(f"PostgreSQL at TEST_DATABASE_URL is not reachable: {exc}")
    yield engine
    engine.dispose()


def backend_and_pings(engine):
    with engine.connect() as connection:
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        pings = connection.info.get("pings", 0)  # the pooled connection's record
    return pid, pings


def test_a_quiet_connection_is_reused_without_a_ping(engine):
    first, _ = backend_and_pings(engine)
    for _ in range(5):
        pid, pings = backend_and_pings(engine)
        assert pid == first
        assert pings == 0


def test_a_connection_the_server_ended_is_replaced_before_use(engine):
    ended, _ = backend_and_pings(engine)
    other = create_engine(engine.url, poolclass=NullPool)
    with other.connect() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": ended}).scalar_one()
        # Gone from the server's list once its goodbye is written to the idle socket.
        deadline = time.monotonic() + 10
        alive = "SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"
        while connection.execute(text(alive), {"pid": ended}).scalar_one() and time.monotonic() < deadline:
            time.sleep(0.05)
    other.dispose()
    pid, _ = backend_and_pings(engine)  # no error: the pool opened a new connection
    assert pid != ended


def test_a_connection_idle_past_the_limit_is_pinged(engine, monkeypatch):
    first, _ = backend_and_pings(engine)
    monkeypatch.setattr(dbpool, "IDLE_PING_SECONDS", 0)
    pid, pings = backend_and_pings(engine)
    assert pid == first  # the ping answered: the same connection
    assert pings == 1


def test_sqlite_is_left_alone(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    dbpool.watch(engine)
    assert not event.contains(engine, "checkout", dbpool._checkout)
    engine.dispose()
