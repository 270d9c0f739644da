"""A fresh install's first day: the database just migrated, no session, no booking, only the admin
the install creates. The periodic jobs the cron scheduler enqueues, the recommendations' rebuild
among them, run on the RQ worker and succeed: nothing to learn from yet is not an error."""

import logging

import pytest
from flask_migrate import upgrade

from peerlearn.extensions import db
from peerlearn.models import RecommenderState
from peerlearn.services import recommendations
from peerlearn.tasks import get_queue, redis_connection
from peerlearn.tasks.periodic import PERIODIC_JOBS
from peerlearn.tasks.recommendations import rebuild_if_stale
from peerlearn.tasks.worker import AppWorker
from tests.factories import UserFactory
from tests.support.migrations import migrated_app

pytestmark = pytest.mark.redis


@pytest.fixture
def first_day_app(tmp_path, redis_url):
    """An app on a database built by the migrations alone (as `flask db upgrade` on a new VM),
    its jobs on Redis."""
    app = migrated_app(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    app.config.update(INSTANCE_DIR=str(tmp_path / "instance"), REDIS_URL=redis_url, JOBS_INLINE=False)
    with app.app_context():
        upgrade()
        UserFactory(role="admin", email="ops@example.com")
        yield app
        db.session.remove()
        client = app.extensions.pop("peerlearn_redis", None)
        if client is not None:
            client.close()
        db.engine.dispose()


def run_worker(queue_names):
    queues = [get_queue(name) for name in queue_names]
    AppWorker(queues, connection=redis_connection()).work(burst=True)
    return queues


def test_the_recommendations_rebuild_on_an_empty_catalog_succeeds_quietly(first_day_app, caplog):
    get_queue("recommendations").enqueue(rebuild_if_stale)

    with caplog.at_level(logging.INFO):
        (queue,) = run_worker(["recommendations"])

    assert queue.failed_job_registry.count == 0
    assert queue.finished_job_registry.count == 1
    (job_id,) = queue.finished_job_registry.get_job_ids()
    summary = queue.fetch_job(job_id).return_value()
    assert (summary["sessions"], summary["interactions"], summary["version"]) == (0, 0, 1)
    assert db.session.get(RecommenderState, "model") is not None and recommendations.built_at() is not None
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert problems == []

    # The next run within the interval has nothing to do, and says so by returning nothing.
    get_queue("recommendations").enqueue(rebuild_if_stale)
    run_worker(["recommendations"])
    assert queue.failed_job_registry.count == 0 and queue.finished_job_registry.count == 2


def test_every_periodic_job_succeeds_on_the_first_day(first_day_app, caplog):
    """What the cron scheduler enqueues in its first minute, each job once."""
    for func, queue_name, _interval in PERIODIC_JOBS:
        get_queue(queue_name).enqueue(func)

    with caplog.at_level(logging.INFO):
        queues = run_worker(sorted({queue_name for _func, queue_name, _interval in PERIODIC_JOBS}))

    failed = {queue.name: queue.failed_job_registry.get_job_ids() for queue in queues}
    assert all(ids == [] for ids in failed.values()), failed
    assert sum(queue.finished_job_registry.count for queue in queues) == len(PERIODIC_JOBS)
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert problems == []
