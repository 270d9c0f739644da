"""The RQ worker classes `worker.py` runs, and how it keeps them running through Redis outages."""

import contextlib
import logging
import time

import rq.cron
from flask import current_app
from redis.exceptions import RedisError
from rq import SimpleWorker, Worker, worker_registration
from rq.exceptions import SchedulerNotFound, StopRequested

from ..logs import request_id_set
from ..services.readiness import beat_cron

log = logging.getLogger(__name__)

# After Redis stops answering, ask again after 1, 2, 4 … seconds, never more than this apart.
FIRST_WAIT_SECONDS = 1
MAX_WAIT_SECONDS = 30


class _AppContextPerJob:
    """Each job runs in a fresh app context of the one app the worker built: the database session
    (scoped to the app context) and ``g`` start empty and are torn down after the job, so nothing
    one job loaded or left in a failed transaction reaches the next. Its log records carry the id
    of the request that enqueued it (peerlearn.logs), or its own job id when none did."""

    stop_asked = False

    def perform_job(self, job, queue, execution, *args, **kwargs):
        request_id = job.meta.get("request_id") or job.id
        global _running
        _running = (self, queue, execution)
        try:
            with current_app._get_current_object().app_context(), request_id_set(request_id):
                return super().perform_job(job, queue, execution, *args, **kwargs)
        finally:
            _running = None

    def heartbeat(self, timeout=None, pipeline=None):
        super().heartbeat(timeout, pipeline=pipeline)
        if pipeline is None and not self.connection.hexists(self.key, "birth"):
            # Redis came back empty (restarted without its data, or a failover) while this worker
            # waited for jobs: it works on, but its registration is gone, and with it its place
            # in Worker.all(), which /readyz and the admin read. Register it again.
            log.warning("worker %s: Redis forgot this worker; registering it again", self.name)
            with self.connection.pipeline() as again:
                again.hset(self.key, mapping=self.serialize())
                worker_registration.register(self, again)
                again.expire(self.key, timeout or self.worker_ttl + 60)
                again.execute()

    def request_stop(self, signum, frame):
        # SIGTERM or SIGINT: the work loop ends because it was asked to, not because Redis went.
        self.stop_asked = True
        super().request_stop(signum, frame)


# The worker, queue and execution of the job running in this process (AppWorker), for keep_alive.
_running = None
_last_kept_alive = 0.0
# A long job that reports progress holds its place in the started registry this long at a time.
KEEP_ALIVE_SECONDS = 90


def keep_alive():
    """Called now and then by a long job (composing a recording) as it makes progress: renew its
    place in the started registry for KEEP_ALIVE_SECONDS, at most every 10 s.

    RQ's in-process worker cannot heartbeat while a job runs, so it registers the job for the
    job's whole timeout (two hours for a recording): a worker killed mid-job would leave it
    looking alive that long. Renewed in short steps, a killed job is found abandoned (and retried,
    resuming) within minutes. In a forked work-horse the parent heartbeats already: nothing to do."""
    global _last_kept_alive
    if _running is None or time.monotonic() - _last_kept_alive < 10:
        return
    worker, queue, execution = _running
    if execution is None:
        return
    _last_kept_alive = time.monotonic()
    try:
        with worker.connection.pipeline() as pipeline:
            worker.heartbeat(KEEP_ALIVE_SECONDS, pipeline=pipeline)
            execution.heartbeat(queue.started_job_registry, KEEP_ALIVE_SECONDS, pipeline=pipeline)
            pipeline.execute()
    except RedisError as exc:  # the job goes on; RQ's own registration still holds
        log.warning("could not renew the running job's heartbeat: %s", exc)


class AppWorker(_AppContextPerJob, SimpleWorker):
    """Runs jobs in the worker process itself. The app, its imports and its database pool are set
    up once, so a short job (an email) costs its queries and its send, not a fork and a new
    database connection. RQ still enforces the job timeout (SIGALRM), and a killed worker's jobs
    are found abandoned and retried as with the forking worker."""


class ForkingAppWorker(_AppContextPerJob, Worker):
    """RQ's default: a work-horse process forked per job. Costs a fork and a database connection
    per job; buys isolation for jobs that may leak memory or hang outside Python."""

    def main_work_horse(self, job, queue):
        # The horse must not share the parent's pooled database sockets.
        from ..extensions import db

        db.engine.dispose(close=False)
        return super().main_work_horse(job, queue)


def work_until_stopped(make_worker, connection):
    """Run workers made by ``make_worker()`` one after another until one is asked to stop.

    RQ's worker waits out a Redis outage while it waits for a job, but a connection error anywhere
    else (registering itself at start, its heartbeat, its maintenance, recording a finished job)
    ends its work loop, and the process with it. Here the outage is logged, Redis (``connection``)
    is asked again with a growing pause, and a fresh worker starts once it answers. A job cut off
    by the outage stays in the started registry, where RQ finds it abandoned and retries it."""
    while True:
        worker = None
        try:
            worker = make_worker()
            worker.work(with_scheduler=True)
        except RedisError as exc:
            log.warning("worker stopped: Redis unreachable (%s)", exc)
        if worker is not None and worker.stop_asked:
            return
        try:
            wait_for_redis(connection)
        except StopRequested:  # SIGTERM while waiting, through the last worker's handler
            return
        if worker is not None and worker.stop_asked:
            return
        log.warning("Redis answers; starting the worker again")


def wait_for_redis(connection):
    """Return once ``connection`` answers a PING, asking after 1, 2, 4 … seconds."""
    wait = FIRST_WAIT_SECONDS
    while True:
        time.sleep(wait)
        try:
            connection.ping()
            return
        except RedisError as exc:
            wait = min(wait * 2, MAX_WAIT_SECONDS)
            log.info("Redis still unreachable (%s); asking again in %s s", exc, wait)


class CronScheduler(rq.cron.CronScheduler):
    """RQ's cron scheduler, kept running through Redis outages.

    RQ's own loop ends at the first connection error (and the process exits, to wait for a
    supervisor). This one logs the outage once, tries again after 1, 2, 4 … up to
    MAX_WAIT_SECONDS, and goes on scheduling when Redis answers: the jobs that fell due meanwhile
    are enqueued once, then each keeps its interval. The periodic jobs are safe to run late."""

    def start(self):
        log.info("cron scheduler %s starting", self.name)
        self._install_signal_handlers()
        try:
            self._schedule()
        except (KeyboardInterrupt, StopRequested):
            log.info("cron scheduler %s stopping", self.name)
        finally:
            # Redis may be away, or back empty: the registry forgets a scheduler whose heartbeat stopped.
            with contextlib.suppress(RedisError, SchedulerNotFound):
                self.register_death()

    def _schedule(self):
        registered = False
        wait = None
        while True:
            try:
                if not registered:
                    self.register_birth()
                    registered = True
                if self.enqueue_jobs():
                    self.save()
                self.heartbeat()
                # What /readyz reads (services/readiness.py); it expires if this loop stops.
                beat_cron(self.connection, current_app.config["READYZ_HEARTBEAT_SECONDS"])
            except RedisError as exc:
                if wait is None:
                    wait = FIRST_WAIT_SECONDS
                    log.warning("Redis unreachable (%s); periodic jobs wait until it answers", exc)
                else:
                    wait = min(wait * 2, MAX_WAIT_SECONDS)
                    log.info("Redis still unreachable (%s); asking again in %s s", exc, wait)
                time.sleep(wait)
                continue
            if wait is not None:
                log.warning("Redis answers again; periodic jobs are enqueued again")
                wait = None
            pause = self.calculate_sleep_interval()
            if pause > 0:
                time.sleep(pause)
