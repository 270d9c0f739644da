"""Readiness: whether each part this install runs on answers now (``GET /readyz``).

``/healthz`` only says the web process lives and reaches its database. Readiness asks every
dependency the runtime mode uses, each within a short timeout: the database (a real query on a
table sign-in reads), Redis (jobs, the Socket.IO message queue), the RQ workers' and the cron
scheduler's heartbeats (when jobs do not run inline), Janus (when rooms use it) and the store of
photos and covers (a GET to the bucket, or a write in the folder). Each check
answers a state and a short detail; a check that raises is "down" with the error's class, so a
broken dependency makes a 503, never a 500.

Which checks are required follows the mode: the embedded mode (``make run``) needs only its
database (its local Janus, if any, is reported, not required); with Redis, Redis, a worker and
the cron scheduler are required too (when jobs are queued), and Janus when rooms use it. A bucket
(STORAGE_BACKEND=s3) is required in every mode, as pages show its images; the local folder is
reported, not required (unwritable, only uploads fail, and every process on the VM shares it). The
report is kept ``CACHE_SECONDS`` per process, so a storm of probes costs one round of checks.
"""

import re
import threading
import time
from dataclasses import asdict, dataclass

from flask import current_app
from sqlalchemy import text

from ..extensions import db

CACHE_SECONDS = 2.0
DATABASE_TIMEOUT_MS = 2000
REDIS_TIMEOUT_SECONDS = 1.0
JANUS_TIMEOUT_SECONDS = 2.0

# The cron scheduler (worker.py cron) refreshes this key on every tick, with a TTL of
# READYZ_HEARTBEAT_SECONDS: while it exists, the scheduler was alive that recently.
CRON_HEARTBEAT_KEY = "peerlearn:cron:heartbeat"
# Set (for READYZ_WORKER_GRACE_SECONDS) whenever a check finds a live worker; see check_workers.
WORKER_SEEN_KEY = "peerlearn:worker:seen"

UP, DOWN, INLINE, NOT_CONFIGURED = "up", "down", "inline", "not configured"


@dataclass(frozen=True)
class Check:
    state: str
    detail: str
    required: bool

    @property
    def failing(self):
        return self.required and self.state != UP


def beat_cron(connection, ttl_seconds):
    """Record that the cron scheduler is alive (called on each of its ticks)."""
    connection.set(CRON_HEARTBEAT_KEY, str(int(time.time())), ex=ttl_seconds)


def report(now=time.monotonic):
    """``(ready, checks)``: ready when every required check is up; ``checks`` maps each
    dependency's name to its state, detail and whether it is required. Kept ``CACHE_SECONDS``
    per app; concurrent callers wait for one round of checks instead of each running it."""
    app = current_app._get_current_object()
    cache = app.extensions.setdefault("peerlearn_readiness", {"lock": threading.Lock(), "at": None})
    with cache["lock"]:
        if cache["at"] is None or now() - cache["at"] >= CACHE_SECONDS:
            cache["value"] = run_checks(app.config)
            cache["at"] = now()
        checks = cache["value"]
    ready = not any(check.failing for check in checks.values())
    return ready, {name: asdict(check) for name, check in checks.items()}


def run_checks(config):
    """Every check, now, uncached."""
    redis_urls = _redis_urls(config)
    queued_jobs = not config["JOBS_INLINE"]
    checks = {"database": _guarded(check_database, required=True)}
    checks["redis"] = _guarded(check_redis, redis_urls, required=bool(redis_urls))
    if queued_jobs:
        checks["worker"] = _guarded(check_workers, config, required=True)
        checks["cron"] = _guarded(check_cron, config, required=True)
    else:
        checks["worker"] = Check(INLINE, "jobs run inline in the web process", required=False)
        checks["cron"] = Check(INLINE, "periodic jobs run in the web process", required=False)
    # The embedded mode (no Redis: one process does it all) needs only its database; its local
    # Janus, when `make run` started one, is reported but not required.
    embedded = not redis_urls
    checks["janus"] = _guarded(check_janus, config, required=not embedded and _janus_required(config))
    checks["storage"] = _guarded(check_storage, required=config["STORAGE_BACKEND"] == "s3")
    return checks


def _guarded(check, *args, required):
    try:
        state, detail = check(*args)
    except Exception as exc:  # a failing dependency is a state to report, never a 500
        state, detail = DOWN, f"{type(exc).__name__}: {_short(exc)}"
    return Check(state, detail, required)


def _short(exc, limit=160):
    message = " ".join(str(exc).split())
    return message if len(message) <= limit else message[: limit - 1] + "…"


def check_database():
    """A real query on the users table (which every sign-in reads), under a statement timeout
    on PostgreSQL, on a connection of its own so no request's transaction is touched."""
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SET LOCAL statement_timeout = {DATABASE_TIMEOUT_MS}"))
        connection.execute(text("SELECT id FROM users LIMIT 1")).all()
        connection.rollback()
    return UP, f"{db.engine.dialect.name} answers"


def _redis_urls(config):
    urls = [config["REDIS_URL"], config["SOCKETIO_MESSAGE_QUEUE"]]
    return list(dict.fromkeys(url for url in urls if url))


def _client(url):
    from redis import Redis

    return Redis.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
    )


def check_redis(urls):
    if not urls:
        return NOT_CONFIGURED, "no REDIS_URL or SOCKETIO_MESSAGE_QUEUE"
    for url in urls:
        client = _client(url)
        try:
            client.ping()
        finally:
            client.close()
    return UP, "PING answered" if len(urls) == 1 else f"PING answered by all {len(urls)}"


def check_workers(config):
    """Up when at least one RQ worker is registered and its last heartbeat is within the
    worker's own TTL (RQ refreshes it at least that often, also while idle), or when one was
    within the last READYZ_WORKER_GRACE_SECONDS: a worker being restarted (an upgrade) is gone
    for a few seconds, and every web process of every VM turning unready meanwhile would take
    the whole site out of its load balancer for what queued jobs wait out anyway."""
    from datetime import UTC, datetime

    from rq import Worker

    grace = config["READYZ_WORKER_GRACE_SECONDS"]
    client = _client(config["REDIS_URL"])
    try:
        workers = Worker.all(connection=client)
        now = datetime.now(UTC)
        alive = [
            worker
            for worker in workers
            if worker.last_heartbeat is not None
            and (now - worker.last_heartbeat.replace(tzinfo=UTC)).total_seconds() <= worker.worker_ttl + 60
        ]
        if alive:
            if grace:
                client.set(WORKER_SEEN_KEY, "1", ex=grace)
            queues = sorted({name for worker in alive for name in worker.queue_names()})
            return UP, f"{len(alive)} worker(s) on {', '.join(queues)}"
        left = client.ttl(WORKER_SEEN_KEY) if grace else 0
    finally:
        client.close()
    if left > 0:
        return UP, f"no RQ worker now, one {grace - left} s ago (restarting?); down after {grace} s"
    return DOWN, "no RQ worker with a recent heartbeat" if workers else "no RQ worker registered"


def check_cron(config):
    client = _client(config["REDIS_URL"])
    try:
        beat = client.get(CRON_HEARTBEAT_KEY)
    finally:
        client.close()
    if beat is None:
        return DOWN, f"no heartbeat within {config['READYZ_HEARTBEAT_SECONDS']} s (worker.py cron)"
    return UP, f"heartbeat {max(0, int(time.time()) - int(beat))} s ago"


def check_storage():
    from .storage import StorageCheckFailed, get_storage

    store = get_storage()
    try:
        return UP, f"{store.kind}: {store.check()}"
    except StorageCheckFailed as exc:
        return DOWN, f"{store.kind}: {exc.message}"


def _janus_required(config):
    return config["ROOM_MEDIA"] != "mesh" and bool(config["JANUS_INSTANCES"])


def check_janus(config):
    from ..media.janus import Instance, Janus

    if config["ROOM_MEDIA"] == "mesh":
        return NOT_CONFIGURED, "ROOM_MEDIA=mesh: browser to browser"
    if not config["JANUS_INSTANCES"]:
        return NOT_CONFIGURED, "no JANUS_INSTANCES: rooms run browser to browser"
    names = []
    for item in config["JANUS_INSTANCES"]:
        instance = Instance.from_config(item)
        janus = Janus(
            instance,
            token_secret=config["JANUS_TOKEN_SECRET"],
            admin_secret=config["JANUS_ADMIN_SECRET"],
            admin_key=config["JANUS_ADMIN_KEY"],
            timeout=min(JANUS_TIMEOUT_SECONDS, config["JANUS_TIMEOUT_SECONDS"]),
        )
        try:
            janus.info()
        except Exception as exc:
            # requests' message nests the URL in wrappers; the errno, when there is one, says it all.
            errno = re.search(r"\[Errno -?\d+\] [^'\")]+", str(exc))
            reason = f" ({errno.group(0)})" if errno else ""
            return DOWN, f"{instance.name}: {type(exc).__name__}{reason}"
        names.append(instance.name)
    return UP, f"{', '.join(names)} answer(s) /info"
