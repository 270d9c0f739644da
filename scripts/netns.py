"""A private network for anything that makes WebRTC connections: browsers, the app, Janus.

WebRTC gathers candidates on every interface it finds. On a shared machine that would put the
machine's own address into tests and benchmarks, so room tests run in a network namespace of
their own that holds only loopback (127.0.0.1) and one veth pair carrying 127.0.0.2 (Janus skips
loopback interfaces when it gathers candidates, so it is pinned to 127.0.0.2 instead). Nothing
in the namespace can reach, or be reached from, any other network.

    with PrivateNetwork() as net:
        subprocess.run(net.wrap(["ip", "addr"]))   # a command inside
        net.call(lambda: urllib.request.urlopen("http://127.0.0.1:5000/healthz"))  # Python inside
        os.environ["PLAYWRIGHT_NODEJS_PATH"] = net.node_wrapper(node)  # Playwright's driver inside

The namespace lives as long as a holder process (``unshare --net sleep``); commands enter it
with ``nsenter``, and Python code enters it on a thread of its own (``setns`` moves only the
calling thread). Creating one needs root or CAP_SYS_ADMIN: ``problem()`` says why it can't be.
"""

import ctypes
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

JANUS_ADDRESS = "127.0.0.2"
CLONE_NEWNET = 0x40000000


class NamespaceError(RuntimeError):
    """The namespace could not be made here; the message says why."""


def problem():
    """Why a private network can't be made on this machine, or None."""
    missing = [tool for tool in ("unshare", "nsenter", "ip") if shutil.which(tool) is None]
    if missing:
        return f"{', '.join(missing)} not found (util-linux and iproute2)"
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True, text=True, check=False)  # noqa: S607 - a Debian-installed program found on PATH
    if probe.returncode != 0:
        return f"network namespaces are not allowed here ({probe.stderr.strip() or 'unshare failed'})"
    return None


class PrivateNetwork:
    """One network namespace with loopback and 127.0.0.2, until ``stop()``."""

    def __init__(self):
        self.holder = None
        self._folder = None

    @property
    def pid(self):
        return self.holder.pid

    def start(self):
        reason = problem()
        if reason:
            raise NamespaceError(reason)
        self.holder = subprocess.Popen(
            ["unshare", "--net", "--", "sleep", "infinity"],  # noqa: S607 - a Debian-installed program found on PATH
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            self._wait_for_namespace()
            for command in (
                ["ip", "link", "set", "lo", "up"],
                ["ip", "link", "add", "plmedia0", "type", "veth", "peer", "name", "plmedia1"],
                ["ip", "addr", "add", f"{JANUS_ADDRESS}/32", "dev", "plmedia0"],
                ["ip", "link", "set", "plmedia0", "up"],
                ["ip", "link", "set", "plmedia1", "up"],
            ):
                result = subprocess.run(self.wrap(command), capture_output=True, text=True, check=False)  # noqa: S603 - a fixed argument list of our own, no shell
                if result.returncode != 0:
                    raise NamespaceError(f"{' '.join(command)} failed: {result.stderr.strip()}")
        except BaseException:
            self.stop()
            raise
        self._folder = tempfile.TemporaryDirectory(prefix="peerlearn-netns-")
        return self

    def _wait_for_namespace(self):
        # unshare execs sleep once the namespace exists; until then /proc shows the parent's.
        own = os.readlink("/proc/self/ns/net")
        for _ in range(200):
            if self.holder.poll() is not None:
                raise NamespaceError("unshare --net exited at once")
            try:
                if os.readlink(f"/proc/{self.pid}/ns/net") != own:
                    return
            except OSError:
                pass
            threading.Event().wait(0.01)
        raise NamespaceError("the namespace did not appear")

    def wrap(self, command):
        """``command`` (a list) run inside the namespace."""
        return ["nsenter", "-t", str(self.pid), "-n", "--", *command]

    def call(self, function, *args, **kwargs):
        """Run ``function`` on a thread inside the namespace and return its result (or raise its
        exception). Sockets it opens, and processes it starts, are in the namespace."""
        outcome = {}

        def run():
            try:
                with open(f"/proc/{self.pid}/ns/net") as handle:
                    libc = ctypes.CDLL(None, use_errno=True)
                    if libc.setns(handle.fileno(), CLONE_NEWNET) != 0:
                        raise NamespaceError(f"setns failed: {os.strerror(ctypes.get_errno())}")
                outcome["value"] = function(*args, **kwargs)
            except BaseException as exc:  # handed to the caller
                outcome["error"] = exc

        thread = threading.Thread(target=run, name="in-private-network")
        thread.start()
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    def node_wrapper(self, node):
        """An executable that runs ``node`` inside the namespace: set it as
        PLAYWRIGHT_NODEJS_PATH and Playwright's driver, its browsers and its API requests are
        all inside."""
        path = Path(self._folder.name) / "node"
        path.write_text(f'#!/bin/sh\nexec nsenter -t {self.pid} -n -- "{node}" "$@"\n')
        path.chmod(0o755)
        return str(path)

    def stop(self):
        if self.holder is not None and self.holder.poll() is None:
            self.holder.kill()
            self.holder.wait(timeout=10)
        self.holder = None
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()
