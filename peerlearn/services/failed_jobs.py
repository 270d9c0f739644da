"""The failed jobs, for the admins: the jobs RQ left in its failed registries (their retries used
up, or their worker gone), a page at a time, and putting them back on their queues.

The jobs live in Redis and the audit log in the database, so a requeue cannot share a transaction
with its entry: the job is requeued first and the entry written after, which at worst leaves a
requeue unrecorded (the database refusing the entry), never an entry for a requeue that did not
happen. Redis being away is a ``JobsUnavailable``; with jobs run inline there is no registry."""

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from redis.exceptions import RedisError

from ..exceptions import Conflict, DomainError, NotFound
from ..extensions import db
from ..tasks import job_exists, list_failed, plain_name, requeue_failed, requeue_failed_job
from . import audit
from .pagination import Page


class JobsUnavailable(DomainError):
    """Redis, which holds the queues and their failed registries, cannot be reached."""

    status = 503
    code = "jobs_unavailable"


UNREACHABLE = _l(
    "Redis cannot be reached, so failed jobs cannot be read or requeued. Try again when it is back."
)


def jobs_inline():
    """True when jobs run inline (no Redis): a failure is logged where it happens, and kept nowhere."""
    return bool(current_app.config["JOBS_INLINE"])


def find_failed(*, page=1, per_page):
    """Page ``page`` of the failed jobs across the app's queues, newest first."""
    if jobs_inline():
        return Page([], 0, page, per_page)
    try:
        jobs, total = list_failed(offset=(page - 1) * per_page, limit=per_page)
    except RedisError as exc:
        raise JobsUnavailable(str(UNREACHABLE)) from exc
    return Page(jobs, total, page, per_page)


def requeue(admin, job_id, *, origin=None):
    """Put the failed job ``job_id`` back on its queue; NotFound when RQ has no such job, Conflict
    when it has one that is not failed (another admin, or the CLI, requeued it first)."""
    _require_queues()
    try:
        job = requeue_failed_job(job_id)
        exists = job is not None or job_exists(job_id)
    except RedisError as exc:
        raise JobsUnavailable(str(UNREACHABLE)) from exc
    if job is None:
        if exists:
            raise Conflict(_("Job %(job)s is not failed any more; nothing was requeued.", job=job_id))
        raise NotFound(_("There is no job %(job)s.", job=job_id))
    audit.record(
        admin,
        audit.JOB_REQUEUE,
        target_type="job",
        details={"job_id": job.id, "job": plain_name(job.func_name), "queue": job.origin},
        origin=origin,
    )
    db.session.commit()
    return job


def requeue_all(admin, *, origin=None):
    """Put every failed job back on its queue. Returns how many were requeued."""
    _require_queues()
    try:
        count = requeue_failed()
    except RedisError as exc:
        raise JobsUnavailable(str(UNREACHABLE)) from exc
    if count:
        details = {"requeued": count}
        audit.record(admin, audit.JOB_REQUEUE_ALL, target_type="job", details=details, origin=origin)
        db.session.commit()
    return count


def _require_queues():
    if jobs_inline():
        raise Conflict(
            _("Jobs run inline here: there are no failed jobs to requeue (failures are in the log).")
        )
