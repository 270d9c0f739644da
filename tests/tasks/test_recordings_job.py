"""The ``recordings`` job on a real worker process (`python worker.py recordings`) and a throwaway
Redis: it composes a queued recording, and a worker killed mid-composition (SIGKILL, ffmpeg with
it) leaves a job RQ finds abandoned within minutes and retries, which resumes from the work folder."""

import os
import signal
import subprocess
import sys
import time

import pytest
from rq.registry import StartedJobRegistry
from rq.scheduler import SCHEDULER_LOCKING_KEY_TEMPLATE

from peerlearn.extensions import db
from peerlearn.models import Recording, RecordingConsent
from peerlearn.services import recordings
from peerlearn.services.storage import get_storage
from peerlearn.tasks import QUEUES, get_queue, redis_connection
from tests.factories import SessionFactory
from tests.processes import ROOT, process_env
from tests.support.media_checks import duration, need_media_tools
from tests.support.mjr import BASE, at, classroom, copy_feeds, write_feeds
from tests.support.redis_server import own_redis_server

pytestmark = pytest.mark.redis

SECONDS = 20


@pytest.fixture(scope="module")
def feeds(tmp_path_factory):
    need_media_tools()
    folder = tmp_path_factory.mktemp("feeds")
    write_feeds(folder, classroom(SECONDS, people=2, screen=(5, 12)))
    return folder


@pytest.fixture
def redis_server():
    yield from own_redis_server()


@pytest.fixture
def jobs_app(threaded_app, redis_server, tmp_path):
    threaded_app.config.update(
        REDIS_URL=redis_server.url, JOBS_INLINE=False, RECORDINGS_WORK_DIR=str(tmp_path / "work")
    )
    yield threaded_app
    client = threaded_app.extensions.pop("peerlearn_redis", None)
    if client is not None:
        client.close()


@pytest.fixture
def start_worker(jobs_app, tmp_path):
    """Start `python worker.py recordings` (the in-process worker deploy/systemd runs) against the
    test's database, Redis and folders."""
    workers = []
    env = process_env(
        PEERLEARN_ENV="development",
        PEERLEARN_INSTANCE_DIR=str(tmp_path),
        DATABASE_URL=jobs_app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=jobs_app.config["REDIS_URL"],
        UPLOAD_DIR=jobs_app.config["UPLOAD_DIR"],
        RECORDINGS_WORK_DIR=jobs_app.config["RECORDINGS_WORK_DIR"],
    )

    def start():
        log = open(tmp_path / f"worker-{len(workers)}.log", "w+b")  # noqa: SIM115 - closed below
        # Its own process group: SIGKILL reaches the worker and the ffmpeg it runs.
        worker = subprocess.Popen(
            [sys.executable, "worker.py", "recordings"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        workers.append((worker, log))
        return worker, log

    yield start
    for worker, log in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
        log.close()


@pytest.fixture
def recording(jobs_app, make_user, feeds, tmp_path):
    mentor = make_user(role="mentor")
    session = SessionFactory(mentor=mentor)
    learner = make_user()
    raw = copy_feeds(feeds, tmp_path / "raw", {1: mentor.id, 2: learner.id})
    row = Recording(
        session_id=session.id,
        status="recording",
        raw_dir=str(raw),
        spans=[{"start": BASE.isoformat(), "stop": at(BASE, SECONDS).isoformat()}],
    )
    db.session.add_all([row, RecordingConsent(session_id=session.id, user_id=learner.id, consented=True)])
    db.session.commit()
    return row.id


def wait_for(recording_id, worker, log, done, timeout=300):
    """Poll the row until ``done(row)``; fail with the worker's output if it dies or never gets there."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.expire_all()
        row = db.session.get(Recording, recording_id)
        if done(row):
            return row
        if worker.poll() is not None or time.monotonic() > deadline:
            log.seek(0)
            pytest.fail(
                f"recording {recording_id} is {row.status} ({row.progress_step}):\n{log.read().decode()}"
            )
        time.sleep(0.1)


def children(pid):
    """The ids of the processes whose parent is ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rpartition(")")[2].split()
            except OSError:  # it ended meanwhile
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def test_the_recordings_queue_has_its_own_timeout(jobs_app):
    assert "recordings" in QUEUES
    assert get_queue("recordings")._default_timeout == jobs_app.config["RECORDINGS_JOB_TIMEOUT"]
    assert get_queue("emails")._default_timeout == jobs_app.config["RQ_JOB_TIMEOUT"]


def test_a_worker_composes_a_queued_recording(jobs_app, recording, start_worker):
    recordings.queue_composition(recording)
    assert db.session.get(Recording, recording).status == "pending"
    worker, log = start_worker()

    row = wait_for(recording, worker, log, lambda row: row.status in ("ready", "failed"))

    assert (row.status, row.attempts, row.error) == ("ready", 1, "")
    assert get_storage().exists(row.storage_key)


def test_a_worker_killed_mid_job_is_retried_and_resumes(jobs_app, recording, start_worker, tmp_path):
    recordings.queue_composition(recording)
    worker, log = start_worker()
    wait_for(recording, worker, log, lambda row: row.progress_step.startswith("Composing"))
    # The machine dies mid-composition: the worker with the ffmpeg it runs (and a work-horse in a
    # session of its own, were it a forking worker).
    groups = {os.getpgid(child) for child in children(worker.pid)} | {worker.pid}
    for group in groups:
        os.killpg(group, signal.SIGKILL)
    worker.wait(10)
    killed = db.session.get(Recording, recording)
    assert (killed.status, killed.attempts) == ("processing", 1)
    unpacked = sorted(path.name for path in (tmp_path / "work" / str(recording) / "feeds").iterdir())
    assert len(unpacked) == 5  # two cameras, two microphones, one screen
    # Killed while encoding: a half-written part under its temporary name, no finished part.
    parts = [path.name for path in (tmp_path / "work" / str(recording) / "segments").iterdir()]
    assert [name.startswith(".partial-") for name in parts] == [True]

    # The job renewed its place in the started registry for 90 s at each progress report
    # (tasks.worker.keep_alive), so RQ finds it abandoned within about a minute and a half of the
    # kill (moved forward here, not waited for), not after its 2 h timeout, and schedules a retry.
    registry = StartedJobRegistry("recordings", connection=redis_connection())
    (job_id,) = registry.get_job_ids(cleanup=False)
    registry.cleanup(timestamp=time.time() + 120)
    assert get_queue("recordings").fetch_job(job_id).get_status() == "scheduled"
    # The dead worker's scheduler lock lapses after a minute (removed here); the next worker's
    # scheduler then takes it and enqueues the retry when it falls due.
    redis_connection().delete(SCHEDULER_LOCKING_KEY_TEMPLATE % "recordings")
    worker, log = start_worker()

    row = wait_for(recording, worker, log, lambda row: row.status in ("ready", "failed"))

    assert (row.status, row.attempts, row.error) == ("ready", 2, "")
    assert [p["tracks"] for p in row.layout["included"]] == [
        ["audio", "camera", "screen"],
        ["audio", "camera"],
    ]
    stored = tmp_path / "stored.mp4"
    stored.write_bytes(get_storage().get(row.storage_key))
    assert abs(duration(stored) - SECONDS) < 1
    log.seek(0)
    assert (
        f"recording {recording} composed: 2 steps made, 5 found done by an earlier run" in log.read().decode()
    )
    assert not (tmp_path / "raw").exists()
