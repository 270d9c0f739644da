"""`flask backup create`, `list` and `restore`: data and uploaded files written, backed up,
restored into a new database and an empty folder, served by another app and compared; what a
restore refuses; and the retention of archives.

The round trip runs on SQLite always and on PostgreSQL when TEST_DATABASE_URL names one (each
test makes its own scratch databases there, migrated with Alembic as an install's are)."""

import hashlib
import io
import json
import os
import shutil
import uuid
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from flask_migrate import upgrade
from PIL import Image
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from peerlearn import create_app
from peerlearn.config import normalise_database_url
from peerlearn.extensions import db
from peerlearn.services import avatars
from peerlearn.services import backup as backups
from tests.conftest import AuthActions, IsolatedClient, unavailable
from tests.factories import SessionFactory, UserFactory, paid_booking


@pytest.fixture
def scratch_postgres():
    """A maker of new, empty PostgreSQL databases beside TEST_DATABASE_URL's, dropped afterwards."""
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base.startswith("postgres"):
        unavailable("set TEST_DATABASE_URL=postgresql://… to back up and restore PostgreSQL")
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        unavailable("pg_dump and pg_restore are not installed (apt-get install postgresql-client)")
    admin = create_engine(normalise_database_url(base), isolation_level="AUTOCOMMIT")
    made = []

    def make(role):
        name = f"peerlearn_backup_{uuid.uuid4().hex[:10]}_{role}"
        try:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:
            unavailable(f"cannot create a scratch PostgreSQL database: {exc}")
        made.append(name)
        return make_url(normalise_database_url(base)).set(database=name).render_as_string(hide_password=False)

    yield make
    with admin.connect() as connection:
        for name in made:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_urls(request, tmp_path):
    """(source URL, target URL): two new databases of one kind, the target left empty."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'source.sqlite3'}", f"sqlite:///{tmp_path / 'copy.sqlite3'}"
    make = request.getfixturevalue("scratch_postgres")
    return make("source"), make("copy")


def app_on(url, uploads, **settings):
    app = create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": normalise_database_url(url),
            "SQLALCHEMY_ENGINE_OPTIONS": {},
            "UPLOAD_DIR": str(uploads),
            "INSTANCE_DIR": str(uploads.parent),
            **settings,
        },
    )
    app.test_client_class = IsolatedClient
    return app


def image_bytes():
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def every_row():
    """{table: [row, …]} of every model table, in primary key order."""
    rows = {}
    for model_table in db.metadata.sorted_tables:
        order = list(model_table.primary_key.columns) or list(model_table.columns)
        rows[model_table.name] = [
            tuple(row) for row in db.session.execute(select(model_table).order_by(*order))
        ]
    db.session.rollback()
    return rows


def files_in(folder):
    return {
        path.relative_to(folder).as_posix(): path.read_bytes() for path in folder.rglob("*") if path.is_file()
    }


@pytest.fixture
def source(database_urls, tmp_path):
    """A migrated install with two accounts, a paid session, a confirmed booking and a photo."""
    app = app_on(database_urls[0], tmp_path / "source" / "uploads")
    with app.app_context():
        upgrade()
        mentor = UserFactory(role="mentor")
        learner = UserFactory()
        session = SessionFactory(mentor=mentor, price_paise=50_000)
        booking, _ = paid_booking(session, learner)
        assert booking.status == "confirmed"
        avatars.save_avatar(learner, image_bytes())
        app.config["LEARNER"] = (learner.email, learner.avatar_filename)
        rows = every_row()
        db.session.remove()
    yield app, rows
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def backup_folder(tmp_path):
    return tmp_path / "backups"


@pytest.fixture
def archive(source, backup_folder):
    app, _ = source
    result = app.test_cli_runner().invoke(args=["backup", "create", "--to", str(backup_folder)])
    assert result.exit_code == 0, result.output
    (path,) = backup_folder.glob("peerlearn-backup-*.zip")
    assert str(path) in result.output
    return path


def restore(app, path, *extra):
    return app.test_cli_runner().invoke(args=["backup", "restore", str(path), "--yes", *extra])


def test_a_restored_copy_has_every_row_and_file_and_serves_them(source, archive, database_urls, tmp_path):
    source_app, source_rows = source
    assert source_rows["users"] and source_rows["bookings"] and source_rows["payments"]
    source_files = files_in(tmp_path / "source" / "uploads")
    email, avatar = source_app.config["LEARNER"]
    assert f"avatars/{avatar}" in source_files

    restored_uploads = tmp_path / "copy" / "uploads"
    target = app_on(database_urls[1], restored_uploads)
    result = restore(target, archive)
    assert result.exit_code == 0, result.output
    assert "Row counts and revision match the manifest." in result.output
    with target.app_context():
        db.engine.dispose()

    # A second app, built afresh on the copy, as the restored install would run.
    copy = app_on(database_urls[1], restored_uploads)
    with copy.app_context():
        assert every_row() == source_rows
        assert files_in(restored_uploads) == source_files
        client = copy.test_client()
        with client.get(f"/media/avatars/{avatar}") as served:
            assert served.data == source_files[f"avatars/{avatar}"]
        assert AuthActions(client).login(email).status_code == 302
        db.session.remove()
        db.engine.dispose()


def test_the_manifest_describes_the_archive(source, archive):
    manifest = backups.read_manifest(archive)
    source_app, rows = source
    with source_app.app_context():
        revision = db.session.scalar(text("SELECT version_num FROM alembic_version"))
        db.session.remove()
    database = manifest["database"]
    assert revision and database["alembic_revision"] == revision
    for name in ("users", "learning_sessions", "bookings", "payments"):
        assert database["table_counts"][name] == len(rows[name])
    paths = {entry["path"] for entry in manifest["files"]}
    assert database["file"] in paths
    assert manifest["folders"]["uploads"]["files"] == len(paths) - 1
    with zipfile.ZipFile(archive) as opened:
        assert set(opened.namelist()) == paths | {"manifest.json"}


def test_restore_refuses_a_database_that_is_not_empty(source, archive, tmp_path):
    source_app, rows = source
    again = app_on(source_app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "empty")
    result = restore(again, archive)
    with again.app_context():
        db.engine.dispose()
    assert result.exit_code != 0
    assert "is not empty" in result.output
    with source_app.app_context():
        assert every_row() == rows
        db.session.remove()


def test_restore_refuses_an_upload_folder_with_files(archive, database_urls, tmp_path):
    uploads = tmp_path / "copy" / "uploads"
    (uploads / "avatars").mkdir(parents=True)
    (uploads / "avatars" / "someone.webp").write_bytes(b"not ours")
    target = app_on(database_urls[1], uploads)
    result = restore(target, archive)
    assert result.exit_code != 0
    assert "is not empty" in result.output
    with target.app_context():
        assert inspect(db.engine).get_table_names() == []
        db.engine.dispose()
    assert files_in(uploads) == {"avatars/someone.webp": b"not ours"}


def rewrite(path, target, change):
    """A copy of the archive at ``path`` with ``change(name, data)`` applied to each member."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path) as original, zipfile.ZipFile(target, "w") as copy:
        for info in original.infolist():
            data = change(info.filename, original.read(info))
            if data is not None:
                copy.writestr(info, data)
        extra = change(None, None)
        if extra is not None:
            copy.writestr(*extra)
    return target


def flip_a_photo_byte(name, data):
    if name and name.startswith("files/uploads/avatars/"):
        return data[:-1] + bytes([data[-1] ^ 1])
    return data


def add_a_file(name, data):
    return ("files/uploads/avatars/extra.webp", b"slipped in") if name is None else data


@pytest.mark.parametrize(
    ("change", "complaint"),
    [(flip_a_photo_byte, "does not match its checksum"), (add_a_file, "is not in the manifest")],
)
def test_a_tampered_archive_is_refused_before_anything_is_written(
    archive, database_urls, tmp_path, change, complaint
):
    tampered = rewrite(archive, tmp_path / "tampered" / archive.name, change)
    uploads = tmp_path / "copy" / "uploads"
    target = app_on(database_urls[1], uploads)
    result = restore(target, tampered)
    assert result.exit_code != 0
    assert complaint in result.output
    with target.app_context():
        assert inspect(db.engine).get_table_names() == []
        db.engine.dispose()
    assert not uploads.exists() or files_in(uploads) == {}


def test_an_archive_writing_outside_the_folder_is_refused(archive, database_urls, tmp_path):
    """Even with a manifest that vouches for it, a member may not climb out of its folder."""
    escape = "files/uploads/../../escaped.txt"
    payload = b"outside"

    def smuggle(name, data):
        if name is None:
            return escape, payload
        if name == "manifest.json":
            manifest = json.loads(data)
            entry = {"path": escape, "size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}
            manifest["files"].append(entry)
            return json.dumps(manifest)
        return data

    smuggled = rewrite(archive, tmp_path / "smuggled" / archive.name, smuggle)
    target = app_on(database_urls[1], tmp_path / "copy" / "uploads")
    result = restore(target, smuggled)
    with target.app_context():
        assert inspect(db.engine).get_table_names() == []
        db.engine.dispose()
    assert result.exit_code != 0
    assert "unexpected path" in result.output
    assert not list(tmp_path.rglob("escaped.txt"))


def test_a_half_written_archive_is_listed_as_unreadable_and_refused(archive, database_urls, tmp_path):
    cut = archive.with_name("peerlearn-backup-20200101T000000Z.zip")
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    target = app_on(database_urls[1], tmp_path / "copy" / "uploads")
    listed = target.test_cli_runner().invoke(args=["backup", "list", "--in", str(archive.parent)])
    assert listed.exit_code == 0, listed.output
    first, second = listed.output.splitlines()
    assert first.startswith(archive.name) and "revision" in first
    assert second.startswith(cut.name) and "unreadable" in second
    result = restore(target, cut)
    assert result.exit_code != 0
    assert "not a complete PeerLearn backup" in result.output
    with target.app_context():
        db.engine.dispose()


@pytest.fixture
def small_app(tmp_path):
    app = create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "SQLALCHEMY_ENGINE_OPTIONS": {},
            "UPLOAD_DIR": str(tmp_path / "uploads"),
            "INSTANCE_DIR": str(tmp_path),
        },
    )
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()


def test_retention_keeps_the_newest_archives_and_always_the_new_one(small_app, tmp_path):
    folder = tmp_path / "backups"
    start = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)
    made = [
        backups.create_backup(folder, keep=3, max_age_days=30, now=start + timedelta(days=day))
        for day in range(5)
    ]
    left = sorted(path.name for path in folder.glob("peerlearn-backup-*.zip"))
    assert left == sorted(item.path.name for item in made[2:])
    assert made[-1].removed == [made[1].path]

    # Files that are not our archives stay; a temporary one left by a backup that died is cleared.
    (folder / "notes.txt").write_text("mine")
    fresh = folder / ".peerlearn-backup-running.partial"
    fresh.write_bytes(b"")
    stale = folder / ".peerlearn-backup-died.partial"
    stale.write_bytes(b"")
    long_ago = (start - timedelta(days=2)).timestamp()
    os.utime(stale, (long_ago, long_ago))

    # Forty days on, the others are past the age limit; the new one stays whatever the count.
    later = backups.create_backup(folder, keep=3, max_age_days=30, now=start + timedelta(days=44))
    assert sorted(path.name for path in folder.iterdir()) == sorted(
        [later.path.name, "notes.txt", fresh.name]
    )

    # A clock set back: the new archive is not among the newest, and stays all the same.
    earlier = backups.create_backup(folder, keep=1, max_age_days=30, now=start + timedelta(days=43))
    assert {path.name for path in folder.glob("peerlearn-backup-*.zip")} == {
        later.path.name,
        earlier.path.name,
    }


def test_two_backups_in_one_second_both_keep_their_archive(small_app, tmp_path):
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    first = backups.create_backup(tmp_path / "backups", now=now)
    second = backups.create_backup(tmp_path / "backups", now=now)
    assert first.path != second.path
    assert first.path.exists() and second.path.exists()


def test_a_copy_sharing_the_source_redis_and_channel_is_warned(small_app):
    manifest = {
        "source": {
            "redis": "10.0.0.5:6379/0",
            "socketio_queue": "10.0.0.5:6379/0",
            "socketio_channel": "flask-socketio",
        }
    }
    small_app.config.update(
        REDIS_URL="redis://:secret@10.0.0.5:6379",
        SOCKETIO_MESSAGE_QUEUE="redis://10.0.0.5:6379/0",
        SOCKETIO_CHANNEL="flask-socketio",
    )
    warnings = backups.shared_services_warnings(manifest)
    assert len(warnings) == 2
    assert "REDIS_URL" in warnings[0] and "SOCKETIO_CHANNEL" in warnings[1]

    small_app.config.update(
        REDIS_URL="redis://10.0.0.5:6379/14",
        SOCKETIO_MESSAGE_QUEUE="redis://10.0.0.5:6379/14",
        SOCKETIO_CHANNEL="restore-drill",
    )
    assert backups.shared_services_warnings(manifest) == []
