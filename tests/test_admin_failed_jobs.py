"""The admin's failed-jobs page (/admin/jobs): the jobs RQ left in its failed registries, newest
first, with their error, traceback and attempts, and requeue buttons that put them back on their
queues, audited. Real RQ on TEST_REDIS_URL and a SimpleWorker in the test's process."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from rq import SimpleWorker
from rq.job import Job, JobStatus
from sqlalchemy import select

from peerlearn import tasks
from peerlearn.blueprints.admin import jobs as jobs_view
from peerlearn.extensions import db
from peerlearn.models import AuditEntry
from peerlearn.services import audit
from tests.conftest import extract_csrf, free_port

# Whether the relay the job below needs is down, and the names it has run for.
RELAY = {"down": False}
RUNS = []


def deliver_digest(name):
    """A job that fails while the relay is down, as a real one does while its server is away."""
    RUNS.append(name)
    if RELAY["down"]:
        raise ConnectionRefusedError(f"relay refused the digest for {name}")


@pytest.fixture
def outage(monkeypatch):
    """The relay is down; retries come at once (no pause), so a worker's burst uses them all."""
    monkeypatch.setattr(tasks, "RETRY_INTERVALS", (0, 0))
    RELAY["down"] = True
    RUNS.clear()
    yield RELAY
    RELAY["down"] = False
    RUNS.clear()


def work(*queue_names):
    """Run what waits on the queues, retries included, until they are empty."""
    queues = [tasks.get_queue(name) for name in queue_names]
    SimpleWorker(queues, connection=tasks.redis_connection()).work(burst=True)


def fail(queue_name, name, *, at=None):
    """Enqueue ``deliver_digest(name)`` the way the app does and let it fail on every attempt
    (at the moment ``at``, when given). Returns the job's id."""
    job_id = f"digest-{name}"
    with time_machine.travel(at or datetime.now(UTC), tick=False):
        assert tasks.enqueue(queue_name, deliver_digest, name, job_id=job_id) is True
        work(queue_name)
    return job_id


@pytest.fixture
def admin(app, make_user, auth):
    user = make_user(role="admin", email="admin@example.com")
    auth.login("admin@example.com")
    return user


def csrf(client):
    return extract_csrf(client.get("/admin/jobs").get_data(as_text=True))


def card(page, job_id):
    """The job's card on the page (from its opening to the next card or the list's end)."""
    start = page.index(f'data-job-id="{job_id}"')
    end = page.find("data-job-id=", start + 1)
    return page[start : end if end != -1 else len(page)]


@pytest.mark.redis
def test_a_failed_job_is_listed_with_its_error_and_traceback_and_a_requeue_runs_it(
    redis_app, client, admin, outage
):
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "data-jobs-empty" in page and "No job has failed" in page
    assert 'href="/admin/jobs"' in page and "Failed jobs" in page  # the admin tab

    job_id = fail("emails", "asha")
    assert RUNS == ["asha"] * 3  # the first attempt and both retries
    response = client.get("/admin/jobs")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "data-jobs-empty" not in page and 'data-total="1"' in page
    job = card(page, job_id)
    assert "Deliver digest" in job and '<span class="badge">emails</span>' in job
    assert '<time datetime="' in job and "failed " in job
    assert "3 of 3 attempts" in job and "requeued" not in job
    assert "ConnectionRefusedError: relay refused the digest for asha</p>" in job
    traceback = job[job.index("<details") : job.index("</details>")]
    assert "<summary" in traceback and "Traceback (most recent call last)" in traceback
    assert "in deliver_digest" in traceback and "raise ConnectionRefusedError" in traceback

    outage["down"] = False  # the relay is back
    response = client.post(f"/admin/jobs/{job_id}/requeue", data={"csrf_token": csrf(client)})
    assert response.status_code == 303 and response.headers["Location"] == "/admin/jobs"
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert f"Job {job_id} is back on the emails queue." in page and "data-jobs-empty" in page
    assert tasks.failed_job_count() == 0 and tasks.get_queue("emails").count == 1

    work("emails")
    assert RUNS == ["asha"] * 4
    assert Job.fetch(job_id, connection=tasks.redis_connection()).get_status() == JobStatus.FINISHED

    entry = db.session.scalars(select(AuditEntry)).one()
    assert (entry.actor_id, entry.action, entry.target_type) == (admin.id, audit.JOB_REQUEUE, "job")
    assert entry.details == {"job_id": job_id, "job": "Deliver digest", "queue": "emails"}
    log = client.get("/admin/audit").get_data(as_text=True)
    assert f"Requeued the failed job {job_id} (Deliver digest) on the emails queue." in log


@pytest.mark.redis
def test_a_requeued_job_that_fails_again_counts_the_extra_attempt(redis_app, client, admin, outage):
    job_id = fail("default", "ravi")
    client.post(f"/admin/jobs/{job_id}/requeue", data={"csrf_token": csrf(client)})
    work("default")  # the relay is still down: one more attempt, no retries left
    assert RUNS == ["ravi"] * 4
    job = card(client.get("/admin/jobs").get_data(as_text=True), job_id)
    assert "4 of 3 attempts (requeued once)" in job


@pytest.mark.redis
def test_the_list_is_newest_first_across_queues_a_page_at_a_time(
    redis_app, client, admin, outage, monkeypatch
):
    monkeypatch.setattr(jobs_view, "ADMIN_PER_PAGE", 2)
    now = datetime.now(UTC).replace(microsecond=0)
    oldest = fail("emails", "first", at=now - timedelta(minutes=30))
    newest = fail("emails", "third", at=now - timedelta(minutes=10))
    middle = fail("recommendations", "second", at=now - timedelta(minutes=20))

    first = client.get("/admin/jobs").get_data(as_text=True)
    assert 'data-total="3"' in first
    assert first.index(f'data-job-id="{newest}"') < first.index(f'data-job-id="{middle}"')
    assert f'data-job-id="{oldest}"' not in first
    assert '<span class="badge">recommendations</span>' in card(first, middle)
    second = client.get("/admin/jobs?page=2").get_data(as_text=True)
    assert f'data-job-id="{oldest}"' in second
    assert f'data-job-id="{newest}"' not in second and f'data-job-id="{middle}"' not in second

    bad = client.get("/admin/jobs?page=nope")
    assert bad.status_code == 422 and "data-job-id" not in bad.get_data(as_text=True)


@pytest.mark.redis
def test_requeue_all_puts_every_failed_job_back_and_is_audited_once(redis_app, client, admin, outage):
    fail("emails", "asha")
    fail("default", "ravi")
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "Requeue all (2)" in page

    response = client.post("/admin/jobs/requeue-all", data={"csrf_token": csrf(client)})
    assert response.status_code == 303
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "2 failed jobs back on their queues." in page and "data-jobs-empty" in page
    assert tasks.get_queue("emails").count == 1 and tasks.get_queue("default").count == 1
    entry = db.session.scalars(select(AuditEntry)).one()
    assert (entry.action, entry.details) == (audit.JOB_REQUEUE_ALL, {"requeued": 2})
    assert "Requeued 2 failed jobs." in client.get("/admin/audit").get_data(as_text=True)

    client.post("/admin/jobs/requeue-all", data={"csrf_token": csrf(client)})
    assert "There were no failed jobs to requeue." in client.get("/admin/jobs").get_data(as_text=True)
    assert db.session.scalar(select(db.func.count(AuditEntry.id))) == 1  # nothing done, nothing logged


@pytest.mark.redis
def test_requeue_answers_404_for_an_unknown_job_and_says_when_it_is_not_failed(
    redis_app, client, admin, outage
):
    token = csrf(client)
    assert client.post("/admin/jobs/no-such-job/requeue", data={"csrf_token": token}).status_code == 404

    job_id = fail("emails", "asha")
    assert client.post(f"/admin/jobs/{job_id}/requeue", data={"csrf_token": token}).status_code == 303
    again = client.post(f"/admin/jobs/{job_id}/requeue", data={"csrf_token": token})  # a double click
    assert again.status_code == 303
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert f"Job {job_id} is not failed any more; nothing was requeued." in page
    assert tasks.get_queue("emails").count == 1  # queued once
    assert db.session.scalar(select(db.func.count(AuditEntry.id))) == 1


@pytest.mark.redis
def test_requeue_needs_the_csrf_token(redis_app, client, admin, outage):
    job_id = fail("emails", "asha")
    assert client.post(f"/admin/jobs/{job_id}/requeue").status_code == 400
    assert client.post("/admin/jobs/requeue-all").status_code == 400
    assert tasks.failed_job_count() == 1


def test_with_redis_unreachable_the_page_and_the_buttons_say_so(app, client, admin):
    app.config.update(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", JOBS_INLINE=False)
    token = csrf(client)
    response = client.get("/admin/jobs")
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "data-jobs-unavailable" in page and "Redis cannot be reached" in page
    assert "data-jobs-empty" not in page

    for url in ("/admin/jobs/digest-asha/requeue", "/admin/jobs/requeue-all"):
        response = client.post(url, data={"csrf_token": token})
        assert response.status_code == 303
        assert "Redis cannot be reached" in client.get("/admin/jobs").get_data(as_text=True)
    assert db.session.scalar(select(db.func.count(AuditEntry.id))) == 0


def test_with_jobs_inline_the_page_says_failures_are_in_the_log(app, client, admin):
    response = client.get("/admin/jobs")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "data-jobs-inline" in page and "written to the log" in page
    assert "data-jobs-empty" not in page and "Requeue all" not in page

    client.post("/admin/jobs/requeue-all", data={"csrf_token": csrf(client)})
    assert "Jobs run inline here" in client.get("/admin/jobs").get_data(as_text=True)


@pytest.mark.parametrize("role", ["learner", "mentor"])
def test_only_admins_see_or_requeue_failed_jobs(app, client, make_user, auth, role):
    make_user(role=role, email="someone@example.com")
    auth.login("someone@example.com")
    token = extract_csrf(client.get("/profile").get_data(as_text=True))
    assert client.get("/admin/jobs").status_code == 403
    assert client.post("/admin/jobs/digest-asha/requeue", data={"csrf_token": token}).status_code == 403
    assert client.post("/admin/jobs/requeue-all", data={"csrf_token": token}).status_code == 403


def test_a_visitor_is_sent_to_sign_in(client):
    response = client.get("/admin/jobs")
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login?next=/admin/jobs"
    token = extract_csrf(client.get("/auth/login").get_data(as_text=True))
    response = client.post("/admin/jobs/requeue-all", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login?next=")
