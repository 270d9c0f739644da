"""The production shape as real processes on one machine: nginx (Debian's) in front of two
`gunicorn -k gevent -w 1 wsgi:app`, `python worker.py`, the cron scheduler, a PostgreSQL database
of its own, a throwaway redis-server and an S3-compatible store (moto's server), so that no two
processes share a folder.

Every process runs in a process group of its own and is stopped with it, however it ended up.
"""

import contextlib
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid

import requests
import socketio
from sqlalchemy import create_engine, make_url, text

from peerlearn.config import normalise_database_url
from tests.processes import BIN, ROOT, process_env
from tests.support.inbox import Inbox

NGINX = "/usr/sbin/nginx"
TIMEOUT = 60  # seconds to wait for anything; generous, nothing here measures speed
# deploy/systemd/peerlearn-web@.service waits 30 s for open connections (WebSockets, keep-alive)
# before a stopping process drops them; a few seconds keep this test short, the order is the same.
GRACEFUL_SECONDS = 3

# The cron scheduler of worker.py, with the queued-email sweep every few seconds instead of every
# five minutes, so that an email Redis could not take is seen delivered within the test. Every
# other periodic job keeps its interval.
CRON = (
    "import runpy, sys; import peerlearn.tasks.periodic as periodic; "
    "periodic.PERIODIC_JOBS = tuple((f, q, 3 if f.__name__ == 'send_queued_emails' else i) "
    "for f, q, i in periodic.PERIODIC_JOBS); "
    "sys.argv = ['worker.py', 'cron']; runpy.run_path('worker.py', run_name='__main__')"
)

# What deploy/nginx/peerlearn.conf says of each web process in its upstreams (max_fails ...).
SERVER_PARAMETERS = re.search(
    r"server @WEB_SERVER@ ([^;]*);", (ROOT / "deploy" / "nginx" / "peerlearn.conf").read_text()
).group(1)

# The parts of deploy/nginx/peerlearn.conf that decide where a request goes, on plain HTTP: the
# same upstreams (least_conn, a refusing process skipped), the same WebSocket and polling routes,
# the same retry on a refused connection.
NGINX_CONF = """\
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    # Which process each request went to, for the test to tell them apart.
    log_format shape '$remote_addr "$request" $status upstream=$upstream_addr';
    access_log {folder}/access.log shape;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    upstream peerlearn {{
        least_conn;
        {servers}
        keepalive 64;
    }}
    upstream peerlearn_polling {{
        hash $cookie_peerlearn_lb consistent;
        {servers}
    }}
    map "$arg_transport:$arg_sid" $peerlearn_sockets {{
        "websocket:" peerlearn;
        default      peerlearn_polling;
    }}
    server {{
        listen 127.0.0.1:{port};
        server_tokens off;
        client_max_body_size 6m;
        userid         on;
        userid_name    peerlearn_lb;
        userid_path    /;
        location /socket.io/ {{
            proxy_pass http://$peerlearn_sockets;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Host "";
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_buffering off;
            proxy_read_timeout 1h;
        }}
        location / {{
            proxy_pass http://peerlearn;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Host "";
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_next_upstream error timeout http_502;
            proxy_next_upstream_tries 3;
        }}
    }}
}}
"""


def wait_until(what, check, timeout=TIMEOUT, interval=0.1, explain=lambda: ""):
    """Poll ``check`` until it returns something true (returned); raise with ``explain()`` if not."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout} s\n{explain()}")
        time.sleep(interval)


class Service:
    """One long-running process of ours in a group of its own, its output in a file."""

    def __init__(self, name, args, env, folder):
        self.name, self.args, self.env = name, args, env
        self.log_path = folder / f"{name}.log"
        self.process = None
        self._log = None
        self.start()

    def start(self):
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - a fixed argument list of our own, no shell
            self.args,
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def output(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def explain(self):
        return f"--- {self.name} ({'running' if self.alive() else 'ended'}) ---\n{self.output()[-6000:]}"

    def stop(self, timeout=TIMEOUT):
        """SIGTERM to the main process (systemd's KillMode=mixed), then SIGKILL to its group."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # whatever of the group is left
        self.process.wait()
        self.process = None
        self._log.close()


class Web(Service):
    """`gunicorn -k gevent -w 1 wsgi:app` on a fixed port, as peerlearn-web@PORT runs it."""

    def __init__(self, name, port, env, folder):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        args = [
            str(BIN / "gunicorn"),
            "--worker-class",
            "gevent",
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "--graceful-timeout",
            str(GRACEFUL_SECONDS),
            "wsgi:app",
        ]
        super().__init__(name, args, env, folder)

    def healthy(self):
        try:
            return requests.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def wait_until_healthy(self):
        def check():
            if not self.alive():
                raise AssertionError(f"{self.name} ended before answering /healthz\n{self.explain()}")
            return self.healthy()

        wait_until(f"/healthz of {self.name}", check, explain=self.explain)


class Nginx(Service):
    def __init__(self, port, upstreams, folder):
        folder.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        servers = "\n        ".join(
            f"server 127.0.0.1:{web_port} {SERVER_PARAMETERS};" for web_port in upstreams
        )
        conf = folder / "nginx.conf"
        conf.write_text(NGINX_CONF.format(folder=folder, servers=servers, port=port))
        super().__init__("nginx", [NGINX, "-c", str(conf), "-p", str(folder)], os.environ.copy(), folder)


def scratch_database(base_url):
    """A new, empty PostgreSQL database beside TEST_DATABASE_URL's: (its URL, a function that drops it)."""
    name = f"peerlearn_shape_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_database_url(base_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    url = make_url(normalise_database_url(base_url)).set(database=name)
    return url.render_as_string(hide_password=False), drop


def shape_env(*, database_url, redis_url, public_url, web_ports, s3_endpoint, bucket):
    """The settings /etc/peerlearn/peerlearn.env would hold, for plain HTTP on loopback; each
    process then gets folders of its own (``own_folders``)."""
    from cryptography.fernet import Fernet

    return process_env(
        FLASK_APP="peerlearn:create_app",
        FLASK_SKIP_DOTENV="1",
        PEERLEARN_ENV="production",
        PUBLIC_BASE_URL=public_url,
        SECRET_KEY=secrets.token_hex(32),
        PAYOUT_DETAILS_KEYS=Fernet.generate_key().decode(),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SOCKETIO_MESSAGE_QUEUE=redis_url,
        SOCKETIO_CHANNEL=f"peerlearn-shape-{uuid.uuid4().hex}",
        JOBS_INLINE="false",
        PROXY_COUNT="1",
        # Sockets pinned to one process connect to its port directly, from that origin.
        SOCKETIO_CORS_ORIGINS=",".join(f"http://127.0.0.1:{port}" for port in web_ports),
        SESSION_COOKIE_SECURE="false",  # plain http on loopback
        ALLOW_DEV_GATEWAY="true",  # no Razorpay here: the local test checkout
        MAIL_BACKEND="log",
        ROOM_MEDIA="mesh",  # no Janus in this test
        STORAGE_BACKEND="s3",
        S3_BUCKET=bucket,
        S3_ENDPOINT_URL=s3_endpoint,
        S3_REGION="us-east-1",
        S3_ACCESS_KEY_ID="shape-test",
        S3_SECRET_ACCESS_KEY="shape-test",  # noqa: S106 - moto's server accepts any key
        ARGON2_TIME_COST="1",
        ARGON2_MEMORY_COST="1024",
        PYTHONUNBUFFERED="1",
    )


def own_folders(env, folder):
    """``env`` with an instance and upload folder that only this process uses."""
    folder.mkdir(parents=True, exist_ok=True)
    return {**env, "PEERLEARN_INSTANCE_DIR": str(folder), "UPLOAD_DIR": str(folder / "uploads")}


def run_flask(env, *args, stdin=None):
    result = subprocess.run(  # noqa: S603 - a fixed argument list of our own, no shell
        [str(BIN / "flask"), *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, f"flask {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result.stdout


def python_service(name, args, env, folder):
    """``python ARGS`` (worker.py, or -c CODE) as a Service."""
    return Service(name, [sys.executable, *args], env, folder)


class Browser:
    """A person's browser: HTTP through ``base`` (nginx), signed in with the sign-in form."""

    def __init__(self, base, email, password):
        from tests.conftest import extract_csrf

        self.base = base
        self.http = requests.Session()
        page = self.http.get(f"{base}/auth/login", timeout=TIMEOUT)
        form = {"email": email, "password": password, "csrf_token": extract_csrf(page.text)}
        response = self.http.post(f"{base}/auth/login", data=form, allow_redirects=False, timeout=TIMEOUT)
        assert response.status_code == 302, response.text
        self.sockets = []

    def csrf(self):
        from tests.conftest import extract_csrf

        return extract_csrf(self.http.get(f"{self.base}/", timeout=TIMEOUT).text)

    def post_json(self, path, body):
        """A same-origin fetch() of the page's scripts: the cookie plus the page's CSRF token."""
        response = self.http.post(
            f"{self.base}{path}", json=body, headers={"X-CSRFToken": self.csrf()}, timeout=TIMEOUT
        )
        assert response.status_code in (200, 201), f"{path}: {response.status_code} {response.text}"
        return response.json()["data"]

    def post_form(self, path, form):
        return self.http.post(
            f"{self.base}{path}",
            data={**form, "csrf_token": self.csrf()},
            allow_redirects=False,
            timeout=TIMEOUT,
        )

    def socket(self, url, *, reconnection=False):
        """A Socket.IO client over WebSocket to ``url`` (nginx, or one process's own port), with
        this browser's cookie; returns (client, inbox, connections) where ``connections`` lists
        (event, monotonic time) of its connects and disconnects."""
        sio = socketio.Client(http_session=self.http, reconnection=reconnection)
        inbox = Inbox(TIMEOUT)
        connections = []
        sio.on("*", inbox.record)
        sio.on("connect", lambda: connections.append(("connect", time.monotonic())))
        sio.on("disconnect", lambda *_: connections.append(("disconnect", time.monotonic())))
        sio.connect(url, transports=["websocket"], wait_timeout=TIMEOUT)
        self.sockets.append(sio)
        return sio, inbox, connections

    def close(self):
        for sio in self.sockets:
            if sio.connected:
                sio.disconnect()
        self.http.close()


class Traffic:
    """A client thread sending GETs through nginx until stopped; counts answers and failures."""

    PATHS = ("/", "/healthz", "/sessions/")

    def __init__(self, base):
        self.base = base
        self.answered = 0
        self.failures = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        with requests.Session() as http:
            number = 0
            while not self._stop.is_set():
                path = self.PATHS[number % len(self.PATHS)]
                number += 1
                try:
                    response = http.get(f"{self.base}{path}", timeout=30)
                except requests.RequestException as exc:
                    self.failures.append(f"{path}: {type(exc).__name__}: {exc}")
                    continue
                if response.status_code >= 500:
                    self.failures.append(f"{path}: {response.status_code}")
                else:
                    self.answered += 1
                self._stop.wait(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(TIMEOUT)
