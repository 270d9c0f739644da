"""Nagle's algorithm is off on the connections the real servers accept: `flask serve` in both of
its async modes, and gunicorn with the gevent worker (production). Without TCP_NODELAY a
Socket.IO frame written behind an unacknowledged one waits for the client's delayed ACK, about
40 ms on Linux, so every room event would arrive late.

Each test starts the server as it runs, opens a Socket.IO WebSocket to it over a plain connection,
and reads TCP_NODELAY from the server's own end of that connection: a duplicate of the server
process's descriptor, taken with pidfd_getfd(2) (Linux 5.6+).
"""

import base64
import ctypes
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.conftest import free_port, unavailable

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Settings of the developer's shell or the suite that must not reach the servers.
FOREIGN = ("PEERLEARN_", "TEST_", "REDIS", "DATABASE", "SOCKETIO", "FLASK", "JOBS_", "RATELIMIT", "MAIL_")
SYS_PIDFD_GETFD = 438  # the same number on every architecture
TCP_LISTEN, TCP_ESTABLISHED = "0A", "01"  # states in /proc/net/tcp


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """Settings and a migrated SQLite database for the servers of this module."""
    if not hasattr(os, "pidfd_open"):
        unavailable("reading another process's socket needs pidfd_open (Linux)")
    folder = tmp_path_factory.mktemp("nodelay")
    env = {key: value for key, value in os.environ.items() if not key.startswith(FOREIGN)}
    env.update(
        FLASK_APP="peerlearn:create_app",
        FLASK_SKIP_DOTENV="1",
        PEERLEARN_INSTANCE_DIR=str(folder / "instance"),
        SECRET_KEY=secrets.token_hex(32),
        PAYOUT_DETAILS_KEYS=Fernet.generate_key().decode(),
        DATABASE_URL=f"sqlite:///{folder / 'nodelay.sqlite3'}",
        JOBS_INLINE="true",
        SWEEP_INTERVAL_SECONDS="3600",
        MAIL_BACKEND="log",
    )
    migrate = subprocess.run(  # noqa: S603 - a fixed argument list of our own, no shell
        [BIN / "flask", "db", "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    return env


@contextmanager
def running(command, env, port):
    """Start ``command`` and yield its process once GET /healthz answers; stop it afterwards."""
    process = subprocess.Popen(  # noqa: S603 - a fixed argument list of our own, no shell
        command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"{command[0].name} did not start:\n{process.communicate()[0].decode()}")
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


@contextmanager
def socket_io_connection(port):
    """A plain connection upgraded to an Engine.IO WebSocket (the room's transport), left open;
    once the server has answered the upgrade, its handler has set up the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        key = base64.b64encode(secrets.token_bytes(16))
        conn.sendall(
            b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Key: " + key + b"\r\n\r\n"
        )
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = conn.recv(4096)
            assert chunk, f"the server closed the connection: {reply!r}"
            reply += chunk
        assert reply.startswith(b"HTTP/1.1 101"), reply
        yield conn


def server_nodelay(process, local_port, remote_port=None):
    """TCP_NODELAY of the server's socket bound to ``local_port`` (the listening socket, or with
    ``remote_port`` the accepted connection from that client port), in ``process`` or a child."""
    inode = _socket_inode(local_port, remote_port)
    for pid in [process.pid, *_children(process.pid)]:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue  # closed meanwhile
            if target == f"socket:[{inode}]":
                with _borrowed(pid, int(fd)) as sock:
                    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    raise AssertionError(f"no process of the server holds socket {inode}")


def _socket_inode(local_port, remote_port):
    state = TCP_LISTEN if remote_port is None else TCP_ESTABLISHED
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, st, inode = fields[1], fields[2], fields[3], fields[9]
        if st != state or int(local.split(":")[1], 16) != local_port:
            continue
        if remote_port is None or int(remote.split(":")[1], 16) == remote_port:
            return inode
    raise AssertionError(f"no socket on port {local_port} (client port {remote_port})")


def _children(pid):
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@contextmanager
def _borrowed(pid, fd):
    """A duplicate of descriptor ``fd`` of process ``pid``, as a socket of this process."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        copy = libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
        if copy < 0:
            err = ctypes.get_errno()
            unavailable(f"pidfd_getfd is not permitted here: {os.strerror(err)}")
    finally:
        os.close(pidfd)
    sock = socket.socket(fileno=copy)
    try:
        yield sock
    finally:
        sock.close()


@pytest.mark.parametrize("async_mode", ["threading", "gevent"])
def test_flask_serve_turns_nagle_off_on_accepted_connections(deployment, async_mode):
    port = free_port()
    env = {**deployment, "SOCKETIO_ASYNC_MODE": async_mode}
    command = [BIN / "flask", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with running(command, env, port) as server, socket_io_connection(port) as conn:
        assert server_nodelay(server, port, remote_port=conn.getsockname()[1])
        # The client's end was left as it was: the server's setting is what was read.
        assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0


def test_gunicorn_sets_nodelay_on_its_listening_socket_and_connections_inherit_it(deployment):
    port = free_port()
    env = {
        **deployment,
        "PEERLEARN_ENV": "production",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "ALLOW_DEV_GATEWAY": "true",
    }
    command = [BIN / "gunicorn", "-k", "gevent", "-w", "1", "--bind", f"127.0.0.1:{port}", "wsgi:app"]
    with running(command, env, port) as server, socket_io_connection(port) as conn:
        assert server_nodelay(server, port)
        assert server_nodelay(server, port, remote_port=conn.getsockname()[1])
