"""Run the real PeerLearn server the way `make run` does, for browser tests, screenshots and benchmarks.

A fresh instance directory (SQLite file, secret key, uploads) and the command `make run` ends in,
`flask serve --setup` (migrations, demo data, then Flask-SocketIO in threading mode), on a free
loopback port, stopped again on exit:

    with LiveServer() as server:
        print(server.url)

Also here, so the three users agree: how to launch Debian's Chromium, what counts as a request
leaving the machine, and how a page's weight is measured.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
ASSETS = REPO_ROOT / "peerlearn" / "static" / "dist"
HOST = "127.0.0.1"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NETWORK_SCHEMES = {"http", "https", "ws", "wss"}

# Variables that would point the server at other state than its own instance directory, or at a
# service (PostgreSQL, Redis, SMTP) instead of the embedded mode that `make run` uses by default.
FOREIGN_SETTINGS = (
    "DATABASE_URL",
    "TEST_DATABASE_URL",
    "REDIS_URL",
    "SOCKETIO_MESSAGE_QUEUE",
    "RATELIMIT_STORAGE_URI",
    "JOBS_INLINE",
    "UPLOAD_DIR",
    "SECRET_KEY",
    "SERVER_NAME",
    "PUBLIC_BASE_URL",
    "MAIL_SERVER",
    "MAIL_BACKEND",
    "PEERLEARN_ENV",
    "ROOM_MEDIA",
    "JANUS_INSTANCES",
    "JANUS_TOKEN_SECRET",
    "JANUS_ADMIN_SECRET",
    "JANUS_ADMIN_KEY",
    "JANUS_ICE_ENFORCE_LIST",
)


class ServerError(RuntimeError):
    """The server could not be prepared or did not come up; the message carries its output."""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def missing_assets():
    """Name the built asset files that are missing (the pages would load unstyled without them)."""
    return [name for name in ("app.css", "app.js") if not (ASSETS / name).is_file()]


def browser_setup_problem():
    """What stops a script from driving pages here (no Chromium, assets not built), or None."""
    if not CHROMIUM.exists():
        return f"Chromium not found at {CHROMIUM}: apt-get install chromium"
    missing = missing_assets()
    if missing:
        return f"Front-end assets missing ({', '.join(missing)}): run `make peerlearn/static/dist/.built`"
    return None


def flask_command():
    venv_flask = REPO_ROOT / ".venv" / "bin" / "flask"
    if venv_flask.exists():
        return [str(venv_flask)]
    return [sys.executable, "-m", "flask"]


class LiveServer:
    """One server process on its own temporary instance directory.

    ``network``: a scripts.netns.PrivateNetwork to run it in (and its local Janus, if it starts
    one); ``settings``: environment variables for it, such as ROOM_MEDIA.
    """

    def __init__(self, startup_timeout=30.0, *, network=None, settings=None):
        self.startup_timeout = startup_timeout
        self.network = network
        self.settings = dict(settings or {})
        self.port = None
        self.process = None
        self._tempdir = None
        self._log = None

    @property
    def url(self):
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self):
        return self.process.pid if self.process else None

    @property
    def instance_dir(self):
        return Path(self._tempdir.name) / "instance"

    def environment(self):
        env = {k: v for k, v in os.environ.items() if k not in FOREIGN_SETTINGS}
        env.update(
            FLASK_APP="peerlearn:create_app",
            FLASK_SKIP_DOTENV="1",  # a developer's .env must not pick the database for us
            PEERLEARN_INSTANCE_DIR=str(self.instance_dir),
            HOST=HOST,
            PORT=str(self.port),
            PYTHONUNBUFFERED="1",
        )
        env.update(self.settings)
        return env

    def start(self):
        self._tempdir = tempfile.TemporaryDirectory(prefix="peerlearn-live-")
        self.port = free_port() if self.network is None else self.network.call(free_port)
        command = [*flask_command(), "serve", "--setup", "--host", HOST, "--port", str(self.port)]
        if self.network is not None:
            command = self.network.wrap(command)
        try:
            self._log = open(Path(self._tempdir.name) / "server.log", "w+b")  # noqa: SIM115 - closed in stop()
            self.process = subprocess.Popen(  # noqa: S603 - a fixed argument list of our own, no shell
                command,
                cwd=REPO_ROOT,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
            )
            self._wait_until_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_healthy(self):
        deadline = time.monotonic() + self.startup_timeout
        last_problem = "no answer yet"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(
                    f"the server exited with code {self.process.returncode} before answering /healthz:\n"
                    f"{self.output()}"
                )
            try:
                status = self.get_status("/healthz")
                if status == 200:
                    return
                last_problem = f"status {status}"
            except (urllib.error.URLError, OSError) as exc:
                last_problem = str(exc)
            time.sleep(0.2)
        raise ServerError(
            f"/healthz did not answer 200 within {self.startup_timeout:.0f} s ({last_problem}):\n"
            f"{self.output()}"
        )

    def get_status(self, path):
        """The HTTP status of GET ``path`` (from inside the server's network, if it has one)."""

        def fetch():
            try:
                with urllib.request.urlopen(f"{self.url}{path}", timeout=2) as response:  # noqa: S310 - our own loopback URL
                    return response.status
            except urllib.error.HTTPError as exc:
                return exc.code

        return fetch() if self.network is None else self.network.call(fetch)

    def output(self):
        """What the server printed so far."""
        if self._log is None or self._log.closed:
            return ""
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def rss_kib(self):
        """Resident memory of the server process, from /proc (Linux only)."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise ServerError("VmRSS not found in /proc status")

    def stop(self):
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=10)
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


def launch_chromium(playwright):
    """Debian's Chromium, headless, with nothing of its own phoning home."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


def is_external(url):
    """True for a network URL whose host is not the loopback address the server listens on."""
    parts = urlsplit(url)
    return parts.scheme in NETWORK_SCHEMES and parts.hostname != HOST


def block_external_requests(context, record):
    """Refuse, and report through `record(url)`, every request of `context` that leaves loopback."""

    def route(route):
        if is_external(route.request.url):
            record(route.request.url)
            route.abort("blockedbyclient")
        else:
            route.continue_()

    context.route("**/*", route)


# Playwright resource types, grouped the way page weight is reported.
WEIGHT_GROUPS = {"document": "html", "stylesheet": "css", "script": "js"}


@dataclass
class PageWeight:
    """Uncompressed response body bytes of one page load, by kind, and the requests that left loopback."""

    bytes_by_kind: dict = field(default_factory=dict)
    external_requests: list = field(default_factory=list)
    content_encodings: set = field(default_factory=set)

    def __getitem__(self, kind):
        return self.bytes_by_kind.get(kind, 0)

    @property
    def html_css_js(self):
        return self["html"] + self["css"] + self["js"]

    @property
    def total(self):
        return sum(self.bytes_by_kind.values())


def measure_page_weight(browser, url, **context_options):
    """Load `url` once in a fresh context (empty cache) and weigh every response it received."""
    weight = PageWeight()
    responses = []
    context = browser.new_context(**context_options)
    try:
        block_external_requests(context, weight.external_requests.append)
        context.on("response", lambda response: responses.append(response))
        page = context.new_page()
        page.goto(url, wait_until="networkidle")
        for response in responses:
            if 300 <= response.status < 400:
                continue  # a redirect has no body
            kind = WEIGHT_GROUPS.get(response.request.resource_type, "other")
            weight.bytes_by_kind[kind] = weight.bytes_by_kind.get(kind, 0) + len(response.body())
            encoding = response.headers.get("content-encoding")
            if encoding:
                weight.content_encodings.add(encoding)
    finally:
        context.close()
    return weight
