"""A local Janus for the embedded mode (`make run`): installed where we may, configured for
loopback under ``instance/janus/``, started and kept running by the web process.

The configuration is written fresh at every start: the HTTP, admin and WebSocket transports
listen on 127.0.0.1 only, on ports free at that moment; only the VideoRoom plugin is loaded; the
core requires signed tokens; the plugin requires the admin key to create rooms. Secrets are made
once per install and kept in ``instance/janus/secrets.json``.
"""

import atexit
import ctypes
import glob
import json
import logging
import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import requests

from .janus import Instance

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
START_TIMEOUT_SECONDS = 20
KEEP = {"plugins": {"libjanus_videoroom.so"}, "transports": {"libjanus_http.so", "libjanus_websockets.so"}}
LIBRARY_GLOBS = ("/usr/lib/*/janus", "/usr/lib/janus", "/usr/local/lib/janus", "/opt/janus/lib/janus")


def find_binary(configured=None):
    """The janus executable: the configured path, or `janus` on PATH (Debian puts it in /usr/bin)."""
    if configured:
        return configured if Path(configured).is_file() and os.access(configured, os.X_OK) else None
    return shutil.which("janus")


def library_dir():
    """Where the plugins and transports live (Debian: /usr/lib/<arch>/janus)."""
    for pattern in LIBRARY_GLOBS:
        for folder in sorted(glob.glob(pattern)):
            if Path(folder, "plugins", "libjanus_videoroom.so").exists():
                return Path(folder)
    return None


def install_command():
    """How this machine can install Janus without asking anyone, or None."""
    if not Path("/etc/debian_version").exists() or not shutil.which("apt-get"):
        return None
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo"):
        probe = subprocess.run(["sudo", "-n", "true"], capture_output=True, check=False)  # noqa: S607
        if probe.returncode == 0:
            return ["sudo", "-n"]
    return None


def install(echo=print):
    """Install the Debian package `janus` if we are root or have passwordless sudo. True if the
    binary is there afterwards."""
    prefix = install_command()
    if prefix is None:
        return False
    echo("  Installing the Janus media server for group rooms: apt-get install -y janus")
    echo("  (set ROOM_MEDIA=mesh to skip it and use browser-to-browser video for up to 4 cameras)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "janus"]):
        result = subprocess.run(  # noqa: S603 - fixed commands
            [*prefix, *command], env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0 and command[1] == "install":
            reason = (result.stderr.strip().splitlines() or ["no reason given"])[-1]
            echo(f"  Janus could not be installed: {reason}")
            return False
    return find_binary() is not None


def free_port():
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def load_secrets(folder):
    """The install's Janus secrets (token secret, admin secret, admin key), made on first use."""
    path = Path(folder) / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    values = {name: secrets.token_urlsafe(32) for name in ("token_secret", "admin_secret", "admin_key")}
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return values


def _disable_all_but(folder, keep):
    names = sorted(p.name for p in Path(folder).glob("*.so")) if Path(folder).is_dir() else []
    return ",".join(name for name in names if name not in keep)


def _quote(value):
    return json.dumps(str(value))


def render_config(
    folder,
    library,
    *,
    http_port,
    admin_port,
    ws_port,
    token_secret,
    admin_secret,
    admin_key,
    ice_enforce_list=None,
    rtp_port_range="40000-40999",
    nat_1_1_mapping=None,
):
    """The configuration files, as {file name: text}."""
    library = Path(library)
    nat = [f"ice_ignore_list = {_quote('vmnet')}", "ignore_mdns = true"]
    if ice_enforce_list:
        nat.append(f"ice_enforce_list = {_quote(ice_enforce_list)}")
    if nat_1_1_mapping:
        nat.append(f"nat_1_1_mapping = {_quote(nat_1_1_mapping)}")
    nat_lines = "\n\t".join(nat)
    core = f"""general: {{
	configs_folder = {_quote(folder)}
	plugins_folder = {_quote(library / "plugins")}
	transports_folder = {_quote(library / "transports")}
	events_folder = {_quote(library / "events")}
	loggers_folder = {_quote(library / "loggers")}
	debug_level = 4
	server_name = "PeerLearn"
	session_timeout = 60
	admin_secret = {_quote(admin_secret)}
	token_auth = true
	token_auth_secret = {_quote(token_secret)}
}}
media: {{
	ipv6 = false
	rtp_port_range = {_quote(rtp_port_range)}
}}
nat: {{
	{nat_lines}
}}
plugins: {{
	disable = {_quote(_disable_all_but(library / "plugins", KEEP["plugins"]))}
}}
transports: {{
	disable = {_quote(_disable_all_but(library / "transports", KEEP["transports"]))}
}}
loggers: {{
	disable = {_quote(_disable_all_but(library / "loggers", set()))}
}}
events: {{
	broadcast = false
	disable = {_quote(_disable_all_but(library / "events", set()))}
}}
"""
    http = f"""general: {{
	json = "plain"
	base_path = "/janus"
	http = true
	port = {http_port}
	ip = {_quote(HOST)}
	https = false
}}
admin: {{
	admin_base_path = "/admin"
	admin_http = true
	admin_port = {admin_port}
	admin_ip = {_quote(HOST)}
	admin_https = false
}}
"""
    websockets = f"""general: {{
	json = "plain"
	ws = true
	ws_port = {ws_port}
	ws_ip = {_quote(HOST)}
	wss = false
}}
admin: {{
	admin_ws = false
	admin_wss = false
}}
"""
    videoroom = f"""general: {{
	admin_key = {_quote(admin_key)}
	lock_rtp_forward = true
	string_ids = false
}}
"""
    return {
        "janus.jcfg": core,
        "janus.transport.http.jcfg": http,
        "janus.transport.websockets.jcfg": websockets,
        "janus.plugin.videoroom.jcfg": videoroom,
    }


def _die_with_parent():
    """In the child: be killed when the web process dies, so no Janus is left behind (SIGKILL,
    because Janus can hang in its own shutdown when browsers were connected), and write no core
    file if it crashes (the supervisor restarts it; its log says what happened)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except OSError:
        pass


class LocalJanus:
    """One supervised Janus process on loopback: restarted (on the same ports) if it exits."""

    def __init__(self, folder, binary, library, *, ice_enforce_list=None, rtp_port_range="40000-40999"):
        self.folder = Path(folder)
        self.binary = binary
        self.library = library
        self.ice_enforce_list = ice_enforce_list
        self.rtp_port_range = rtp_port_range
        self.secrets = load_secrets(self.folder)
        self.ports = None
        self.process = None
        self.restarts = 0
        self._stopping = threading.Event()
        self._thread = None

    @property
    def instance(self):
        http, admin, ws = self.ports
        return Instance(
            name="local",
            api=f"http://{HOST}:{http}/janus",
            admin=f"http://{HOST}:{admin}/admin",
            public=f"ws://{HOST}:{ws}/",
        )

    def write_config(self):
        http, admin, ws = self.ports
        files = render_config(
            self.folder,
            self.library,
            http_port=http,
            admin_port=admin,
            ws_port=ws,
            ice_enforce_list=self.ice_enforce_list,
            rtp_port_range=self.rtp_port_range,
            **self.secrets,
        )
        for name, text in files.items():
            path = self.folder / name
            path.write_text(text)
            path.chmod(0o600)

    def start(self):
        """Start Janus and wait until it answers; raise RuntimeError if it does not."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.ports = (free_port(), free_port(), free_port())
        self.write_config()
        self._spawn()
        self._wait_until_up()
        self._thread = threading.Thread(target=self._supervise, name="janus-supervisor", daemon=True)
        self._thread.start()
        atexit.register(self.stop)
        return self

    def _spawn(self):
        log_path = self.folder / "janus.log"
        with open(log_path, "ab") as output:
            self.process = subprocess.Popen(  # noqa: S603 - our own binary and arguments
                [self.binary, "-C", str(self.folder / "janus.jcfg"), "-F", str(self.folder), "-N"],
                cwd=self.folder,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )

    def _wait_until_up(self):
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"Janus exited with code {self.process.returncode}; see {self.folder / 'janus.log'}"
                )
            try:
                if requests.get(f"{self.instance.api}/info", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(
            f"Janus did not answer within {START_TIMEOUT_SECONDS} s; see {self.folder / 'janus.log'}"
        )

    def _supervise(self):
        backoff = 1
        while not self._stopping.is_set():
            code = self.process.wait()
            if self._stopping.is_set():
                return
            self.restarts += 1
            log.warning("Janus exited with code %s; restarting it in %s s", code, backoff)
            if self._stopping.wait(backoff):
                return
            try:
                self._spawn()
                self._wait_until_up()
                backoff = 1
                log.info("Janus is back on %s", self.instance.api)
            except (OSError, RuntimeError):
                log.exception("Janus did not come back")
                backoff = min(backoff * 2, 30)

    def stop(self):
        self._stopping.set()
        process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def start_local_janus(app, echo=print):
    """Run a local Janus for this app if the settings ask for one and it is installed, and point
    the app at it. Returns the LocalJanus, or None (the room then uses the browser mesh)."""
    config = app.config
    binary = find_binary(config.get("JANUS_BINARY"))
    library = library_dir()
    if binary is None or library is None:
        return None
    local = LocalJanus(
        Path(config["INSTANCE_DIR"]) / "janus",
        binary,
        library,
        ice_enforce_list=config.get("JANUS_ICE_ENFORCE_LIST"),
        rtp_port_range=config["JANUS_RTP_PORT_RANGE"],
    )
    try:
        local.start()
    except (OSError, RuntimeError) as exc:
        echo(f"  Janus did not start ({exc}); rooms use browser-to-browser video instead.")
        local.stop()
        return None
    config.update(
        JANUS_INSTANCES=[
            {
                "name": local.instance.name,
                "api": local.instance.api,
                "admin": local.instance.admin,
                "public": local.instance.public,
            }
        ],
        JANUS_TOKEN_SECRET=local.secrets["token_secret"],
        JANUS_ADMIN_SECRET=local.secrets["admin_secret"],
        JANUS_ADMIN_KEY=local.secrets["admin_key"],
    )
    app.extensions["peerlearn_local_janus"] = local
    return local
