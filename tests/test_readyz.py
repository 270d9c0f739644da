"""/readyz: each dependency's state, 503 when a required one is down, never a 500."""

import pytest

from peerlearn.services import readiness, storage
from tests.conftest import free_port
from tests.support.s3 import moto_server, new_bucket, s3_settings

CLOSED_JANUS = {
    "ROOM_MEDIA": "auto",
    "JANUS_TOKEN_SECRET": "token-secret",
    "JANUS_ADMIN_SECRET": "admin-secret",
    "JANUS_ADMIN_KEY": "admin-key",
}


def fresh(app):
    """Forget the cached report, as if its two seconds had passed."""
    app.extensions.pop("peerlearn_readiness", None)


def readyz(app):
    fresh(app)
    return app.test_client().get("/readyz")


def test_embedded_mode_needs_only_the_database(app):
    response = readyz(app)
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {
        "state": "up",
        "detail": body["checks"]["database"]["detail"],
        "required": True,
    }
    assert body["checks"]["redis"]["state"] == "not configured"
    assert body["checks"]["worker"]["state"] == "inline"
    assert body["checks"]["cron"]["state"] == "inline"
    assert body["checks"]["janus"]["state"] == "not configured"
    assert body["checks"]["storage"] == {
        "state": "up",
        "detail": "local: folder made on the first upload",
        "required": False,
    }
    assert response.headers["Cache-Control"] == "no-store"


def test_a_missing_table_is_a_503_not_a_500(app):
    from sqlalchemy import text

    from peerlearn.extensions import db

    db.session.execute(text("ALTER TABLE users RENAME TO users_away"))
    db.session.commit()
    try:
        response = readyz(app)
    finally:
        db.session.execute(text("ALTER TABLE users_away RENAME TO users"))
        db.session.commit()
    assert response.status_code == 503
    database = response.get_json()["checks"]["database"]
    assert database["state"] == "down"
    assert database["detail"].startswith("ProgrammingError") or database["detail"].startswith(
        "OperationalError"
    )


def test_redis_on_a_closed_port_is_a_503_with_detail(app):
    app.config.update(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", JOBS_INLINE=False)
    response = readyz(app)
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["database"]["state"] == "up"
    assert checks["redis"]["state"] == "down" and checks["redis"]["required"]
    assert checks["redis"]["detail"].startswith("ConnectionError")
    # The heartbeats live in the same Redis: down too, with the error's class.
    assert checks["worker"]["state"] == "down" and checks["worker"]["detail"].startswith("ConnectionError")
    assert checks["cron"]["state"] == "down"


def test_a_message_queue_alone_is_checked_but_jobs_stay_inline(app):
    app.config.update(SOCKETIO_MESSAGE_QUEUE=f"redis://127.0.0.1:{free_port()}/0")
    response = readyz(app)
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["redis"]["state"] == "down"
    assert checks["worker"]["state"] == "inline"


def closed_janus():
    port = free_port()
    instance = {
        "name": "janus-1",
        "api": f"http://127.0.0.1:{port}/janus",
        "admin": f"http://127.0.0.1:{port}/admin",
        "public": "ws://127.0.0.1/janus-ws",
    }
    return dict(CLOSED_JANUS, JANUS_INSTANCES=[instance])


@pytest.mark.redis
def test_janus_on_a_closed_port_is_a_503(redis_app):
    from rq import SimpleWorker

    from peerlearn.tasks import get_queue, redis_connection

    redis_app.config.update(closed_janus())
    worker = SimpleWorker([get_queue("emails")], connection=redis_connection())
    worker.register_birth()
    readiness.beat_cron(redis_connection(), redis_app.config["READYZ_HEARTBEAT_SECONDS"])
    try:
        response = readyz(redis_app)
    finally:
        worker.register_death()
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert [name for name, check in checks.items() if check["state"] != "up"] == ["janus"]
    assert checks["janus"]["required"]
    assert checks["janus"]["detail"].startswith("janus-1: JanusUnavailable")
    assert "Connection refused" in checks["janus"]["detail"]


def test_the_embedded_mode_reports_its_janus_but_does_not_need_it(app):
    app.config.update(closed_janus())
    response = readyz(app)
    assert response.status_code == 200
    janus = response.get_json()["checks"]["janus"]
    assert janus["state"] == "down" and not janus["required"]


def test_janus_is_not_required_for_mesh_rooms(app):
    app.config.update(CLOSED_JANUS, ROOM_MEDIA="mesh")
    response = readyz(app)
    assert response.status_code == 200
    assert response.get_json()["checks"]["janus"] == {
        "state": "not configured",
        "detail": "ROOM_MEDIA=mesh: browser to browser",
        "required": False,
    }


def test_janus_answering(janus_app):
    response = readyz(janus_app)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["checks"]["janus"]["state"] == "up"


def test_a_check_that_raises_is_down_with_its_class(app, monkeypatch):
    def broken():
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(readiness, "check_database", broken)
    response = readyz(app)
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"]["detail"] == "ZeroDivisionError: division by zero"


def test_the_report_is_kept_two_seconds(app, monkeypatch):
    calls = []
    clock = [100.0]
    real = readiness.run_checks

    def counted(config):
        calls.append(1)
        return real(config)

    monkeypatch.setattr(readiness, "run_checks", counted)
    fresh(app)
    for _ in range(5):
        readiness.report(now=lambda: clock[0])
    assert len(calls) == 1
    clock[0] += readiness.CACHE_SECONDS
    readiness.report(now=lambda: clock[0])
    assert len(calls) == 2


# ----- with a real Redis


@pytest.mark.redis
def test_queued_jobs_need_a_worker_and_the_cron_heartbeat(redis_app):
    from rq import SimpleWorker

    from peerlearn.tasks import get_queue, redis_connection

    response = readyz(redis_app)
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["redis"]["state"] == "up"
    assert checks["worker"] == {"state": "down", "detail": "no RQ worker registered", "required": True}
    assert checks["cron"]["state"] == "down"

    worker = SimpleWorker([get_queue("emails")], connection=redis_connection())
    worker.register_birth()
    try:
        checks = readyz(redis_app).get_json()["checks"]
        assert checks["worker"]["state"] == "up"
        assert checks["worker"]["detail"] == "1 worker(s) on emails"
        assert checks["cron"]["state"] == "down"

        readiness.beat_cron(redis_connection(), redis_app.config["READYZ_HEARTBEAT_SECONDS"])
        response = readyz(redis_app)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["checks"]["cron"]["state"] == "up"
        ttl = redis_connection().ttl(readiness.CRON_HEARTBEAT_KEY)
        assert 0 < ttl <= redis_app.config["READYZ_HEARTBEAT_SECONDS"]
    finally:
        worker.register_death()

    # A worker restarting (gone for a few seconds) keeps the site ready for the grace period ...
    response = readyz(redis_app)
    assert response.status_code == 200, response.get_json()
    worker_check = response.get_json()["checks"]["worker"]
    assert worker_check["state"] == "up" and "restarting" in worker_check["detail"]
    # ... and past it, no worker is down.
    redis_connection().delete(readiness.WORKER_SEEN_KEY)
    checks = readyz(redis_app).get_json()["checks"]
    assert checks["worker"]["state"] == "down"


@pytest.mark.redis
def test_without_a_grace_period_a_worker_gone_is_down_at_once(redis_app):
    from rq import SimpleWorker

    from peerlearn.tasks import get_queue, redis_connection

    redis_app.config["READYZ_WORKER_GRACE_SECONDS"] = 0
    worker = SimpleWorker([get_queue("emails")], connection=redis_connection())
    worker.register_birth()
    try:
        assert readyz(redis_app).get_json()["checks"]["worker"]["state"] == "up"
    finally:
        worker.register_death()
    assert readyz(redis_app).get_json()["checks"]["worker"]["state"] == "down"
    assert not redis_connection().exists(readiness.WORKER_SEEN_KEY)


@pytest.mark.redis
def test_a_worker_whose_heartbeat_stopped_is_down(redis_app):
    from datetime import UTC, datetime, timedelta

    from rq import SimpleWorker
    from rq.utils import utcformat

    from peerlearn.tasks import get_queue, redis_connection

    worker = SimpleWorker([get_queue("default")], connection=redis_connection())
    worker.register_birth()
    stale = datetime.now(UTC) - timedelta(seconds=worker.worker_ttl + 120)
    redis_connection().hset(worker.key, "last_heartbeat", utcformat(stale))
    try:
        checks = readyz(redis_app).get_json()["checks"]
    finally:
        worker.register_death()
    assert checks["worker"] == {
        "state": "down",
        "detail": "no RQ worker with a recent heartbeat",
        "required": True,
    }


@pytest.mark.redis
def test_the_cron_scheduler_beats_on_each_tick(redis_app, monkeypatch):
    """worker.py cron's loop records the heartbeat /readyz reads."""
    from peerlearn.tasks import redis_connection
    from peerlearn.tasks.worker import CronScheduler

    scheduler = CronScheduler(connection=redis_connection(), name="readyz-test")

    def stop_after_one_tick(_seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr("peerlearn.tasks.worker.time.sleep", stop_after_one_tick)
    monkeypatch.setattr(scheduler, "calculate_sleep_interval", lambda: 60)
    monkeypatch.setattr(scheduler, "_install_signal_handlers", lambda: None)
    assert redis_connection().get(readiness.CRON_HEARTBEAT_KEY) is None
    scheduler.start()
    assert redis_connection().get(readiness.CRON_HEARTBEAT_KEY) is not None
    fresh(redis_app)
    assert readiness.report()[1]["cron"]["state"] == "up"


# ----- stored files


@pytest.fixture(scope="module")
def s3_endpoint():
    yield from moto_server()


def test_a_bucket_that_answers_is_up_and_required(app, s3_endpoint):
    app.config.update(s3_settings(s3_endpoint, new_bucket(s3_endpoint)))
    response = readyz(app)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["checks"]["storage"] == {
        "state": "up",
        "detail": "s3: bucket answers",
        "required": True,
    }


def test_a_bucket_on_a_closed_port_is_a_503_even_in_the_embedded_mode(app):
    app.config.update(s3_settings(f"http://127.0.0.1:{free_port()}", "peerlearn-away"))
    response = readyz(app)
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert [name for name, check in checks.items() if check["state"] == "down"] == ["storage"]
    assert checks["storage"] == {
        "state": "down",
        "detail": "s3: cannot be reached (EndpointConnectionError)",
        "required": True,
    }


def test_a_bucket_that_does_not_exist_is_a_503(app, s3_endpoint):
    app.config.update(s3_settings(s3_endpoint, "peerlearn-never-made"))
    response = readyz(app)
    assert response.status_code == 503
    assert response.get_json()["checks"]["storage"]["detail"] == "s3: no such bucket"


@pytest.mark.parametrize(
    ("code", "status", "state", "detail"),
    [
        # What S3 answers credentials without s3:ListBucket asking for a missing object.
        ("AccessDenied", 403, "up", "s3: bucket answers"),
        ("InvalidAccessKeyId", 403, "down", "s3: credentials refused (InvalidAccessKeyId)"),
        ("SignatureDoesNotMatch", 403, "down", "s3: credentials refused (SignatureDoesNotMatch)"),
        ("PermanentRedirect", 301, "down", "s3: answered 301 PermanentRedirect"),
    ],
)
def test_what_the_bucket_answers_decides_the_state(app, s3_endpoint, code, status, state, detail):
    """moto accepts any credentials, so S3's refusals are played by botocore's Stubber."""
    from botocore.stub import Stubber

    app.config.update(s3_settings(s3_endpoint, new_bucket(s3_endpoint)))
    store = storage.get_storage()
    store.check()  # makes the client the check uses
    with Stubber(store._check_client) as stub:
        stub.add_client_error("get_object", service_error_code=code, http_status_code=status)
        response = readyz(app)
    assert response.get_json()["checks"]["storage"]["state"] == state
    assert response.get_json()["checks"]["storage"]["detail"] == detail
    assert response.status_code == (200 if state == "up" else 503)


def test_an_unwritable_folder_is_reported_but_not_required(app, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    app.config["UPLOAD_DIR"] = str(tmp_path / "a-file" / "uploads")
    response = readyz(app)
    assert response.status_code == 200
    assert response.get_json()["checks"]["storage"] == {
        "state": "down",
        "detail": "local: the folder is not writable",
        "required": False,
    }


def test_the_bucket_is_asked_once_per_cached_report(app, s3_endpoint, monkeypatch):
    app.config.update(s3_settings(s3_endpoint, new_bucket(s3_endpoint)))
    store = storage.get_storage()
    asked = []
    real = store.check
    monkeypatch.setattr(store, "check", lambda: asked.append(1) or real())
    clock = [100.0]
    fresh(app)
    for _ in range(5):
        assert readiness.report(now=lambda: clock[0])[0]
    assert len(asked) == 1
    clock[0] += readiness.CACHE_SECONDS
    readiness.report(now=lambda: clock[0])
    assert len(asked) == 2
