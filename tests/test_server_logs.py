"""What real servers write to their log: a browser leaving a page while its socket connects is an
expected event (one INFO line, no traceback, no 500), and the embedded periodic jobs start once,
after `flask serve --setup` has built the database, however the app was found."""

import base64
import os
import shutil
import socket
import struct
import subprocess
import time
import urllib.request

import pytest

from tests.conftest import free_port
from tests.processes import BIN, ROOT, process_env, start_gunicorn, stop, wait_until_healthy

PERIODIC_STARTED = "periodic jobs run in-process"
CLIENT_LEFT = "peerlearn.sockets.transport: socket client 127.0.0.1 left"


@pytest.fixture(scope="module")
def migrated_database(tmp_path_factory):
    """A database file built by the migrations and holding the demo data (so the periodic jobs
    have something to work on), once; each server gets a copy."""
    folder = tmp_path_factory.mktemp("db")
    path = folder / "migrated.sqlite3"
    env = process_env(
        FLASK_APP="peerlearn:create_app",
        DATABASE_URL=f"sqlite:///{path}",
        UPLOAD_DIR=str(folder / "uploads"),
        PEERLEARN_INSTANCE_DIR=str(folder / "instance"),
    )
    for command in (["db", "upgrade"], ["seed-demo"]):
        subprocess.run([BIN / "flask", *command], cwd=ROOT, env=env, check=True, capture_output=True)  # noqa: S603 - a fixed argument list of our own, no shell
    return path


def server_env(tmp_path, port, **settings):
    return process_env(
        UPLOAD_DIR=str(tmp_path / "uploads"),
        PEERLEARN_INSTANCE_DIR=str(tmp_path / "instance"),
        ROOM_MEDIA="mesh",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        **settings,
    )


def start_flask_serve(port, env, log, *extra):
    return subprocess.Popen(  # noqa: S603 - a fixed argument list of our own, no shell
        [BIN / "flask", "serve", *extra, "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


@pytest.fixture(params=["threading", "gevent"])
def served(request, tmp_path, migrated_database):
    """(base URL, log file) of the embedded server (`flask serve`, threading) or production's
    (gunicorn -k gevent serving wsgi.py), on a migrated database."""
    database = tmp_path / "app.sqlite3"
    shutil.copy(migrated_database, database)
    port = free_port()
    env = server_env(tmp_path, port, DATABASE_URL=f"sqlite:///{database}", SOCKETIO_ASYNC_MODE=request.param)
    log = (tmp_path / "server.log").open("w+b")
    if request.param == "gevent":
        server = start_gunicorn(port, env, log)
    else:
        server = start_flask_serve(port, {**env, "FLASK_APP": "peerlearn:create_app"}, log)
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", server, log, deadline_seconds=60)
        yield port, log
    finally:
        stop(server)
        log.close()


# ------------------------------------------------------------------- a raw Socket.IO client


def polling_sid(port):
    """Open an Engine.IO session over long-polling, as a page's socket starts."""
    url = f"http://127.0.0.1:{port}/socket.io/?EIO=4&transport=polling"
    request = urllib.request.Request(url, headers={"Origin": f"http://127.0.0.1:{port}"})
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - an http URL on loopback built here
        body = response.read().decode()
    return body.split('"sid":"', 1)[1].split('"', 1)[0]


def request_head(port, method, target, *headers):
    lines = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Origin: http://127.0.0.1:{port}"]
    return ("\r\n".join([*lines, *headers]) + "\r\n\r\n").encode()


def upgrade_head(port, sid):
    key = base64.b64encode(os.urandom(16)).decode()
    return request_head(
        port,
        "GET",
        f"/socket.io/?EIO=4&transport=websocket&sid={sid}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    )


def text_frame(text):
    """A masked WebSocket text frame, as a browser sends."""
    payload, mask = text.encode(), os.urandom(4)
    return bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def reset(connection):
    """Drop the connection as a closed tab does: at once, with a TCP reset."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


def leave_during_upgrade(port):
    """Ask to upgrade to WebSocket, send the probe, and leave before the server answers it."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=5)
    connection.sendall(upgrade_head(port, polling_sid(port)))
    assert connection.recv(4096).startswith(b"HTTP/1.1 101")
    connection.sendall(text_frame("2probe"))
    reset(connection)


def leave_while_posting(port):
    """Send the connect packet's POST with only part of its body, and leave."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=5)
    sid = polling_sid(port)
    head = request_head(
        port,
        "POST",
        f"/socket.io/?EIO=4&transport=polling&sid={sid}",
        "Content-Type: text/plain;charset=UTF-8",
        "Content-Length: 200",
    )
    connection.sendall(head + b"40")
    time.sleep(0.2)  # the server is waiting for the rest of the body
    reset(connection)


def leave_mid_headers(port):
    """Send half of an upgrade request's headers, and close the connection."""
    head = upgrade_head(port, polling_sid(port))
    connection = socket.create_connection(("127.0.0.1", port), timeout=5)
    connection.sendall(head[: head.index(b"Upgrade:")])
    connection.close()


def log_after(log, *reasons, deadline_seconds=10):
    """The server's log once it holds a client-left line for each of ``reasons`` (or the deadline
    passed). The three ways of leaving are served on their own threads, so their lines come in any
    order: waiting for a count of them could return before the slowest one was written."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        log.seek(0)
        output = log.read().decode(errors="replace")
        if all(f"{CLIENT_LEFT} {reason}" in output for reason in reasons) or time.monotonic() > deadline:
            return output
        time.sleep(0.1)


def test_leaving_while_the_socket_connects_logs_no_error(served):
    port, log = served
    # The client leaves right after the probe; on a busy machine the server may answer the probe
    # first, and the connection then ends as a plain close with nothing to log. Left again until
    # one leave lands mid-upgrade (the case under test), a few tries at most.
    for _attempt in range(5):
        leave_during_upgrade(port)
        if f"{CLIENT_LEFT} during the WebSocket upgrade" in log_after(
            log, "during the WebSocket upgrade", deadline_seconds=3
        ):
            break
    leave_while_posting(port)
    leave_mid_headers(port)
    output = log_after(log, "during the WebSocket upgrade", "while sending a message")
    for sign in ("Traceback", "ERROR", "Error on request", '" 500 ', "post request handler error"):
        assert sign not in output, output
    assert output.count(" left during the WebSocket upgrade") >= 1, output
    assert output.count(" left while sending a message") == 1, output
    # The server still answers a new socket afterwards.
    assert polling_sid(port)


# ----------------------------------------------------------------------- periodic jobs, once


def test_flask_serve_setup_finding_wsgi_py_starts_the_periodic_jobs_once_after_setup(tmp_path):
    """`make run` on a fresh checkout: FLASK_APP unset, so `flask` loads wsgi.py."""
    port = free_port()
    env = server_env(tmp_path, port, DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    assert "FLASK_APP" not in env
    with open(tmp_path / "serve.log", "w+b") as log:
        server = start_flask_serve(port, env, log, "--setup")
        try:
            wait_until_healthy(f"http://127.0.0.1:{port}", server, log, deadline_seconds=180)
        finally:
            stop(server)
        log.seek(0)
        output = log.read().decode(errors="replace")
    assert output.count(PERIODIC_STARTED) == 1, output
    assert output.index(PERIODIC_STARTED) > output.index("PeerLearn is running at"), output
    assert "no such table" not in output and "Traceback" not in output, output


def test_gunicorn_serving_wsgi_py_runs_the_periodic_jobs(tmp_path, migrated_database):
    database = tmp_path / "app.sqlite3"
    shutil.copy(migrated_database, database)
    port = free_port()
    env = server_env(tmp_path, port, DATABASE_URL=f"sqlite:///{database}", SOCKETIO_ASYNC_MODE="gevent")
    with open(tmp_path / "gunicorn.log", "w+b") as log:
        server = start_gunicorn(port, env, log)
        try:
            wait_until_healthy(f"http://127.0.0.1:{port}", server, log)
        finally:
            stop(server)
        log.seek(0)
        output = log.read().decode(errors="replace")
    assert output.count(PERIODIC_STARTED) == 1, output
    assert "Traceback" not in output, output


def test_other_flask_commands_finding_wsgi_py_start_no_jobs(tmp_path, migrated_database):
    database = tmp_path / "app.sqlite3"
    shutil.copy(migrated_database, database)
    env = server_env(tmp_path, free_port(), DATABASE_URL=f"sqlite:///{database}")
    result = subprocess.run(  # noqa: S603 - a fixed argument list of our own, no shell
        [BIN / "flask", "db", "current"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert PERIODIC_STARTED not in result.stdout + result.stderr
