"""Configuration is read when the app is created, and production refuses unsafe settings."""

import json

import pytest

from peerlearn import create_app
from peerlearn.config import ConfigError, normalise_database_url

# A valid key for the production configs built here (production refuses to start without one).
PAYOUT_KEY = "cHJvZHVjdGlvbi10ZXN0cy1wYXlvdXQta2V5LTMyYnk="


@pytest.fixture(autouse=True)
def payout_details_key(monkeypatch):
    monkeypatch.setenv("PAYOUT_DETAILS_KEYS", PAYOUT_KEY)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://learn.example.org")


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/peerlearn")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app("production")


def test_production_refuses_to_start_without_database_url(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        create_app("production")


def test_production_refuses_to_start_without_public_base_url(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/peerlearn")
    monkeypatch.setenv("ALLOW_DEV_GATEWAY", "true")
    monkeypatch.delenv("PUBLIC_BASE_URL")
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL must be set in production"):
        create_app("production", {"SOCKETIO_ASYNC_MODE": "threading"})


def test_links_are_built_on_a_configured_address(monkeypatch, tmp_path):
    """PUBLIC_BASE_URL, else (outside production) the address `flask serve` listens on."""
    monkeypatch.setenv("PEERLEARN_INSTANCE_DIR", str(tmp_path))
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://learn.example.org/")
    assert create_app("development").config["PUBLIC_BASE_URL"] == "https://learn.example.org"
    monkeypatch.delenv("PUBLIC_BASE_URL")
    for name in ("HOST", "PORT"):
        monkeypatch.delenv(name, raising=False)
    assert create_app("development").config["PUBLIC_BASE_URL"] == "http://127.0.0.1:5000"
    monkeypatch.setenv("HOST", "0.0.0.0")  # noqa: S104 - a bind address, not a link
    monkeypatch.setenv("PORT", "8000")
    assert create_app("development").config["PUBLIC_BASE_URL"] == "http://127.0.0.1:8000"
    monkeypatch.setenv("HOST", "::1")
    assert create_app("development").config["PUBLIC_BASE_URL"] == "http://[::1]:8000"
    # The tests' links are on the test client's address, whatever the environment says.
    assert create_app("testing").config["PUBLIC_BASE_URL"] == "http://localhost"
    for bad in ("learn.example.org", "ftp://learn.example.org", "https://", "https://x.org/?a=1"):
        monkeypatch.setenv("PUBLIC_BASE_URL", bad)
        with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
            create_app("development")


def test_production_refuses_a_short_secret(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "short")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/peerlearn")
    with pytest.raises(ConfigError, match="32 characters"):
        create_app("production")


def test_production_refuses_the_dev_gateway_unless_allowed(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/peerlearn")
    for name in ("RAZORPAY_KEY_ID", "RAZORPAY_KEY_SECRET", "ALLOW_DEV_GATEWAY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="RAZORPAY_KEY_ID"):
        create_app("production")
    monkeypatch.setenv("RAZORPAY_KEY_ID", "rzp_live_x")
    monkeypatch.setenv("RAZORPAY_KEY_SECRET", "secret")
    assert create_app("production", {"SOCKETIO_ASYNC_MODE": "threading"}).config["RAZORPAY_KEY_ID"]


def test_production_defaults(monkeypatch):
    monkeypatch.setenv("ALLOW_DEV_GATEWAY", "true")
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgres://user@db/peerlearn")
    monkeypatch.delenv("SOCKETIO_ASYNC_MODE", raising=False)
    app = create_app("production", {"SOCKETIO_ASYNC_MODE": "threading"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://user@db/peerlearn"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert "dev" not in app.blueprints  # no outbox in production
    from peerlearn.config import ProductionConfig

    assert ProductionConfig.load()["SOCKETIO_ASYNC_MODE"] == "gevent"


def test_environment_is_read_at_create_time(monkeypatch, tmp_path):
    monkeypatch.setenv("PEERLEARN_INSTANCE_DIR", str(tmp_path))
    monkeypatch.setenv("PASSWORD_RESET_MINUTES", "15")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    app = create_app("development")
    assert app.config["PASSWORD_RESET_MINUTES"] == 15
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'peerlearn.sqlite3'}"
    assert app.config["JOBS_INLINE"] is False
    assert app.config["SOCKETIO_MESSAGE_QUEUE"] == "redis://127.0.0.1:1/0"
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:1/0"
    # The embedded mode keeps a generated secret under the instance folder across restarts.
    assert (tmp_path / "secret_key").read_text() == app.config["SECRET_KEY"]
    assert create_app("development").config["SECRET_KEY"] == app.config["SECRET_KEY"]
    monkeypatch.delenv("REDIS_URL")
    assert create_app("development").config["JOBS_INLINE"] is True


def test_bad_values_are_refused(monkeypatch):
    monkeypatch.setenv("SOCKETIO_ASYNC_MODE", "tornado")
    with pytest.raises(ConfigError, match="SOCKETIO_ASYNC_MODE"):
        create_app("testing")
    monkeypatch.setenv("SOCKETIO_ASYNC_MODE", "threading")
    monkeypatch.setenv("PASSWORD_RESET_MINUTES", "soon")
    with pytest.raises(ConfigError, match="PASSWORD_RESET_MINUTES"):
        create_app("testing")
    with pytest.raises(ConfigError, match="unknown PEERLEARN_ENV"):
        create_app("staging")


def test_database_url_normalisation():
    assert normalise_database_url("postgres://a@b/c") == "postgresql+psycopg://a@b/c"
    assert normalise_database_url("postgresql://a@b/c") == "postgresql+psycopg://a@b/c"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_queued_jobs_need_redis(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("JOBS_INLINE", "false")
    with pytest.raises(ConfigError, match="REDIS_URL"):
        create_app("development")


def test_forwarded_headers_are_trusted_only_from_configured_proxies(monkeypatch, tmp_path):
    """Behind one proxy, the outbox (loopback only) sees the real client, not the proxy."""
    monkeypatch.setenv("PEERLEARN_INSTANCE_DIR", str(tmp_path))
    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    direct = create_app("testing")
    with direct.app_context():
        from peerlearn.extensions import db

        db.create_all()
        # Without PROXY_COUNT the header is ignored: the caller is the loopback proxy itself.
        assert direct.test_client().get("/dev/outbox", headers=forwarded).status_code == 200
        db.session.remove()
        db.engine.dispose()
    monkeypatch.setenv("PROXY_COUNT", "1")
    proxied = create_app("testing")
    assert proxied.test_client().get("/dev/outbox", headers=forwarded).status_code == 404


def test_media_settings_are_checked(monkeypatch):
    monkeypatch.setenv("ROOM_MEDIA", "sfu")
    with pytest.raises(ConfigError, match="ROOM_MEDIA"):
        create_app("development")
    monkeypatch.setenv("ROOM_MEDIA", "auto")
    monkeypatch.setenv("JANUS_INSTANCES", '[{"name": "a", "api": "http://127.0.0.1:8088/janus"}]')
    with pytest.raises(ConfigError, match="lacks admin, public"):
        create_app("development")
    one = {"name": "a", "api": "http://j/janus", "admin": "http://j/admin", "public": "wss://x/janus"}
    monkeypatch.setenv("JANUS_INSTANCES", json.dumps([one, one]))
    with pytest.raises(ConfigError, match="names must differ"):
        create_app("development")
    monkeypatch.setenv("JANUS_INSTANCES", json.dumps([one]))
    for name in ("JANUS_TOKEN_SECRET", "JANUS_ADMIN_SECRET", "JANUS_ADMIN_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="JANUS_TOKEN_SECRET must be set"):
        create_app("development")
    for name in ("JANUS_TOKEN_SECRET", "JANUS_ADMIN_SECRET", "JANUS_ADMIN_KEY"):
        monkeypatch.setenv(name, "s" * 32)
    assert create_app("development").config["JANUS_INSTANCES"] == [one]


def test_production_rooms_need_janus_or_an_explicit_mesh(monkeypatch):
    monkeypatch.setenv("ALLOW_DEV_GATEWAY", "true")
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/peerlearn")
    monkeypatch.delenv("ALLOW_MESH_ROOMS", raising=False)
    monkeypatch.delenv("JANUS_INSTANCES", raising=False)
    monkeypatch.setenv("ROOM_MEDIA", "janus")
    with pytest.raises(ConfigError, match="ROOM_MEDIA=janus needs JANUS_INSTANCES"):
        create_app("production", {"SOCKETIO_ASYNC_MODE": "threading"})
    monkeypatch.setenv("ROOM_MEDIA", "auto")
    app = create_app("production", {"SOCKETIO_ASYNC_MODE": "threading"})
    assert app.config["ALLOW_MESH_ROOMS"] is False  # rooms refuse to open until Janus is configured
    monkeypatch.setenv("ALLOW_MESH_ROOMS", "true")
    assert create_app("production", {"SOCKETIO_ASYNC_MODE": "threading"}).config["ALLOW_MESH_ROOMS"] is True


def test_production_refuses_to_start_without_payout_details_keys(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/peerlearn")
    monkeypatch.setenv("ALLOW_DEV_GATEWAY", "true")
    monkeypatch.delenv("PAYOUT_DETAILS_KEYS")
    with pytest.raises(ConfigError, match="PAYOUT_DETAILS_KEYS must be set in production"):
        create_app("production", {"SOCKETIO_ASYNC_MODE": "threading"})
    monkeypatch.setenv("PAYOUT_DETAILS_KEYS", "not-a-fernet-key")
    with pytest.raises(ConfigError, match="key 1 is not a Fernet key"):
        create_app("production", {"SOCKETIO_ASYNC_MODE": "threading"})
    from cryptography.fernet import Fernet

    new = Fernet.generate_key().decode()
    monkeypatch.setenv("PAYOUT_DETAILS_KEYS", f" {new} , {PAYOUT_KEY} ")
    app = create_app("production", {"SOCKETIO_ASYNC_MODE": "threading"})
    assert app.config["PAYOUT_DETAILS_KEYS"] == [new, PAYOUT_KEY]  # the first encrypts


def test_the_embedded_mode_keeps_a_payout_details_key_under_instance(monkeypatch, tmp_path):
    monkeypatch.delenv("PAYOUT_DETAILS_KEYS")
    monkeypatch.setenv("PEERLEARN_INSTANCE_DIR", str(tmp_path))
    keys = create_app("development").config["PAYOUT_DETAILS_KEYS"]
    assert keys == [(tmp_path / "payout_details_key").read_text()]
    assert (tmp_path / "payout_details_key").stat().st_mode & 0o777 == 0o600
    assert create_app("development").config["PAYOUT_DETAILS_KEYS"] == keys


def test_storage_settings_are_checked(monkeypatch, tmp_path):
    monkeypatch.setenv("PEERLEARN_INSTANCE_DIR", str(tmp_path))
    for name in ("S3_BUCKET", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY", "S3_TIMEOUT_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STORAGE_BACKEND", "gcs")
    with pytest.raises(ConfigError, match="STORAGE_BACKEND must be local or s3"):
        create_app("development")
    monkeypatch.setenv("STORAGE_BACKEND", "s3")
    with pytest.raises(ConfigError, match="STORAGE_BACKEND=s3 needs S3_BUCKET"):
        create_app("development")
    monkeypatch.setenv("S3_BUCKET", "peerlearn-files")
    monkeypatch.setenv("S3_ACCESS_KEY_ID", "AKIAEXAMPLE")
    with pytest.raises(ConfigError, match="set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither"):
        create_app("development")
    monkeypatch.delenv("S3_ACCESS_KEY_ID")
    monkeypatch.setenv("S3_SECRET_ACCESS_KEY", "example-secret")
    with pytest.raises(ConfigError, match="set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither"):
        create_app("development")
    monkeypatch.setenv("S3_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("S3_TIMEOUT_SECONDS", "0")
    with pytest.raises(ConfigError, match="S3_TIMEOUT_SECONDS must be at least 1"):
        create_app("development")
    monkeypatch.setenv("S3_TIMEOUT_SECONDS", "3")
    app = create_app("development")
    assert app.config["STORAGE_BACKEND"] == "s3"
    assert app.extensions["storage"].describe() == "S3 bucket peerlearn-files"
    # Neither key: boto3 finds credentials itself (an instance role, ~/.aws).
    monkeypatch.delenv("S3_ACCESS_KEY_ID")
    monkeypatch.delenv("S3_SECRET_ACCESS_KEY")
    assert create_app("development").config["S3_ACCESS_KEY_ID"] is None


def test_production_refuses_a_bucket_without_its_name(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/peerlearn")
    monkeypatch.setenv("ALLOW_DEV_GATEWAY", "true")
    monkeypatch.setenv("STORAGE_BACKEND", "s3")
    monkeypatch.delenv("S3_BUCKET", raising=False)
    with pytest.raises(ConfigError, match="STORAGE_BACKEND=s3 needs S3_BUCKET"):
        create_app("production", {"SOCKETIO_ASYNC_MODE": "threading"})
