"""Who may watch a recording, where the chat falls in the video, retention, and an admin acting on
a learner's request to be cut out."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from peerlearn.exceptions import Conflict, NotFound, PermissionDenied, ValidationError
from peerlearn.extensions import db
from peerlearn.models import AuditEntry, Recording, RecordingConsent, utcnow
from peerlearn.services import recording_library as library
from peerlearn.services.storage import get_storage
from peerlearn.tasks.periodic import PERIODIC_JOBS, run_all_once
from tests.factories import SessionFactory
from tests.support.recordings import book, ready_recording

# The library never plays the file: any bytes stand for it here.
DATA = b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 4


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor")


@pytest.fixture
def session(mentor):
    return SessionFactory(mentor=mentor)


def test_watchable_is_the_ready_recording_for_those_with_a_seat_only(make_user, mentor, session):
    learner, cancelled, outsider = make_user(), make_user(), make_user()
    book(session, learner, "attended")
    book(session, cancelled, "cancelled")
    assert library.watchable(mentor, session.id) is None  # no recording yet
    recording = ready_recording(session, DATA)
    assert library.watchable(mentor, session.id) == recording
    assert library.watchable(learner, session.id) == recording
    assert library.watchable(make_user(role="admin"), session.id) == recording
    assert library.watchable(cancelled, session.id) is None
    assert library.watchable(outsider, session.id) is None
    assert library.watchable(mentor, session.id + 1000) is None
    recording.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert library.watchable(learner, session.id) is None  # expired, even before the job runs


def test_chat_times_follow_the_recorded_spans(session):
    start = session.starts_at
    recording = Recording(
        session_id=session.id,
        status="ready",
        duration_ms=90_000,
        spans=[
            {"start": start.isoformat(), "stop": (start + timedelta(seconds=60)).isoformat()},
            # Paused for two minutes, then 30 s more.
            {"start": (start + timedelta(seconds=180)).isoformat(), "stop": None},
        ],
    )
    assert library.video_offset_ms(recording, start + timedelta(seconds=10)) == 10_000
    assert library.video_offset_ms(recording, start + timedelta(seconds=100)) is None  # paused
    assert library.video_offset_ms(recording, start + timedelta(seconds=190)) == 70_000
    assert library.video_offset_ms(recording, start - timedelta(seconds=1)) is None
    assert library.video_offset_ms(recording, start + timedelta(seconds=300)) is None  # after the end
    assert library.clock(70_000) == "1:10" and library.clock(3_723_000) == "1:02:03"


def test_retention_deletes_expired_files_once_and_keeps_the_rest(app, make_user, session, mentor):
    app.config["RECORDING_RETENTION_DAYS"] = 30
    old = ready_recording(session, DATA, expires_at=utcnow() - timedelta(hours=1))
    # No expires_at (made before the job set one): 30 days from ready_at.
    counted = ready_recording(
        SessionFactory(mentor=mentor), DATA, ready_at=utcnow() - timedelta(days=31), expires_at=None
    )
    fresh = ready_recording(SessionFactory(mentor=mentor), DATA, ready_at=utcnow() - timedelta(days=29))
    keys = {r.id: r.storage_key for r in (old, counted, fresh)}

    assert library.delete_expired() == 2
    db.session.expire_all()
    for gone in (old, counted):
        row = db.session.get(Recording, gone.id)
        assert row.status == "deleted" and row.deleted_by_id is None and row.deleted_at is not None
        assert not get_storage().exists(keys[gone.id])
    assert db.session.get(Recording, fresh.id).status == "ready"
    assert get_storage().exists(keys[fresh.id])
    assert library.delete_expired() == 0  # idempotent


def test_retention_is_a_periodic_job(session):
    ready_recording(session, DATA, expires_at=utcnow() - timedelta(days=1))
    assert "delete_expired_recordings" in {func.__name__ for func, _queue, _interval in PERIODIC_JOBS}
    assert run_all_once()["delete_expired_recordings"] == 1


def test_retention_leaves_a_file_it_cannot_remove_for_the_next_run(app, session, monkeypatch):
    recording = ready_recording(session, DATA, expires_at=utcnow() - timedelta(hours=1))
    storage = get_storage()

    def refuse(key):
        raise library.storage.StorageUnavailable()

    monkeypatch.setattr(storage, "delete", refuse)
    assert library.delete_expired() == 0
    db.session.expire_all()
    assert db.session.get(Recording, recording.id).status == "ready"
    monkeypatch.undo()
    assert library.delete_expired() == 1


def test_delete_removes_the_raw_feeds_left_and_refuses_while_composing(app, tmp_path, mentor, session):
    raw_root = tmp_path / "raw"
    app.config["RECORDINGS_RAW_DIR"] = str(raw_root)
    feeds = raw_root / str(session.id)
    feeds.mkdir(parents=True)
    (feeds / "mentor-video.mjr").write_bytes(b"raw")
    recording = Recording(session_id=session.id, status="processing", raw_dir=str(feeds))
    db.session.add(recording)
    db.session.commit()
    with pytest.raises(Conflict):
        library.delete(mentor, session.id)
    recording.status = "failed"
    db.session.commit()
    library.delete(mentor, session.id, "Not worth keeping")
    assert not feeds.exists() and raw_root.exists()
    assert db.session.get(Recording, recording.id).status == "deleted"


def test_a_learner_may_not_delete(make_user, session):
    learner = make_user()
    book(session, learner)
    ready_recording(session, DATA)
    with pytest.raises(PermissionDenied):
        library.delete(learner, session.id)
    with pytest.raises(NotFound):
        library.delete(make_user(), session.id)


def test_cut_out_of_a_composed_recording_deletes_it_and_withdraws_consent(make_user, session):
    admin, learner = make_user(role="admin"), make_user(name="Asha Learner")
    book(session, learner, "attended")
    db.session.add(RecordingConsent(session_id=session.id, user_id=learner.id, consented=True))
    db.session.commit()
    recording = ready_recording(session, DATA)
    key = recording.storage_key

    done = library.cut_out(admin, session.id, learner.id, "Asked by email on 3 Dec")
    assert done.outcome == "deleted"
    assert not get_storage().exists(key)
    db.session.expire_all()
    row = db.session.get(Recording, recording.id)
    assert (row.status, row.deleted_by_id) == ("deleted", admin.id)
    assert row.delete_reason == "Asha Learner asked to be cut out"
    assert db.session.get(RecordingConsent, (session.id, learner.id)).consented is False
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "recording.cut_out"))
    assert entry.details["learner_id"] == learner.id and entry.details["outcome"] == "deleted"
    assert entry.details["note"] == "Asked by email on 3 Dec"


def test_cut_out_before_composing_only_withdraws_consent(make_user, session):
    admin, learner = make_user(role="admin"), make_user()
    book(session, learner)
    db.session.add(Recording(session_id=session.id, status="failed"))
    db.session.commit()
    assert library.cut_out(admin, session.id, learner.id).outcome == "withdrawn"
    assert db.session.get(RecordingConsent, (session.id, learner.id)).consented is False
    assert db.session.scalar(select(Recording.status).where(Recording.session_id == session.id)) == "failed"


def test_cut_out_is_an_admins_and_only_for_someone_who_was_there(make_user, mentor, session):
    admin, learner, stranger = make_user(role="admin"), make_user(), make_user()
    book(session, learner)
    ready_recording(session, DATA)
    with pytest.raises(PermissionDenied):
        library.cut_out(mentor, session.id, learner.id)
    with pytest.raises(ValidationError):
        library.cut_out(admin, session.id, stranger.id)
    with pytest.raises(ValidationError):
        library.cut_out(admin, session.id, mentor.id)
    assert [user.id for user, _consent in library.learners_of(session.id)] == [learner.id]
