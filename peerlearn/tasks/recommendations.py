"""Recommendation jobs, on the ``recommendations`` queue: the full rebuild (when the last one is
older than RECOMMENDATIONS_REBUILD_MINUTES) and the refresh of one learner after a booking or a
review."""

import logging
from datetime import timedelta

from flask import current_app

from ..models import utcnow
from ..services import recommendations

log = logging.getLogger(__name__)


def rebuild_if_stale():
    """The periodic entry: rebuild when the last build is older than the configured interval."""
    built_at = recommendations.built_at()
    interval = timedelta(minutes=current_app.config["RECOMMENDATIONS_REBUILD_MINUTES"])
    if built_at is not None and utcnow() - built_at < interval:
        return None
    return recommendations.rebuild()


def refresh_learner(user_id):
    return recommendations.refresh_learner(user_id)


def refresh_learner_soon(user_id):
    """Queue a refresh of one learner's lists, once: a refresh already waiting covers this one.
    Call after the change (a booking, a review) has been committed."""
    from . import enqueue

    job_id = f"recommendations-learner-{user_id}"
    if not current_app.config["JOBS_INLINE"] and _waiting(job_id):
        return True
    return enqueue("recommendations", refresh_learner, user_id, job_id=job_id)


def _waiting(job_id):
    from redis.exceptions import RedisError
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus

    from . import redis_connection

    try:
        status = Job.fetch(job_id, connection=redis_connection()).get_status()
    except NoSuchJobError:
        return False
    except RedisError:
        return False  # enqueue reports Redis being down
    return status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED)
