"""Log lines: readable text by default, one JSON object per line with LOG_FORMAT=json, each with the
id of its request (X-Request-ID), carried into socket events and the jobs a request enqueues; and
errors to a Sentry DSN when one is set."""

import contextvars
import gzip
import io
import json
import logging
import re
import subprocess
import sys
import threading
import zlib
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from peerlearn.config import ConfigError, TestingConfig
from peerlearn.logs import TEXT_FORMAT
from tests.conftest import AuthActions
from tests.processes import ROOT, process_env

log = logging.getLogger("peerlearn.tests")

NEW_ID = re.compile(r"[0-9a-f]{32}")


def note_job():
    log.info("job ran")


def _handler():
    """The handler configure_logging put on the root logger."""
    return next(h for h in logging.getLogger().handlers if getattr(h, "_peerlearn", False))


@pytest.fixture
def log_output(app):
    """Everything the app's log handler writes during the test."""
    stream = io.StringIO()
    previous = _handler().setStream(stream)
    yield stream
    _handler().setStream(previous)


@pytest.fixture
def json_app(monkeypatch, request):
    """The test app, built with LOG_FORMAT=json in the environment."""
    monkeypatch.setenv("LOG_FORMAT", "json")
    yield request.getfixturevalue("app")
    _handler().setFormatter(logging.Formatter(TEXT_FORMAT))  # as every other test's app has it


@pytest.fixture
def logged_view(app):
    """/logged logs a line with extra fields and an exception, then answers."""

    def logged():
        log.info("seat booked", extra={"session_id": 7, "seats": [1, 2]})
        try:
            raise ValueError("no seat left")
        except ValueError:
            log.exception("booking failed")
        return "done"

    app.add_url_rule("/logged", view_func=logged)
    return "/logged"


def json_lines(output):
    return [json.loads(line) for line in output.getvalue().splitlines()]


def test_text_lines_stay_the_default(app, log_output, client, logged_view):
    assert app.config["LOG_FORMAT"] == "text"
    client.get(logged_view, headers={"X-Request-ID": "abc123"})
    lines = log_output.getvalue().splitlines()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO peerlearn\.tests: seat booked", lines[0])
    assert re.fullmatch(r"\S+ \S+ ERROR peerlearn\.tests: booking failed", lines[1])
    assert lines[2] == "Traceback (most recent call last):"


def test_json_lines_carry_the_request_id_extras_and_traceback(json_app, log_output, client, logged_view):
    response = client.get(logged_view, headers={"X-Request-ID": "edge-42.a_b"})
    assert response.headers["X-Request-ID"] == "edge-42.a_b"

    booked, failed = json_lines(log_output)
    moment = datetime.fromisoformat(booked.pop("time"))
    assert moment.utcoffset() == timedelta(0)
    assert booked == {
        "level": "INFO",
        "logger": "peerlearn.tests",
        "message": "seat booked",
        "request_id": "edge-42.a_b",
        "session_id": 7,
        "seats": [1, 2],
    }
    assert failed["level"] == "ERROR" and failed["request_id"] == "edge-42.a_b"
    assert failed["exc_info"].startswith("Traceback (most recent call last):")
    assert failed["exc_info"].endswith("ValueError: no seat left")


def test_a_multiline_message_is_still_one_json_line(json_app, log_output):
    log.warning("first\nsecond")
    (line,) = log_output.getvalue().splitlines()
    assert json.loads(line)["message"] == "first\nsecond"
    assert json.loads(line)["request_id"] is None  # outside any request or job


@pytest.mark.parametrize("incoming", ["a" * 64, "0f" * 16, "req.1_A-b"])
def test_a_sane_incoming_id_is_kept_and_echoed(json_app, log_output, client, logged_view, incoming):
    response = client.get(logged_view, headers={"X-Request-ID": incoming})
    assert response.headers["X-Request-ID"] == incoming
    assert {line["request_id"] for line in json_lines(log_output)} == {incoming}


@pytest.mark.parametrize("incoming", ["a" * 65, "two words", "a/b", "semi;colon", 'quote"d', "ünï", ""])
def test_any_other_incoming_id_is_replaced(json_app, log_output, client, logged_view, incoming):
    response = client.get(logged_view, headers={"X-Request-ID": incoming})
    made = response.headers["X-Request-ID"]
    assert NEW_ID.fullmatch(made)
    assert {line["request_id"] for line in json_lines(log_output)} == {made}


def test_every_answer_gets_its_own_id(client, logged_view):
    first = client.get(logged_view).headers["X-Request-ID"]
    second = client.get("/no/such/page").headers["X-Request-ID"]
    assert NEW_ID.fullmatch(first) and NEW_ID.fullmatch(second)
    assert first != second


def test_socket_events_log_with_the_socket_id_and_their_number(json_app, log_output, make_user):
    from peerlearn.extensions import socketio
    from peerlearn.sockets.auth import authenticated_only

    @authenticated_only
    def note(identity, _payload=None):
        log.info("note from %s", identity.user_id)
        return {"ok": True}

    socketio.on_event("test_note", note)
    make_user(email="sock@example.com")
    browser = json_app.test_client()
    assert AuthActions(browser).login("sock@example.com").status_code == 302

    def isolated(func, *args, **kwargs):
        return contextvars.Context().run(func, *args, **kwargs)

    headers = {"X-Request-ID": "page-9"}
    sio = isolated(socketio.test_client, json_app, flask_test_client=browser, headers=headers)
    assert sio.is_connected()
    log_output.truncate(0)
    log_output.seek(0)
    assert isolated(sio.emit, "test_note", {}, callback=True) == {"ok": True}
    assert isolated(sio.emit, "test_note", {}, callback=True) == {"ok": True}
    isolated(sio.disconnect)

    notes = [line["request_id"] for line in json_lines(log_output) if line["message"].startswith("note from")]
    assert notes == ["page-9.1", "page-9.2"]


@pytest.mark.redis
def test_a_job_logs_with_the_id_of_the_request_that_enqueued_it(json_app, redis_app, log_output, client):
    from peerlearn.tasks import get_queue, redis_connection
    from peerlearn.tasks.worker import AppWorker

    response = client.post(
        "/api/register/",
        json={"email": "queued@example.com", "password": "correct-horse-battery", "name": "Queued"},
        headers={"X-Request-ID": "signup-42"},
    )
    assert response.status_code == 201

    def sent(lines):
        return [line for line in lines if line["message"].startswith("email to=queued@example.com")]

    assert sent(json_lines(log_output)) == []  # the worker sends it, not the request
    assert AppWorker([get_queue("emails")], connection=redis_connection()).work(burst=True)
    (line,) = sent(json_lines(log_output))
    assert line["logger"] == "peerlearn.tasks.email"
    assert line["request_id"] == "signup-42"


@pytest.mark.redis
def test_a_job_enqueued_outside_a_request_logs_with_its_job_id(json_app, redis_app, log_output):
    from peerlearn.tasks import enqueue, get_queue, redis_connection
    from peerlearn.tasks.worker import AppWorker

    assert enqueue("default", note_job)
    (job_id,) = get_queue("default").job_ids
    AppWorker([get_queue("default")], connection=redis_connection()).work(burst=True)
    (line,) = [line for line in json_lines(log_output) if line["message"] == "job ran"]
    assert line["request_id"] == job_id


def test_a_job_run_after_the_response_keeps_the_request_id(json_app, log_output, make_user):
    """Without a worker, a job left for after the response runs once the server closes it,
    outside the request's context: it still logs with the request's id."""
    json_app.config["JOBS_AFTER_RESPONSE"] = True
    make_user(email="known@example.com")
    answer = json_app.test_client().post(
        "/api/password-reset/", json={"email": "known@example.com"}, headers={"X-Request-ID": "reset-7"}
    )
    assert answer.status_code == 200
    answer.close()  # what a WSGI server does once the last byte is out
    (line,) = [line for line in json_lines(log_output) if line["message"].startswith("email to=known@")]
    assert line["request_id"] == "reset-7"


def test_an_unknown_log_format_is_refused(monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        TestingConfig.load()


# ----- Sentry ---------------------------------------------------------------------------------

# Builds an app in a process of its own (sentry-sdk, once set up, stays for the process), calls a
# view that raises, and reports what it saw.
SENTRY_SCRIPT = """
import json, logging, sys
from peerlearn import create_app

dsn = sys.argv[1] or None
app = create_app("testing", {"SENTRY_DSN": dsn, "PROPAGATE_EXCEPTIONS": False, "UPLOAD_DIR": sys.argv[2]})

@app.get("/boom")
def boom():
    logging.getLogger("peerlearn.payouts").info("looking at the payout of %s", "asha@example.com")
    logging.getLogger("peerlearn.payouts").error("payout to %s failed", "asha@example.com")
    raise RuntimeError("the view broke")

response = app.test_client().get("/boom", headers={"X-Request-ID": "boom-1"})
imported = "sentry_sdk" in sys.modules
if dsn:
    import sentry_sdk
    sentry_sdk.flush(timeout=10)
print(json.dumps({"status": response.status_code, "sentry_imported": imported}))
"""


class _Collector(BaseHTTPRequestHandler):
    """A stand-in for Sentry's ingest endpoint: keeps every envelope posted to it (path, body)."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        self.server.envelopes.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_args):
        pass


@pytest.fixture
def sentry_stand_in():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    server.envelopes = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def run_sentry_script(dsn, tmp_path):
    env = process_env(PEERLEARN_INSTANCE_DIR=str(tmp_path))
    result = subprocess.run(  # noqa: S603 - our own interpreter and script, no shell
        [sys.executable, "-c", SENTRY_SCRIPT, dsn, str(tmp_path / "uploads")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _events(envelopes):
    """The error events in the envelopes: each envelope is JSON lines (header, item header, item)."""
    found = []
    for _path, body in envelopes:
        for line in body.splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict) and ("exception" in item or "logentry" in item):
                found.append(item)
    return found


def test_an_error_in_a_view_reaches_sentry_with_the_request_id(sentry_stand_in, tmp_path):
    port = sentry_stand_in.server_address[1]
    seen = run_sentry_script(f"http://publickey@127.0.0.1:{port}/42", tmp_path)
    assert seen == {"status": 500, "sentry_imported": True}

    assert {path for path, _body in sentry_stand_in.envelopes} == {"/api/42/envelope/"}
    events = _events(sentry_stand_in.envelopes)
    (crash,) = [event for event in events if "exception" in event]
    assert crash["exception"]["values"][-1]["type"] == "RuntimeError"
    assert crash["tags"]["request_id"] == "boom-1"
    assert "cookies" not in crash.get("request", {}) and "ip_address" not in crash.get("user", {})
    (logged,) = [event for event in events if event.get("logger") == "peerlearn.payouts"]
    assert logged["logentry"]["formatted"] == "payout to %s failed"
    assert logged["tags"]["request_id"] == "boom-1"
    # Log lines go as their templates, breadcrumbs too: the address stays in the log.
    assert not any(b"asha@example.com" in body for _path, body in sentry_stand_in.envelopes)


def test_without_a_dsn_sentry_is_not_even_imported(tmp_path):
    assert run_sentry_script("", tmp_path) == {"status": 500, "sentry_imported": False}
