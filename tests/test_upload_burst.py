"""A burst of large photo uploads does not stall the production server (gunicorn, one gevent
worker): eight verified accounts upload a 5000×5000 PNG each at once while /healthz is asked
again and again; the health check keeps answering while the photos are decoded, and every upload
gets an answer a client can act on (200, or 429/503 with Retry-After), never a 500.

The figures (latencies, peak memory) come from bench/uploads.py; this test only checks order:
health checks that completed while uploads were still in flight.
"""

import io
import os
import secrets
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet
from PIL import Image

from tests.conftest import free_port
from tests.processes import process_env, start_gunicorn, stop, wait_until_healthy

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
UPLOADERS = 8
PASSWORD = "burst-test-passphrase"  # noqa: S105 - a test's own credential, not a secret
TIMEOUT = 120  # seconds, for anything that should take far less


@pytest.fixture(scope="module")
def big_png(tmp_path_factory):
    """5000×5000 (25 megapixels, the most an avatar may have) of 8-pixel noise blocks: a full
    decode's work in a 2 MB file."""
    path = tmp_path_factory.mktemp("burst") / "big.png"
    noise = Image.frombytes("RGB", (625, 625), os.urandom(625 * 625 * 3))
    noise.resize((5000, 5000), Image.Resampling.NEAREST).save(path, format="PNG", compress_level=1)
    return path.read_bytes()


def seed_accounts(database_url, count):
    """The schema and ``count`` verified accounts; returns their emails."""
    from peerlearn import create_app
    from peerlearn.extensions import db
    from peerlearn.models import User, utcnow
    from peerlearn.services.passwords import hash_password

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url, "SQLALCHEMY_ENGINE_OPTIONS": {}})
    with app.app_context():
        db.create_all()
        password_hash = hash_password(PASSWORD)
        emails = [f"uploader{number}@burst.test" for number in range(count)]
        db.session.add_all(
            User(email=email, name=f"Uploader {n}", password_hash=password_hash, email_verified_at=utcnow())
            for n, email in enumerate(emails)
        )
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return emails


@pytest.fixture
def gevent_server(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'burst.sqlite3'}"
    emails = seed_accounts(database_url, UPLOADERS)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = process_env(
        PEERLEARN_ENV="production",
        PUBLIC_BASE_URL=base,
        SECRET_KEY=secrets.token_hex(32),
        PAYOUT_DETAILS_KEYS=Fernet.generate_key().decode(),
        DATABASE_URL=database_url,
        UPLOAD_DIR=str(tmp_path / "uploads"),
        PEERLEARN_INSTANCE_DIR=str(tmp_path / "instance"),
        SESSION_COOKIE_SECURE="false",
        ALLOW_DEV_GATEWAY="true",
        JOBS_INLINE="true",
        MAIL_BACKEND="log",
        SWEEP_INTERVAL_SECONDS="3600",  # no periodic sweep during the burst
        LOG_LEVEL="WARNING",
    )
    log = (tmp_path / "gunicorn.log").open("w+b")
    server = start_gunicorn(port, env, log)
    try:
        wait_until_healthy(base, server, log)
        yield base, emails
    finally:
        stop(server)
        log.close()


def api_token(base, email):
    response = requests.post(
        f"{base}/api/login/", json={"email": email, "password": PASSWORD}, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]["token"]


def test_health_checks_keep_answering_through_a_burst_of_large_uploads(gevent_server, big_png):
    base, emails = gevent_server
    tokens = [api_token(base, email) for email in emails]
    start = threading.Barrier(UPLOADERS + 1)
    uploads, checks = [], []
    uploads_done = threading.Event()

    def upload(token):
        start.wait(TIMEOUT)
        sent = time.monotonic()
        response = requests.post(
            f"{base}/api/profile/avatar/",
            headers={"Authorization": f"Bearer {token}"},
            files={"avatar": ("big.png", io.BytesIO(big_png), "image/png")},
            timeout=TIMEOUT,
        )
        uploads.append((sent, time.monotonic(), response.status_code, response.headers.get("Retry-After")))

    def poll_health():
        with requests.Session() as http:
            start.wait(TIMEOUT)
            while not uploads_done.is_set():
                sent = time.monotonic()
                status = http.get(f"{base}/healthz", timeout=TIMEOUT).status_code
                checks.append((sent, time.monotonic(), status))

    uploaders = [threading.Thread(target=upload, args=(token,)) for token in tokens]
    poller = threading.Thread(target=poll_health)
    for thread in [*uploaders, poller]:
        thread.start()
    for thread in uploaders:
        thread.join(TIMEOUT)
    uploads_done.set()
    poller.join(TIMEOUT)

    assert len(uploads) == UPLOADERS
    statuses = sorted(status for _sent, _done, status, _retry in uploads)
    assert set(statuses) <= {200, 429, 503}, statuses
    assert 200 in statuses, statuses
    assert all(retry for _sent, _done, status, retry in uploads if status in (429, 503))
    assert all(status == 200 for _sent, _done, status in checks), checks

    # Order, not time: count the health checks asked and answered while uploads were still being
    # processed (after the first upload went out, before the last one was answered). With the
    # decodes on the event loop none is (the worker reads the next request only when it is done
    # with every decode it holds); off the loop they keep coming, hundreds on a quiet machine.
    first_sent = min(sent for sent, _done, _status, _retry in uploads)
    last_done = max(done for _sent, done, _status, _retry in uploads)
    during = [check for check in checks if check[0] >= first_sent and check[1] <= last_done]
    assert len(during) >= UPLOADERS, f"only {len(during)} health checks were answered during the burst"
