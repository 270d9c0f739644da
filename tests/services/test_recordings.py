"""The composing use case (services/recordings.py) on real feeds: a session's end queues it, it
runs inline here (jobs run inline in tests), stores the file through the app's storage (the
local folder, or a bucket of moto's S3 server), and keeps or removes the raw feeds."""

import re
import threading
import time
from datetime import timedelta

import pytest

from peerlearn.exceptions import Conflict
from peerlearn.extensions import db
from peerlearn.models import LearningSession, Recording, RecordingConsent
from peerlearn.services import composer, recordings
from peerlearn.services.storage import get_storage
from tests.factories import SessionFactory
from tests.support.media_checks import duration, need_media_tools, streams
from tests.support.mjr import BASE, at, classroom, copy_feeds, write_feeds
from tests.support.recordings import book
from tests.support.s3 import moto_server, new_bucket, s3_client, s3_settings

SECONDS = 6


@pytest.fixture(scope="module")
def feeds(tmp_path_factory):
    """The mentor (user 1) and learners 2 and 3, each on camera and microphone, made once."""
    need_media_tools()
    folder = tmp_path_factory.mktemp("feeds")
    write_feeds(folder, classroom(SECONDS, people=3))
    return folder


@pytest.fixture(scope="module")
def s3_endpoint():
    yield from moto_server()


@pytest.fixture
def recorded(app, make_user, feeds, tmp_path):
    """A session whose mentor recorded it: Ann agreed to be in it, Bob said no."""
    app.config["RECORDINGS_WORK_DIR"] = str(tmp_path / "work")
    mentor = make_user(role="mentor", name="Mira Mentor")
    ann, bob = make_user(name="Ann"), make_user(name="Bob")
    session = SessionFactory(mentor=mentor)
    for learner in (ann, bob):
        book(session, learner)
    db.session.add_all(
        [
            RecordingConsent(session_id=session.id, user_id=ann.id, consented=True),
            RecordingConsent(session_id=session.id, user_id=bob.id, consented=False),
        ]
    )
    raw = copy_feeds(feeds, tmp_path / "raw" / str(session.id), {1: mentor.id, 2: ann.id, 3: bob.id})
    recording = Recording(
        session_id=session.id,
        status="recording",
        raw_dir=str(raw),
        spans=[{"start": BASE.isoformat(), "stop": at(BASE, SECONDS).isoformat()}],
    )
    db.session.add(recording)
    db.session.commit()
    return recording, mentor, ann, bob


def test_the_sessions_end_composes_stores_and_cleans_up(app, recorded, monkeypatch, tmp_path):
    recording, mentor, ann, bob = recorded
    app.config["RECORDING_RETENTION_DAYS"] = 30
    told = []
    monkeypatch.setattr(
        recordings.realtime, "emit", lambda event, payload, room: told.append((room, payload))
    )
    raw = recording.raw_dir

    recordings.queue_composition(recording.id)

    db.session.expire_all()
    recording = db.session.get(Recording, recording.id)
    assert recording.status == "ready"
    assert re.fullmatch(
        rf"recordings/{recording.session_id}/{recording.id}-[0-9a-f]{{16}}\.mp4", recording.storage_key
    )
    assert recording.content_type == "video/mp4"
    stored = tmp_path / "stored.mp4"
    stored.write_bytes(get_storage().get(recording.storage_key))
    assert recording.size_bytes == stored.stat().st_size
    assert abs(duration(stored) - SECONDS) < 1
    assert streams(stored)[:2] == ["video", "audio"]
    assert abs(recording.duration_ms - SECONDS * 1000) < 1000
    assert recording.expires_at - recording.ready_at == timedelta(days=30)
    assert (recording.progress, recording.attempts, recording.error) == (100, 1, "")
    assert [p["user_id"] for p in recording.layout["included"]] == [mentor.id, ann.id]
    assert [(p["user_id"], p["name"]) for p in recording.layout["excluded"]] == [(bob.id, "Bob")]
    assert recording.chapters == [
        {"start_ms": 0, "title": "Start", "end_ms": recording.chapters[0]["end_ms"]}
    ]
    # The raw feeds and the work folder are gone once the file is stored.
    assert not (tmp_path / "raw" / str(recording.session_id)).exists()
    assert not (tmp_path / "work" / str(recording.id)).exists()
    assert raw == recording.raw_dir
    # The mentor's page heard the progress, rising to ready.
    assert {room for room, _payload in told} == {f"user:{mentor.id}"}
    percents = [payload["progress"] for _room, payload in told]
    assert percents == sorted(percents) and percents[-1] == 100
    assert told[-1][1]["status"] == "ready"


def test_a_failure_keeps_the_raw_feeds_and_a_retry_finishes(app, recorded, monkeypatch):
    recording, *_people = recorded
    real_run = composer.run

    def encoder_fails(command, on_progress=None):
        if "-filter_complex" in command:
            raise composer.CompositionError("ffmpeg failed (1): out of disk")
        return real_run(command, on_progress)

    monkeypatch.setattr(composer, "run", encoder_fails)
    told = []
    monkeypatch.setattr(
        recordings.realtime, "emit", lambda event, payload, room: told.append((event, room, payload))
    )
    recordings.queue_composition(recording.id)  # inline: the failure is logged, not raised
    # The mentor's waiting page hears it, and draws the error and "Try again".
    mentor_id = db.session.get(LearningSession, recording.session_id).mentor_id
    assert told[-1] == (
        "recording_progress",
        f"user:{mentor_id}",
        {"recording_id": recording.id, "status": "failed", "progress": 0},
    )

    db.session.expire_all()
    failed = db.session.get(Recording, recording.id)
    assert failed.status == "failed"
    assert failed.error == "CompositionError: ffmpeg failed (1): out of disk"
    assert failed.attempts == 1
    assert failed.storage_key is None
    assert len(recordings.raw_files(recording.id)) == 6  # three people, camera and microphone each

    monkeypatch.setattr(composer, "run", real_run)
    recordings.requeue(recording.id)

    db.session.expire_all()
    retried = db.session.get(Recording, recording.id)
    assert (retried.status, retried.attempts, retried.error) == ("ready", 2, "")
    assert recordings.raw_files(recording.id) == []
    assert get_storage().exists(retried.storage_key)


def test_only_a_failed_recording_can_be_retried_and_a_ready_one_is_not_composed_again(app, recorded):
    recording, *_people = recorded
    with pytest.raises(Conflict):
        recordings.requeue(recording.id)
    recordings.queue_composition(recording.id)
    db.session.expire_all()
    ready = db.session.get(Recording, recording.id)
    key, attempts = ready.storage_key, ready.attempts

    recordings.queue_composition(recording.id)  # the session's end seen twice
    recordings.compose(recording.id)  # a duplicate job

    db.session.expire_all()
    again = db.session.get(Recording, recording.id)
    assert (again.status, again.storage_key, again.attempts) == ("ready", key, attempts)
    with pytest.raises(Conflict):
        recordings.requeue(recording.id)


def test_a_missing_raw_folder_fails_with_a_clear_error(app, recorded, tmp_path):
    recording, *_people = recorded
    recording.raw_dir = str(tmp_path / "nowhere")
    db.session.commit()
    recordings.queue_composition(recording.id)
    db.session.expire_all()
    failed = db.session.get(Recording, recording.id)
    assert failed.status == "failed"
    assert "is not there" in failed.error


def test_the_file_goes_to_the_bucket_when_storage_is_s3(app, recorded, s3_endpoint, tmp_path):
    recording, *_people = recorded
    bucket = new_bucket(s3_endpoint)
    app.config.update(s3_settings(s3_endpoint, bucket))

    recordings.queue_composition(recording.id)

    db.session.expire_all()
    ready = db.session.get(Recording, recording.id)
    assert ready.status == "ready"
    stored = s3_client(s3_endpoint).get_object(Bucket=bucket, Key=f"peerlearn-test/{ready.storage_key}")
    assert stored["ContentType"] == "video/mp4"
    path = tmp_path / "from-bucket.mp4"
    path.write_bytes(stored["Body"].read())
    assert path.stat().st_size == ready.size_bytes
    assert abs(duration(path) - SECONDS) < 1
    assert not (tmp_path / "uploads" / "recordings").exists()


def test_in_the_embedded_mode_a_request_hands_the_composition_to_a_thread(app, recorded, database_url):
    if database_url.startswith("sqlite"):
        pytest.skip("the thread needs a connection of its own: PostgreSQL")
    recording, *_people = recorded
    app.config["JOBS_AFTER_RESPONSE"] = True
    composing = threading.Event()
    real_compose = composer.compose

    def held_compose(*args, **kwargs):
        composing.set()
        return real_compose(*args, **kwargs)

    recordings.composer.compose = held_compose
    try:
        with app.test_request_context("/sessions/end", method="POST"):
            recordings.queue_composition(recording.id)  # a socket event or a request: it returns at once
            assert composing.wait(60), "no thread started composing"
        deadline = time.monotonic() + 300
        while True:
            db.session.expire_all()
            row = db.session.get(Recording, recording.id)
            if row.status in ("ready", "failed") or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        recordings.composer.compose = real_compose
    assert (row.status, row.error) == ("ready", "")


def test_a_recording_left_pending_is_queued_again_by_the_sweep(app, recorded):
    """Its job never reached the queue (Redis was down when the session ended): the periodic
    sweep hands it on once it has waited RECORDINGS_STALLED_MINUTES, not before."""
    from peerlearn.models import utcnow

    recording, *_people = recorded
    recording.status = "pending"
    db.session.commit()
    assert recordings.queue_stalled() == 0  # just queued: its job may still be on its way

    recording.updated_at = utcnow() - timedelta(minutes=app.config["RECORDINGS_STALLED_MINUTES"] + 1)
    db.session.commit()
    assert recordings.queue_stalled() == 1

    db.session.expire_all()
    assert db.session.get(Recording, recording.id).status == "ready"
    assert recordings.queue_stalled() == 0
