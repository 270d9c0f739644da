"""Shared fixtures: app, db, client, runner, auth helpers, factories and service checks.

Without TEST_DATABASE_URL the suite runs on in-memory SQLite. With it (CI uses PostgreSQL) every
test runs there. PEERLEARN_REQUIRE_SERVICES=1 turns "service unavailable" skips into failures.
"""

import contextvars
import os
import re
import socket

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from peerlearn import create_app
from peerlearn.extensions import db
from tests.support.routing import remember_url_builders
from tests.support.template_code import share_template_code

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def pytest_configure(config):
    # A new app for every test: compile each URL rule's builder once per run, not once per app.
    remember_url_builders()


def services_required():
    return os.environ.get("PEERLEARN_REQUIRE_SERVICES") == "1"


def unavailable(reason):
    """Skip (or, when services are required, fail) a test whose service is missing."""
    if services_required():
        pytest.fail(f"required service unavailable: {reason}")
    pytest.skip(reason)


def free_port():
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url():
    return os.environ.get("TEST_DATABASE_URL", "sqlite://")


@pytest.fixture(scope="session")
def database_url():
    return _database_url()


@pytest.fixture(scope="session")
def _postgres_schema(database_url):
    """On PostgreSQL: build the schema once per run, from scratch, and drop it at the end."""
    if database_url.startswith("sqlite"):
        yield False
        return
    app = create_app("testing")
    with app.app_context():
        try:
            db.session.execute(text("SELECT 1"))
        except Exception as exc:  # pragma: no cover - depends on the machine
            unavailable(f"PostgreSQL at TEST_DATABASE_URL is not reachable: {exc}")
        db.drop_all()
        db.create_all()
        db.session.remove()
    yield True
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


# Sequences a test has drawn from, back to their start: the next test's first row gets id 1 again.
RESTART_SEQUENCES = text(
    "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, start_value, false)"
    " FROM pg_sequences WHERE schemaname = current_schema() AND last_value IS NOT NULL"
)


def empty_postgres_tables():
    """Leave the PostgreSQL schema as the next test expects it: every table empty, ids from 1.

    DELETE, children first, rather than TRUNCATE: a test leaves a few rows, and deleting them is
    a tenth of the time TRUNCATE takes to give each of the tables new files (about 12 ms against
    100 ms, on every test of the run). Should a DELETE be refused, TRUNCATE ... CASCADE still
    empties everything.
    """
    tables = [table.name for table in reversed(db.metadata.sorted_tables)]
    try:
        deletes = "; ".join(f'DELETE FROM "{name}"' for name in tables)  # noqa: S608 - the models' own table names
        db.session.execute(text(deletes))
        db.session.commit()
    except Exception:
        db.session.rollback()
        names = ", ".join(f'"{name}"' for name in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        db.session.commit()
    db.session.execute(RESTART_SEQUENCES)
    db.session.commit()


class IsolatedClient(FlaskClient):
    """A test client whose requests get their own app context, as in production.

    The test itself holds an app context (to use db.session); without this, Flask would reuse
    it for every request, sharing ``g`` (the logged-in user, the CSRF token) between requests.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def app(tmp_path, _postgres_schema):
    app = create_app(
        "testing",
        {"UPLOAD_DIR": str(tmp_path / "uploads"), "INSTANCE_DIR": str(tmp_path)},
    )
    app.test_client_class = IsolatedClient
    share_template_code(app)
    with app.app_context():
        if not _postgres_schema:
            db.create_all()
        yield app
        db.session.remove()
        if _postgres_schema:
            empty_postgres_tables()
        else:
            db.drop_all()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def threaded_app(app, database_url, tmp_path):
    """An app whose threads get their own connections: the suite's PostgreSQL, or else a SQLite
    file (in-memory SQLite shares one connection between threads, so it cannot race)."""
    if not database_url.startswith("sqlite"):
        yield app
        return
    file_app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'race.sqlite3'}"})
    file_app.test_client_class = IsolatedClient
    share_template_code(file_app)
    with file_app.app_context():
        db.create_all()
        yield file_app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def extract_csrf(html):
    match = CSRF_META.search(html) or CSRF_INPUT.search(html)
    assert match, "page has no CSRF token"
    return next(g for g in match.groups() if g)


class AuthActions:
    """Drive the real pages: the same requests a browser sends, CSRF token included."""

    def __init__(self, client):
        self.client = client

    def csrf(self, path="/auth/login"):
        return extract_csrf(self.client.get(path).get_data(as_text=True))

    def login(self, email, password="correct-horse-battery", *, remember=False, follow=False):  # noqa: S107 - a test's own credential, not a secret
        token = self.csrf("/auth/login")
        data = {"email": email, "password": password, "csrf_token": token}
        if remember:
            data["remember"] = "y"
        return self.client.post("/auth/login", data=data, follow_redirects=follow)

    def logout(self):
        token = self.csrf("/")
        return self.client.post("/auth/logout", data={"csrf_token": token})

    def register(self, **fields):
        token = self.csrf("/auth/register")
        data = {
            "role": "learner",
            "name": "Test Person",
            "email": "person@example.com",
            "password": "correct-horse-battery",
            "timezone": "Asia/Kolkata",
            "csrf_token": token,
        }
        data.update(fields)
        return self.client.post("/auth/register", data=data)


@pytest.fixture
def auth(client):
    return AuthActions(client)


class IsolatedSocketClient:
    """A Socket.IO test client that runs each call in its own context, like IsolatedClient:
    handlers must not reuse the test's app context (and its ``g``, where Flask-Login caches the
    user)."""

    def __init__(self, app, flask_client):
        from peerlearn.extensions import socketio

        self._client = self._run(socketio.test_client, app, flask_test_client=flask_client)

    @staticmethod
    def _run(func, *args, **kwargs):
        return contextvars.Context().run(func, *args, **kwargs)

    def __getattr__(self, name):
        attr = getattr(self._client, name)
        if callable(attr):
            return lambda *args, **kwargs: self._run(attr, *args, **kwargs)
        return attr


@pytest.fixture
def connect(app):
    """A signed-in socket for the user with this email (each its own browser)."""
    clients = []

    def open_socket(email):
        browser = app.test_client()
        response = AuthActions(browser).login(email)
        assert response.status_code == 302
        sio = IsolatedSocketClient(app, browser)
        assert sio.is_connected()
        clients.append(sio)
        return sio

    yield open_socket
    for sio in clients:
        if sio.is_connected():
            sio.disconnect()


@pytest.fixture
def make_user(app):
    """Create a user directly (verified unless told otherwise), with a known password."""
    from tests.factories import UserFactory

    def make(**kwargs):
        return UserFactory(**kwargs)

    return make


@pytest.fixture
def api_token(client):
    def login(email, password="correct-horse-battery"):  # noqa: S107 - a test's own credential, not a secret
        response = client.post("/api/login/", json={"email": email, "password": password})
        assert response.status_code == 200, response.get_json()
        return response.get_json()["data"]["token"]

    return login


@pytest.fixture(scope="session")
def janus_binary():
    from peerlearn.media.embedded import find_binary, library_dir

    binary = find_binary()
    if binary is None or library_dir() is None:
        unavailable("Janus is not installed (apt-get install janus)")
    return binary


def start_janus(folder, secrets=None):
    """A Janus on loopback for API tests (no media flows through it: WebRTC tests run theirs
    in the private network of tests/browser). ``secrets``: share another instance's."""
    import json
    from pathlib import Path

    from peerlearn.media.embedded import LocalJanus, find_binary, library_dir

    if secrets is not None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / "secrets.json").write_text(json.dumps(secrets))
    return LocalJanus(folder, find_binary(), library_dir()).start()


def janus_settings(*locals_):
    first = locals_[0]
    return {
        "JANUS_INSTANCES": [
            {
                "name": f"janus-{index}",
                "api": local.instance.api,
                "admin": local.instance.admin,
                "public": local.instance.public,
            }
            for index, local in enumerate(locals_, start=1)
        ],
        "JANUS_TOKEN_SECRET": first.secrets["token_secret"],
        "JANUS_ADMIN_SECRET": first.secrets["admin_secret"],
        "JANUS_ADMIN_KEY": first.secrets["admin_key"],
    }


@pytest.fixture(scope="session")
def local_janus(janus_binary, tmp_path_factory):
    local = start_janus(tmp_path_factory.mktemp("janus"))
    yield local
    local.stop()


@pytest.fixture
def janus_app(app, local_janus):
    """The test app with rooms on a real (loopback) Janus."""
    app.config.update(janus_settings(local_janus))
    return app


def reachable_redis_url():
    """TEST_REDIS_URL once its server answers (the test is skipped without it)."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        unavailable("set TEST_REDIS_URL=redis://… to run the Redis tests")
    from redis import Redis
    from redis.exceptions import RedisError

    client = Redis.from_url(url)
    try:
        client.ping()
    except RedisError as exc:
        unavailable(f"Redis at TEST_REDIS_URL is not reachable: {exc}")
    finally:
        client.close()
    return url


@pytest.fixture
def redis_url():
    """TEST_REDIS_URL, its database flushed before and after the test (skipped without it)."""
    from redis import Redis

    url = reachable_redis_url()
    client = Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def redis_app(app, redis_url):
    """The test app, switched to Redis-backed jobs and rate limits."""
    from peerlearn.extensions import limiter

    app.config.update(REDIS_URL=redis_url, JOBS_INLINE=False, RATELIMIT_STORAGE_URI=redis_url)
    limiter.init_app(app)
    yield app
    client = app.extensions.pop("peerlearn_redis", None)
    if client is not None:
        client.close()
