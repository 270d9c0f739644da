"""Backups: one archive holding the database and every stored file, and the way back from it.

An archive is a single zip file, ``peerlearn-backup-<UTC time>.zip``, with:

- ``database.dump`` (PostgreSQL, ``pg_dump -Fc``) or ``database.sqlite3`` (a copy made with
  SQLite's backup API, safe while the app writes);
- ``files/<folder>/…``: every file under each stored-file folder (``UPLOAD_DIR`` as ``uploads``);
- ``manifest.json``, written last: the format, when and from what code it was made, the
  database's kind, Alembic revision and row count of every table, and each member's size and
  SHA-256.

On PostgreSQL the counts, the revision and the dump all come from one snapshot (the dump runs
with ``--snapshot`` of a repeatable-read transaction held open meanwhile), so a restore can be
checked against them exactly even when the backup ran while people used the site. The database is
read before the files: an upload made meanwhile lands in the archive as an unused file rather
than being missed by a row that names it.

The archive is written under a hidden temporary name in the backup folder and renamed into place
once complete and flushed to disk, so a half-written archive never carries a backup's name; zip
keeps its index at the end, so ``list`` reads a manifest without reading the whole archive.

A restore goes only into an empty database and empty folders, checks every checksum before it
writes anything, and compares the restored revision and row counts with the manifest afterwards.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import URL, func, inspect, select, table, text

from ..config import PROJECT_ROOT
from ..extensions import db

FORMAT = 1
PREFIX = "peerlearn-backup-"
SUFFIX = ".zip"
ARCHIVE_NAME = re.compile(r"^peerlearn-backup-(\d{8}T\d{6}Z)(?:-(\d+))?\.zip$")
STAMP = "%Y%m%dT%H%M%SZ"
MANIFEST = "manifest.json"
FILES = "files"
DUMP_NAMES = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}
CHUNK = 1024 * 1024
# A temporary archive this old was left by a backup that died; nothing is still writing it.
STALE_PARTIAL = timedelta(days=1)


class BackupError(RuntimeError):
    """A backup could not be made, read or restored; the message says why and what to do."""


@dataclass
class CreatedBackup:
    path: Path
    size: int
    manifest: dict
    removed: list = field(default_factory=list)


@dataclass
class ArchiveInfo:
    path: Path
    created_at: datetime
    size: int
    manifest: dict | None
    problem: str | None = None


# --- where things are -----------------------------------------------------------------------


def stored_folders(config=None):
    """{name in the archive: folder} for every folder of stored files the config names."""
    config = config or current_app.config
    return {"uploads": Path(config["UPLOAD_DIR"])}


def database_kind(engine=None):
    name = (engine or db.engine).dialect.name
    if name not in DUMP_NAMES:
        raise BackupError(f"backups support PostgreSQL and SQLite, not {name}")
    return name


def redis_location(url):
    """``host:port/db`` of a Redis URL (no credentials), to tell whether two installs share one."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix:{parts.path}"
    number = parts.path.strip("/") or "0"
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}/{number}"


# --- create ---------------------------------------------------------------------------------


def create_backup(folder=None, *, keep=None, max_age_days=None, now=None):
    """Write one archive into ``folder`` (BACKUP_DIR by default), then apply the retention:
    at most ``keep`` archives (BACKUP_KEEP) and none older than ``max_age_days``
    (BACKUP_MAX_AGE_DAYS), never removing the one just made. Returns a CreatedBackup."""
    config = current_app.config
    folder = Path(folder or config["BACKUP_DIR"])
    keep = config["BACKUP_KEEP"] if keep is None else keep
    max_age_days = config["BACKUP_MAX_AGE_DAYS"] if max_age_days is None else max_age_days
    if keep < 1 or max_age_days < 1:
        raise BackupError("keep and max age must be at least 1")
    now = now or datetime.now(UTC)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    kind = database_kind()
    handle, partial = tempfile.mkstemp(prefix=f".{PREFIX}", suffix=".partial", dir=folder)
    os.close(handle)
    partial = Path(partial)
    try:
        with tempfile.TemporaryDirectory(prefix=".peerlearn-dump-", dir=folder) as scratch:
            dump = Path(scratch) / DUMP_NAMES[kind]
            database = _dump_postgres(dump) if kind == "postgresql" else _dump_sqlite(dump)
            manifest = _write_archive(partial, dump, database, kind, now, exclude=folder)
        path = _place(partial, folder, now)
    finally:
        partial.unlink(missing_ok=True)
    removed = apply_retention(folder, keep=keep, max_age_days=max_age_days, now=now, spare=path)
    return CreatedBackup(path=path, size=path.stat().st_size, manifest=manifest, removed=removed)


def _dump_postgres(target):
    """``pg_dump -Fc`` into ``target``, plus the revision and counts from the same snapshot."""
    binary = _client_binary("pg_dump")
    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            facts = _database_facts(connection)
            _run_client(
                [binary, "--format=custom", f"--file={target}", f"--snapshot={snapshot}"],
                "pg_dump",
            )
    return facts


def _dump_sqlite(target):
    """Copy the database with SQLite's backup API (consistent while others write), then read
    the revision and counts from the copy."""
    import sqlite3

    raw = db.engine.raw_connection()
    try:
        copy = sqlite3.connect(target)
        try:
            raw.driver_connection.backup(copy)
        finally:
            copy.close()
    finally:
        raw.close()
    return _sqlite_facts(target)


def _sqlite_facts(path):
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            return _database_facts(connection)
    finally:
        engine.dispose()


def _database_facts(connection):
    """The Alembic revision (None without Alembic's table) and every table's row count."""
    names = sorted(inspect(connection).get_table_names())
    counts = {name: connection.scalar(select(func.count()).select_from(table(name))) for name in names}
    revision = None
    if "alembic_version" in names:
        rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        revision = ",".join(sorted(rows)) or None
    return {"alembic_revision": revision, "table_counts": counts}


def _write_archive(partial, dump, database, kind, now, *, exclude):
    """Fill the zip at ``partial``: the dump, every stored file, then the manifest."""
    config = current_app.config
    entries = []
    folders = {}
    with zipfile.ZipFile(partial, "w", allowZip64=True) as archive:
        # A SQLite file shrinks well; a custom-format dump is compressed already.
        method = zipfile.ZIP_DEFLATED if kind == "sqlite" else zipfile.ZIP_STORED
        entries.append(_add_file(archive, dump, DUMP_NAMES[kind], now, method))
        for name, root in stored_folders().items():
            count = size = 0
            for path in _files_under(root, exclude=exclude):
                relative = path.relative_to(root).as_posix()
                try:
                    entry = _add_file(archive, path, f"{FILES}/{name}/{relative}", now, zipfile.ZIP_STORED)
                except FileNotFoundError:
                    continue  # removed since the folder was listed (a replaced photo)
                entries.append(entry)
                count += 1
                size += entry["size"]
            folders[name] = {"path": str(root), "files": count, "bytes": size}
        manifest = {
            "format": FORMAT,
            "created_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "app": {"version": _app_version(), "revision": _git_revision()},
            "database": {"kind": kind, "file": DUMP_NAMES[kind], **database},
            "folders": folders,
            "files": entries,
            # What the source install talked to, so a restored copy can be warned off it.
            "source": {
                "redis": redis_location(config.get("REDIS_URL")),
                "socketio_queue": redis_location(config.get("SOCKETIO_MESSAGE_QUEUE")),
                "socketio_channel": config.get("SOCKETIO_CHANNEL"),
            },
        }
        info = zipfile.ZipInfo(MANIFEST, date_time=now.timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    with open(partial, "rb") as written:
        os.fsync(written.fileno())
    return manifest


def _add_file(archive, path, name, now, method):
    """Copy one file into the archive, hashing the bytes as they go in."""
    digest = hashlib.sha256()
    size = 0
    info = zipfile.ZipInfo(name, date_time=now.timetuple()[:6])
    info.compress_type = method
    info.external_attr = 0o644 << 16
    with open(path, "rb") as source, archive.open(info, "w", force_zip64=True) as member:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            member.write(chunk)
            size += len(chunk)
    return {"path": name, "size": size, "sha256": digest.hexdigest()}


def _files_under(root, *, exclude):
    """Every regular file below ``root`` in a stable order (symbolic links are not followed),
    leaving out the backup folder should it lie inside."""
    if not root.is_dir():
        return
    exclude = exclude.resolve()
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if (Path(directory) / d).resolve() != exclude)
        for name in sorted(names):
            path = Path(directory) / name
            if path.is_file() and not path.is_symlink():
                yield path


def _place(partial, folder, now):
    """Give the complete archive its name (a new one, should a backup of the same second exist)."""
    stamp = now.astimezone(UTC).strftime(STAMP)
    path = folder / f"{PREFIX}{stamp}{SUFFIX}"
    number = 1
    while path.exists():
        path = folder / f"{PREFIX}{stamp}-{number}{SUFFIX}"
        number += 1
    os.replace(partial, path)
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself reaches the disk
    finally:
        os.close(directory)
    return path


def _app_version():
    import tomllib

    try:
        with open(PROJECT_ROOT / "pyproject.toml", "rb") as project:
            return tomllib.load(project)["project"]["version"]
    except (OSError, KeyError, ValueError):
        return None


def _git_revision():
    if not (PROJECT_ROOT / ".git").exists():
        return None
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607 - git from PATH, when the code is a checkout
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


# --- retention and listing ------------------------------------------------------------------


def archives(folder):
    """[(created_at, number, path)] of this app's archives in ``folder``, newest first."""
    found = []
    if not Path(folder).is_dir():
        return found
    for path in Path(folder).iterdir():
        match = ARCHIVE_NAME.match(path.name)
        if match and path.is_file():
            created = datetime.strptime(match.group(1), STAMP).replace(tzinfo=UTC)
            found.append((created, int(match.group(2) or 0), path))
    found.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return found


def apply_retention(folder, *, keep, max_age_days, now, spare):
    """Remove archives beyond the ``keep`` newest and those older than ``max_age_days``, but
    never ``spare``; and temporary files left by backups that died. Returns the removed paths."""
    removed = []
    oldest = now - timedelta(days=max_age_days)
    for index, (created, _, path) in enumerate(archives(folder)):
        if path == spare:
            continue
        if index >= keep or created < oldest:
            path.unlink(missing_ok=True)
            removed.append(path)
    for path in Path(folder).glob(f".{PREFIX}*.partial"):
        modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        if now - modified > STALE_PARTIAL:
            path.unlink(missing_ok=True)
    return removed


def list_backups(folder=None):
    """Every archive in ``folder`` (BACKUP_DIR by default), newest first, with its manifest."""
    folder = Path(folder or current_app.config["BACKUP_DIR"])
    listed = []
    for created, _, path in archives(folder):
        try:
            manifest, problem = read_manifest(path), None
        except BackupError as exc:
            manifest, problem = None, str(exc)
        listed.append(ArchiveInfo(path, created, path.stat().st_size, manifest, problem))
    return listed


def read_manifest(path):
    """The manifest of the archive at ``path`` (BackupError when it is no archive of ours)."""
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read(MANIFEST))
    except FileNotFoundError as exc:
        raise BackupError(f"{path}: no such file") from exc
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise BackupError(f"{path} is not a complete PeerLearn backup ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(
            f"{path}: backup format {manifest.get('format') if isinstance(manifest, dict) else '?'} "
            f"is not one this version reads ({FORMAT})"
        )
    return manifest


def verify_archive(path):
    """Read every member of the archive and check it against the manifest: each file listed is
    there with its size and SHA-256, and nothing else is. Returns the manifest."""
    manifest = read_manifest(path)
    expected = {entry["path"]: entry for entry in manifest["files"]}
    problems = []
    with zipfile.ZipFile(path) as archive:
        present = {name for name in archive.namelist() if not name.endswith("/")} - {MANIFEST}
        for name in sorted(present - expected.keys()):
            problems.append(f"{name} is not in the manifest")
        for name in sorted(expected.keys() - present):
            problems.append(f"{name} is missing")
        for name in sorted(expected.keys() & present):
            _check_member_name(name, manifest)
            try:
                size, digest = _hash_member(archive, name)
            except (zipfile.BadZipFile, OSError) as exc:
                problems.append(f"{name} cannot be read ({exc})")
                continue
            if size != expected[name]["size"] or digest != expected[name]["sha256"]:
                problems.append(f"{name} does not match its checksum")
    if problems:
        listed = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise BackupError(f"{path} failed verification, nothing was restored: {listed}")
    return manifest


def _hash_member(archive, name):
    digest = hashlib.sha256()
    size = 0
    with archive.open(name) as member:
        while chunk := member.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _check_member_name(name, manifest):
    """A member is the dump or a plain relative path under files/<folder>/ of a folder the
    manifest names, never above it."""
    if name == manifest["database"]["file"]:
        return
    parts = PurePosixPath(name).parts
    unsafe = name.startswith("/") or "\\" in name or ".." in parts
    if unsafe or len(parts) < 3 or parts[0] != FILES or parts[1] not in manifest["folders"]:
        raise BackupError(f"the archive holds an unexpected path {name!r}; nothing was restored")


# --- restore --------------------------------------------------------------------------------


@dataclass
class RestoreSummary:
    manifest: dict
    files: dict
    counts: dict
    revision: str | None
    mismatches: list
    code_heads: list


def check_target(manifest):
    """Refuse (BackupError) unless this app's database is empty (no tables, or only an empty
    ``alembic_version``) and of the archive's kind, and its stored-file folders have no files."""
    kind = database_kind()
    if manifest["database"]["kind"] != kind:
        raise BackupError(f"the backup holds a {manifest['database']['kind']} database; this app's is {kind}")
    with db.engine.connect() as connection:
        names = set(inspect(connection).get_table_names())
        empty_stamp = names == {"alembic_version"} and not connection.scalar(
            select(func.count()).select_from(table("alembic_version"))
        )
    if names and not empty_stamp:
        raise BackupError(
            f"the database {db.engine.url.render_as_string(hide_password=True)} is not empty "
            f"({len(names)} tables): restore only into a new, empty database"
        )
    folders = stored_folders()
    for name in manifest["folders"]:
        if name not in folders:
            raise BackupError(f"the backup holds a folder {name!r} this app has no setting for")
    for name, root in folders.items():
        if root.exists() and (not root.is_dir() or next(_any_entries(root), None) is not None):
            raise BackupError(f"{root} ({name}) is not empty: restore only into an empty or missing folder")


def _any_entries(root):
    for _directory, _subdirectories, names in os.walk(root):
        yield from names


def shared_services_warnings(manifest):
    """Warnings for a copy that would share Redis queues or Socket.IO messages with the install
    the backup came from: its jobs and notifications would reach that install's users."""
    config = current_app.config
    source = manifest.get("source") or {}
    warnings = []
    redis = redis_location(config.get("REDIS_URL"))
    if redis and redis == source.get("redis"):
        warnings.append(
            f"REDIS_URL is the backed-up install's Redis database ({redis}): its worker would run this "
            "copy's jobs. Give the copy a Redis database of its own (e.g. redis://…/14)."
        )
    queue = redis_location(config.get("SOCKETIO_MESSAGE_QUEUE"))
    if (
        queue
        and queue == source.get("socketio_queue")
        and config.get("SOCKETIO_CHANNEL") == source.get("socketio_channel")
    ):
        warnings.append(
            f"SOCKETIO_MESSAGE_QUEUE and SOCKETIO_CHANNEL ({queue}, {config.get('SOCKETIO_CHANNEL')}) "
            "are the backed-up install's: this copy's notifications would reach its users' pages. "
            "Set SOCKETIO_CHANNEL (and a Redis database) of the copy's own."
        )
    return warnings


def restore_backup(path):
    """Restore the archive into this app's (empty) database and stored-file folders, after
    verifying it; then compare the restored revision and row counts with the manifest."""
    manifest = verify_archive(path)
    check_target(manifest)
    kind = manifest["database"]["kind"]
    with tempfile.TemporaryDirectory(prefix="peerlearn-restore-") as scratch:
        dump = Path(scratch) / manifest["database"]["file"]
        with zipfile.ZipFile(path) as archive:
            _extract(archive, manifest["database"]["file"], dump)
        if kind == "postgresql":
            _restore_postgres(dump)
        else:
            _restore_sqlite(dump)
    db.engine.dispose()  # pooled connections knew the empty database
    files = _restore_files(path, manifest)
    with db.engine.connect() as connection:
        restored = _database_facts(connection)
    mismatches = _compare(manifest["database"], restored)
    return RestoreSummary(
        manifest=manifest,
        files=files,
        counts=restored["table_counts"],
        revision=restored["alembic_revision"],
        mismatches=mismatches,
        code_heads=_code_heads(),
    )


def _restore_postgres(dump):
    with db.engine.begin() as connection:
        # An empty stamp table would collide with the dump's own.
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    # No --clean: it drops objects first, which a new database lacks, and exits 1 for each.
    # One transaction, stopping at the first error: a failed restore leaves the database empty.
    _run_client(
        [
            _client_binary("pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            str(dump),
        ],
        "pg_restore",
    )


def _restore_sqlite(dump):
    """Copy the database in with SQLite's backup API, which replaces the target's pages whole
    (a file database or the in-memory one of this app's engine alike)."""
    import sqlite3

    source = sqlite3.connect(dump)
    raw = db.engine.raw_connection()
    try:
        source.backup(raw.driver_connection)
    finally:
        raw.close()
        source.close()


def _restore_files(path, manifest):
    """Write every stored file back into its folder; returns {folder name: files written}."""
    folders = stored_folders()
    written = dict.fromkeys(manifest["folders"], 0)
    with zipfile.ZipFile(path) as archive:
        for entry in manifest["files"]:
            parts = PurePosixPath(entry["path"]).parts
            if parts[0] != FILES:
                continue
            name, relative = parts[1], Path(*parts[2:])
            target = folders[name] / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            _extract(archive, entry["path"], target)
            written[name] += 1
    return written


def _extract(archive, name, target):
    """Copy one member to ``target`` through a temporary name beside it."""
    partial = target.with_name(f".{target.name}.partial")
    with archive.open(name) as member, open(partial, "wb") as out:
        shutil.copyfileobj(member, out, CHUNK)
    os.replace(partial, target)


def _compare(expected, restored):
    mismatches = []
    revision = restored["alembic_revision"]
    if expected.get("alembic_revision") != revision:
        mismatches.append(f"Alembic revision {revision}, the backup says {expected.get('alembic_revision')}")
    wanted, found = expected["table_counts"], restored["table_counts"]
    for name in sorted(wanted.keys() | found.keys()):
        if wanted.get(name) != found.get(name):
            mismatches.append(f"{name}: {found.get(name)} rows, the backup says {wanted.get(name)}")
    return mismatches


def _code_heads():
    """The migration heads of this code, to tell whether the restored database needs upgrading."""
    from alembic.script import ScriptDirectory

    migrate = current_app.extensions.get("migrate")
    if migrate is None:
        return []
    return sorted(ScriptDirectory.from_config(migrate.migrate.get_config()).get_heads())


# --- PostgreSQL's client programs -----------------------------------------------------------


def _client_binary(name):
    binary = shutil.which(name)
    if binary is None:
        raise BackupError(
            f"{name} was not found: install PostgreSQL's client programs (Debian: apt-get install "
            "postgresql-client), of the server's major version or newer"
        )
    return binary


def _run_client(command, name):
    """Run pg_dump or pg_restore against this app's database: host, port, user and database from
    its URL, the password through PGPASSWORD (never on the command line, which others can see)."""
    url = db.engine.url
    environment = dict(os.environ)
    if url.password:
        environment["PGPASSWORD"] = url.password
    libpq_url = URL.create(
        "postgresql", url.username, None, url.host, url.port, url.database, url.query
    ).render_as_string(hide_password=False)
    result = subprocess.run(  # noqa: S603 - our own arguments, no shell
        [*command, "--no-password", f"--dbname={libpq_url}"],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"{name} failed (exit {result.returncode}): {result.stderr.strip()[-2000:]}")
