"""A redis-server of the test's own, to stop and start under a running app."""

import shutil
import subprocess
import time

from tests.conftest import free_port, unavailable


class RedisServer:
    """A redis-server of our own on a free port, without persistence; stop() and start() at will."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        from redis import Redis

        self.process = subprocess.Popen(  # noqa: S603 - a fixed argument list of our own, no shell
            [  # noqa: S607 - a Debian-installed program found on PATH
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        client = Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


def own_redis_server(*, started=True):
    """A fixture's body: a RedisServer for one test (skipped where redis-server is not installed),
    started unless ``started`` is False, and stopped after it."""
    if not shutil.which("redis-server"):
        unavailable("redis-server is not installed")
    server = RedisServer()
    if started:
        server.start()
    yield server
    server.stop()
