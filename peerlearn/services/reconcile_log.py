"""What the payments reconciler found, run after run, for ``/metrics``: how many runs, orders
checked, orders it found paid (their webhook never came), orders it marked failed, gateway
errors, refunds it settled, and when it last ran.

The runs happen in the worker (or inline in the embedded mode) and are scraped from the web
processes, so the totals live in Redis (one hash, raised with HINCRBY) when REDIS_URL is set, and
in this process's memory otherwise (the embedded mode is one process). They count from when that
Redis last started empty; Prometheus's ``increase()`` copes with a counter starting over.
Recording never fails a run: Redis unreachable costs the run's figures and a warning.
"""

import logging
import threading
import time

from flask import current_app
from redis import Redis, RedisError

log = logging.getLogger(__name__)

KEY = "peerlearn:reconcile"
FIGURES = ("runs", "checked", "captured", "failed", "errors", "refunds_settled")
REDIS_TIMEOUT_SECONDS = 1.0

_lock = threading.Lock()


def record(*, checked, captured, failed, errors, refunds_settled):
    """Add one run's findings to the totals."""
    counts = {
        "runs": 1,
        "checked": checked,
        "captured": captured,
        "failed": failed,
        "errors": errors,
        "refunds_settled": refunds_settled,
    }
    now = time.time()
    client = _client()
    if client is None:
        with _lock:
            memory = _memory()
            for name, count in counts.items():
                memory[name] += count
            memory["last_run"] = now
        return
    try:
        with client.pipeline() as pipe:
            for name, count in counts.items():
                pipe.hincrby(KEY, name, count)
            pipe.hset(KEY, "last_run", now)
            pipe.execute()
    except RedisError as exc:
        log.warning("the reconciler's figures for this run were not kept: %s", exc)
    finally:
        client.close()


def totals():
    """{figure: number} of every run so far, and ``last_run`` (a Unix time, 0 for never)."""
    client = _client()
    if client is None:
        with _lock:
            return dict(_memory())
    try:
        stored = client.hgetall(KEY)
    finally:
        client.close()
    return {name: float(stored.get(name.encode(), 0)) for name in (*FIGURES, "last_run")}


def _memory():
    """This app's totals, without Redis (each app its own, as each install)."""
    fresh = dict.fromkeys((*FIGURES, "last_run"), 0.0)
    return current_app.extensions.setdefault("peerlearn_reconcile_log", fresh)


def _client():
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    timeout = REDIS_TIMEOUT_SECONDS
    return Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
