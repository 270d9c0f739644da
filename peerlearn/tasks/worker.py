"""The RQ worker classes `worker.py` runs."""

from flask import current_app
from rq import SimpleWorker, Worker


class _AppContextPerJob:
    """Each job runs in a fresh app context of the one app the worker built: the database session
    (scoped to the app context) and ``g`` start empty and are torn down after the job, so nothing
    one job loaded or left in a failed transaction reaches the next."""

    def perform_job(self, job, queue, *args, **kwargs):
        with current_app._get_current_object().app_context():
            return super().perform_job(job, queue, *args, **kwargs)


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
