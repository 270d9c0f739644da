"""Background jobs: the functions in this package run on an RQ worker or, in the embedded
mode (no Redis), inline in the process that enqueued them. Either way they are the same code."""

import logging
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, g, has_request_context

from ..logs import current_request_id, request_id_set

log = logging.getLogger(__name__)

# A worker takes from its queues in this order: composing a recording (minutes of ffmpeg) last.
QUEUES = ("emails", "recommendations", "default", "recordings")
# Queues whose jobs may run longer than RQ_JOB_TIMEOUT, and the setting that says how long.
QUEUE_TIMEOUTS = {"recordings": "RECORDINGS_JOB_TIMEOUT"}

# A job that raises is tried again after these pauses (seconds), then left in the failed registry.
RETRY_INTERVALS = (10, 60, 300)


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
    timeout = current_app.config[QUEUE_TIMEOUTS.get(name, "RQ_JOB_TIMEOUT")]
    return Queue(name, connection=redis_connection(), default_timeout=timeout)


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

    retry = Retry(max=len(RETRY_INTERVALS), interval=list(RETRY_INTERVALS))
    # RQ counts the retries down and keeps no record of how many there were: the meta does.
    # The worker logs the job with the id of the request that enqueued it (peerlearn.logs).
    meta = {"attempts_allowed": len(RETRY_INTERVALS) + 1, "request_id": current_request_id()}
    try:
        get_queue(queue_name).enqueue(func, *args, job_id=job_id, retry=retry, meta=meta)
    except RedisError:
        log.warning("Redis unavailable; %s stays queued for the next sweep", func.__name__)
        return False
    return True


def run_inline(func, args):
    """Run a job now, in this process, as the embedded mode does: a failure is logged, not raised."""
    return _run_inline(func, args)


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
            request_id = current_request_id()

            def run():
                with app.app_context(), request_id_set(request_id):
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
    requeued = 0
    for registry in failed_jobs(queue_names):
        for job_id in registry.get_job_ids():
            requeued += _requeue(registry, job_id) is not None
    return requeued


def requeue_failed_job(job_id, queue_names=QUEUES):
    """Put the failed job ``job_id`` back on its queue. Returns the job, or None when no failed
    registry of these queues holds it (never failed, already requeued, or its data expired)."""
    for registry in failed_jobs(queue_names):
        if registry.connection.zscore(registry.key, job_id) is not None:
            return _requeue(registry, job_id)
    return None


def job_exists(job_id):
    """Whether RQ still holds the job ``job_id`` (queued, running, finished or failed)."""
    from rq.job import Job

    return Job.exists(job_id, connection=redis_connection())


def _requeue(registry, job_id):
    """Move one job from ``registry`` back to its queue, counting the requeue in its meta (saved
    with the job as it is enqueued). None when it is gone meanwhile or its data expired."""
    from rq.exceptions import InvalidJobOperation, NoSuchJobError
    from rq.job import Job

    try:
        job = Job.fetch(job_id, connection=registry.connection)
    except NoSuchJobError:  # its data expired before its registry entry
        registry.remove(job_id)
        return None
    job.meta["requeued"] = job.meta.get("requeued", 0) + 1
    try:
        return registry.requeue(job)
    except InvalidJobOperation:  # another requeue took it first
        return None


def plain_name(function):
    """A job's function in words: ``peerlearn.tasks.email.send_email`` is "Send email"."""
    plain = (function or "").rpartition(".")[2].replace("_", " ").strip()
    return plain.capitalize() if plain else "Unknown job"


@dataclass(frozen=True)
class FailedJob:
    """What the failed registry tells of one job. ``attempts_allowed`` is None for a job whose
    retries were not recorded (enqueued with a Retry but without the meta ``enqueue`` writes)."""

    id: str
    queue: str
    function: str
    failed_at: datetime | None
    attempts: int | None
    attempts_allowed: int | None
    requeued: int
    traceback: str

    @property
    def name(self):
        return plain_name(self.function)

    @property
    def error(self):
        """The traceback's last line: the exception and its message."""
        lines = [line for line in self.traceback.splitlines() if line.strip()]
        return lines[-1].strip() if lines else ""


def list_failed(offset=0, limit=None, queue_names=QUEUES):
    """The jobs in the failed registries of ``queue_names``, newest first: ``(jobs, total)``,
    ``limit`` of them from ``offset``.

    A registry scores each job by when it expires (the time it failed plus its failure TTL, one
    year for every job here), so that order is the order they failed in; only the first
    ``offset + limit`` ids of each registry are read to cut a page."""
    connection = redis_connection()
    registries = failed_jobs(queue_names)
    end = -1 if limit is None else offset + limit - 1
    with connection.pipeline() as pipe:
        for registry in registries:
            registry.cleanup()
            pipe.zcard(registry.key)
            pipe.zrange(registry.key, 0, end, desc=True, withscores=True)
        replies = pipe.execute()
    total = sum(replies[0::2])
    entries = [
        (score, job_id.decode(), registry.name)
        for registry, ranked in zip(registries, replies[1::2], strict=True)
        for job_id, score in ranked
    ]
    entries.sort(reverse=True)
    page = entries[offset:] if limit is None else entries[offset : offset + limit]
    from rq.job import Job

    jobs = Job.fetch_many([job_id for _score, job_id, _queue in page], connection=connection)
    found = [_failed_job(job, job_id, queue) for job, (_score, job_id, queue) in zip(jobs, page, strict=True)]
    return found, total


def _failed_job(job, job_id, queue):
    if job is None:  # its data expired before its registry entry; a requeue clears it
        return FailedJob(job_id, queue, "", None, None, None, 0, "")
    result = job.latest_result()
    traceback = (result.exc_string if result is not None else "") or ""
    failed_at = job.ended_at or (result.created_at if result is not None else None)
    function = job.func_name or ""
    requeued = int(job.meta.get("requeued", 0))
    allowed = job.meta.get("attempts_allowed")
    if allowed is None and job.retries_left is None and not job.retry_intervals:
        allowed = 1  # enqueued without retries
    attempts = None if allowed is None else allowed - (job.retries_left or 0) + requeued
    return FailedJob(job.id, queue, function, failed_at, attempts, allowed, requeued, traceback)
