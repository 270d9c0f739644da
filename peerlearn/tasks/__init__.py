"""Background jobs: the functions in this package run on an RQ worker or, in the embedded
mode (no Redis), inline in the process that enqueued them. Either way they are the same code."""

import logging

from flask import current_app, g, has_request_context

log = logging.getLogger(__name__)

QUEUES = ("emails", "recommendations", "default")


def redis_connection():
    """One Redis client per app, created on first use.

    Its connections give up after a couple of seconds, so an unreachable Redis turns an enqueue
    into a quick RedisError (the records stay queued) instead of a request hanging on a connect.
    RQ's worker lengthens the read timeout of its own connection to outlast its blocking pop."""
    app = current_app._get_current_object()
    client = app.extensions.get("peerlearn_redis")
    if client is None:
        from redis import Redis

        client = Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=10)
        app.extensions["peerlearn_redis"] = client
    return client


def get_queue(name):
    from rq import Queue

    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=redis_connection(), default_timeout=current_app.config["RQ_JOB_TIMEOUT"])


def enqueue(queue_name, func, *args, job_id=None, after_response=False):
    """Run ``func(*args)`` on the named queue, or now when jobs run inline.

    Call only after the transaction that created the job's records has committed. Returns
    False when Redis cannot be reached: the records stay queued and a sweep sends them later.

    ``after_response``: when jobs run inline during a request, run the job once the response has
    been sent (the server closing it) rather than before answering, so how long the answer took
    says nothing of what the job found to do (a reset request for a registered address must
    take as long as one for an unknown address). JOBS_AFTER_RESPONSE=false runs it at once.
    """
    if current_app.config["JOBS_INLINE"]:
        if after_response and has_request_context() and current_app.config["JOBS_AFTER_RESPONSE"]:
            g.setdefault("jobs_after_response", []).append((func, args))
            return True
        return _run_inline(func, args)
    from redis.exceptions import RedisError
    from rq import Retry

    try:
        get_queue(queue_name).enqueue(func, *args, job_id=job_id, retry=Retry(max=3, interval=[10, 60, 300]))
    except RedisError:
        log.warning("Redis unavailable; %s stays queued for the next sweep", func.__name__)
        return False
    return True


def _run_inline(func, args):
    try:
        func(*args)
    except Exception:
        # The caller's change is committed; a failed side job must not turn it into an
        # error. Its records stay queued and `flask emails send-queued` retries them.
        log.exception("inline job %s%r failed", func.__name__, args)
        return False
    return True


def init_app(app):
    """Hand the jobs a request left for after its response to the response's close, which the
    WSGI server calls once the last byte is sent; they run in an app context of their own."""

    @app.after_request
    def run_jobs_after_response(response):
        jobs = g.pop("jobs_after_response", None)
        if jobs:

            def run():
                with app.app_context():
                    for func, args in jobs:
                        _run_inline(func, args)

            response.call_on_close(run)
        return response


def failed_jobs(queue_names=QUEUES):
    """The failed-job registries of the named queues (jobs that used up their retries, or whose
    worker died and was not retried). RQ keeps them for a year by default."""
    return [get_queue(name).failed_job_registry for name in queue_names]


def failed_job_count(queue_names=QUEUES):
    """How many jobs sit in the failed registries: None when jobs run inline (there are none)
    or when Redis cannot be reached."""
    if current_app.config["JOBS_INLINE"]:
        return None
    from redis.exceptions import RedisError

    try:
        return sum(registry.count for registry in failed_jobs(queue_names))
    except RedisError:
        log.warning("Redis unavailable; cannot count failed jobs")
        return None


def requeue_failed(queue_names=QUEUES):
    """Put every failed job back on its queue. Returns how many were requeued."""
    from rq.exceptions import InvalidJobOperation, NoSuchJobError

    requeued = 0
    for registry in failed_jobs(queue_names):
        for job_id in registry.get_job_ids():
            try:
                registry.requeue(job_id)
            except (InvalidJobOperation, NoSuchJobError):  # gone meanwhile, or its data expired
                registry.remove(job_id)
                continue
            requeued += 1
    return requeued
