"""Stored files (profile photos, session covers, recordings) behind one interface, so no
web process or worker depends on its own machine's disk.

A file is named by a key such as ``avatars/<name>.webp``. Two backends keep them:

- ``LocalStorage`` (the default): a folder, UPLOAD_DIR, on the one VM. A write goes to a hidden
  temporary file beside its target and is renamed into place, so a reader (or a backup) never
  sees half a file.
- ``S3Storage`` (STORAGE_BACKEND=s3): a bucket of any S3-compatible service (S3_BUCKET, with
  S3_ENDPOINT_URL for MinIO, Ceph, R2 and the like), shared by every web process and worker, so
  several VMs serve what any of them stored.

Either way the app serves a file at the same URL with the same headers (``serve``): long public
caching, the type its name says, an ETag and 304 for a browser that has it. Pages and the content
security policy do not change with the backend. Private files (recordings) may instead be handed
out as short-lived links (``private_url``).

A missing file is a 404. A backend that cannot be reached or refuses us is StorageUnavailable, a
503 with a message saying so, never a 500; the cause goes to the log.
"""

import logging
import mimetypes
import os
import re
import shutil
import tempfile
import time
from abc import ABC, abstractmethod
from pathlib import Path

from flask import abort, current_app, request, send_from_directory
from werkzeug.wrappers import Response

from ..exceptions import DomainError, NotFound

log = logging.getLogger(__name__)

COPY_CHUNK = 1024 * 1024  # a streamed file is written a megabyte at a time

# Path segments of letters, digits, dot, dash and underscore, none starting with a dot: no way
# above the root, no hidden names (the temporary files of a local write are hidden).
KEY = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}(?:/[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}){0,7}$")
CHUNK = 64 * 1024
# A browser's If-None-Match passed on to S3 only when it looks like one (a list of ETags).
ETAG_LIST = re.compile(r'^\s*(?:\*|(?:W/)?"[^"]{0,200}"(?:\s*,\s*(?:W/)?"[^"]{0,200}"){0,15})\s*$')
# Storage.check of a bucket: a key never stored (under S3_PREFIX), asked within this long.
CHECK_KEY = "peerlearn-check/absent"
CHECK_TIMEOUT_SECONDS = 2
# Error codes of S3 for credentials it does not know or cannot verify.
CREDENTIAL_ERRORS = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
    "TokenRefreshRequired",
    "InvalidSecurity",
}
SETTINGS = (
    "STORAGE_BACKEND",
    "UPLOAD_DIR",
    "S3_BUCKET",
    "S3_PREFIX",
    "S3_ENDPOINT_URL",
    "S3_REGION",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    "S3_TIMEOUT_SECONDS",
)


class StorageUnavailable(DomainError):
    """Stored files cannot be read or written right now (the bucket is unreachable or refuses)."""

    status = 503
    code = "storage_unavailable"

    def __init__(self, message=None, **kwargs):
        super().__init__(
            message or "Stored images cannot be reached right now. Please try again in a few minutes.",
            **kwargs,
        )


class StorageCheckFailed(StorageUnavailable):
    """What ``Storage.check`` found: ``message``, a short reason without addresses (/readyz is
    public); ``cause``, the underlying error's text, for the operator; ``fix``, one line."""

    def __init__(self, reason, *, fix, cause=None):
        super().__init__(reason)
        self.fix = fix
        self.cause = cause


class StoredFileMissing(NotFound):
    code = "file_not_found"

    def __init__(self, key):
        super().__init__(f"No stored file {key}.")
        self.key = key


def is_key(key):
    return isinstance(key, str) and KEY.match(key) is not None and ".." not in key


def check_key(key):
    if not is_key(key):
        raise ValueError(f"not a storage key: {key!r}")
    return key


def content_type_of(key):
    """The type a file's name says, as the local folder has always served it."""
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


class Storage(ABC):
    """What every backend does (LocalStorage, S3Storage). Keys are checked by ``check_key``."""

    kind = None
    settings = None  # the settings it was built from (get_storage)

    @abstractmethod
    def put(self, key, data, content_type):
        """Store ``data`` under ``key``, replacing what was there: bytes, or a file opened for
        reading in binary, which is streamed (a recording need not fit in memory)."""

    @abstractmethod
    def get(self, key):
        """The bytes stored under ``key``; StoredFileMissing when there are none."""

    @abstractmethod
    def delete(self, key):
        """Remove ``key``; nothing happens when it is not there."""

    @abstractmethod
    def exists(self, key):
        """Whether a file is stored under ``key``."""

    @abstractmethod
    def serve(self, key, *, max_age):
        """A response to the current request with the file under ``key`` (404 without one),
        publicly cacheable for ``max_age`` seconds, 304 when the browser's copy is current."""

    def private_url(self, key, *, expires_in=300):
        """A link that gives the file to whoever holds it for ``expires_in`` seconds, or None
        when the app must serve the file itself (``serve``) after its own checks."""
        return None

    @abstractmethod
    def describe(self):
        """Where the files are, for people (logs, `flask backup create`)."""

    @abstractmethod
    def check(self):
        """A cheap look, within a short timeout, at whether the store answers now (/readyz, the
        doctor). Returns a short detail when it does; raises StorageCheckFailed otherwise."""


class LocalStorage(Storage):
    """Files in a folder: UPLOAD_DIR/<key>."""

    kind = "local"

    def __init__(self, root):
        self.root = Path(root)

    def path(self, key):
        return self.root / check_key(key)

    def put(self, key, data, content_type):
        path = self.path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
            try:
                with os.fdopen(handle, "wb") as file:
                    if isinstance(data, bytes | bytearray):
                        file.write(data)
                    else:
                        shutil.copyfileobj(data, file, COPY_CHUNK)
                    file.flush()
                    os.fsync(file.fileno())
                # Readable by others, as a plain write would leave it (mkstemp's file is private).
                os.chmod(partial, 0o644)
                os.replace(partial, path)
            except BaseException:
                Path(partial).unlink(missing_ok=True)
                raise
        except OSError as exc:
            log.error("cannot write %s: %s", path, exc)
            raise StorageUnavailable(
                "The image could not be stored right now. Please try again later."
            ) from exc

    def get(self, key):
        path = self.path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise StoredFileMissing(key) from None
        except OSError as exc:
            log.error("cannot read %s: %s", path, exc)
            raise StorageUnavailable() from exc

    def delete(self, key):
        path = self.path(key)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            log.error("cannot remove %s: %s", path, exc)
            raise StorageUnavailable() from exc

    def exists(self, key):
        return self.path(key).is_file()

    def serve(self, key, *, max_age):
        if not is_key(key):
            abort(404)
        return send_from_directory(self.root, key, max_age=max_age)

    def describe(self):
        return f"folder {self.root}"

    def check(self):
        # The first write makes a missing folder: what matters is that it can.
        folder = self.root
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        try:
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".check-"):
                pass
        except OSError as exc:
            raise StorageCheckFailed(
                "the folder is not writable",
                fix=f"sudo install -d -o peerlearn -g peerlearn {self.root}",
                cause=f"{folder}: {exc.strerror or exc}",
            ) from exc
        return "folder writable" if folder == self.root else "folder made on the first upload"


class S3Storage(Storage):
    """Objects in a bucket of an S3-compatible service: <S3_PREFIX><key>."""

    kind = "s3"

    def __init__(
        self,
        bucket,
        *,
        prefix="",
        endpoint_url=None,
        region=None,
        access_key_id=None,
        secret_access_key=None,
        timeout=10,
    ):
        self.bucket = bucket
        self.prefix = prefix or ""
        self.endpoint_url = endpoint_url
        self.timeout = timeout
        self._client_options = {
            "endpoint_url": endpoint_url,
            "region_name": region,
            "aws_access_key_id": access_key_id,
            "aws_secret_access_key": secret_access_key,
        }
        # Two tries in all: a page waiting on an image should hear "unavailable" soon.
        self.client = self._new_client(timeout, attempts=2)
        self._check_client = None

    def _new_client(self, timeout, *, attempts):
        import boto3
        from botocore.config import Config

        config = Config(
            connect_timeout=timeout,
            read_timeout=timeout,
            retries={"mode": "standard", "max_attempts": attempts},
            # Services other than AWS commonly want bucket names in the path, not the host.
            s3={"addressing_style": "path"} if self.endpoint_url else None,
            signature_version="s3v4",
            # Checksums only where S3 requires them: several S3-compatible services refuse the
            # trailing checksums botocore sends by default.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        # A client of its own session: clients are safe to share between threads, sessions not.
        return boto3.session.Session().client("s3", config=config, **self._client_options)

    def object_key(self, key):
        return self.prefix + check_key(key)

    def put(self, key, data, content_type):
        with self._calls("store", key):
            if isinstance(data, bytes | bytearray):
                self.client.put_object(
                    Bucket=self.bucket, Key=self.object_key(key), Body=data, ContentType=content_type
                )
            else:  # a file: sent in parts (a multipart upload past boto3's threshold)
                self.client.upload_fileobj(
                    data, self.bucket, self.object_key(key), ExtraArgs={"ContentType": content_type}
                )

    def get(self, key):
        with self._calls("read", key):
            result = self.client.get_object(Bucket=self.bucket, Key=self.object_key(key))
            with result["Body"] as body:
                return body.read()

    def delete(self, key):
        with self._calls("remove", key):
            self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))

    def exists(self, key):
        try:
            with self._calls("look up", key):
                self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        except StoredFileMissing:
            return False
        return True

    def serve(self, key, *, max_age):
        from botocore.exceptions import ClientError

        if not is_key(key):
            abort(404)
        conditions = {}
        if_none_match = request.headers.get("If-None-Match")
        if if_none_match and ETAG_LIST.match(if_none_match):
            conditions["IfNoneMatch"] = if_none_match
        elif request.if_modified_since is not None:
            conditions["IfModifiedSince"] = request.if_modified_since
        try:
            with self._calls("read", key):
                try:
                    result = self.client.get_object(
                        Bucket=self.bucket, Key=self.object_key(key), **conditions
                    )
                except ClientError as exc:
                    if _status(exc) != 304:
                        raise
                    response = Response(status=304)
                    etag = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("etag")
                    if etag:
                        response.headers["ETag"] = etag
                    _cache_for(response, max_age)
                    return response
        except StoredFileMissing:
            abort(404)
        body = result["Body"]
        response = Response(body.iter_chunks(CHUNK), mimetype=content_type_of(key), direct_passthrough=True)
        response.call_on_close(body.close)
        response.content_length = result.get("ContentLength")
        if result.get("ETag"):
            response.headers["ETag"] = result["ETag"]
        if result.get("LastModified"):
            response.last_modified = result["LastModified"]
        _cache_for(response, max_age)
        return response

    def private_url(self, key, *, expires_in=300):
        with self._calls("sign a link to", key):
            return self.client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": self.object_key(key)},
                ExpiresIn=expires_in,
            )

    def describe(self):
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        prefix = f", keys starting {self.prefix!r}" if self.prefix else ""
        return f"S3 bucket {self.bucket}{where}{prefix}"

    def check(self):
        """One GET, one try, of an object that is never stored. S3 answers NoSuchKey when the
        bucket is there and the credentials are known; AccessDenied too, to credentials without
        s3:ListBucket (which the app's need not have). HeadBucket would need that permission, and
        a HEAD's error has no code telling a missing bucket from a missing object. Whether the
        credentials may write and read is the doctor's probe (preflight.check_storage)."""
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        if self._check_client is None:
            self._check_client = self._new_client(min(self.timeout, CHECK_TIMEOUT_SECONDS), attempts=1)
        try:
            self._check_client.get_object(Bucket=self.bucket, Key=self.prefix + CHECK_KEY)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "")) or str(_status(exc))
            if code in ("NoSuchKey", "AccessDenied"):
                return "bucket answers"
            if code == "NoSuchBucket":
                raise StorageCheckFailed(
                    "no such bucket",
                    fix=f"create the bucket {self.bucket} (private), or correct S3_BUCKET",
                    cause=_error_text(exc),
                ) from exc
            if code in CREDENTIAL_ERRORS:
                raise StorageCheckFailed(
                    f"credentials refused ({code})",
                    fix="check S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY",
                    cause=_error_text(exc),
                ) from exc
            raise StorageCheckFailed(
                f"answered {_status(exc)} {code}",
                fix="check S3_ENDPOINT_URL, S3_REGION and S3_BUCKET",
                cause=_error_text(exc),
            ) from exc
        except NoCredentialsError as exc:
            raise StorageCheckFailed(
                "no credentials",
                fix="set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY (or give the VM an instance role)",
                cause=_error_text(exc),
            ) from exc
        except BotoCoreError as exc:
            raise StorageCheckFailed(
                f"cannot be reached ({type(exc).__name__})",
                fix="check S3_ENDPOINT_URL, and that the service runs and this machine may reach it",
                cause=_error_text(exc),
            ) from exc
        return "bucket answers"

    def _calls(self, action, key):
        return _S3Errors(self, action, key)


class _S3Errors:
    """Turns what botocore raises into StoredFileMissing (no such key) or StorageUnavailable
    (everything else: unreachable, timed out, refused, a bucket that is not there), logged."""

    def __init__(self, storage, action, key):
        self.storage, self.action, self.key = storage, action, key

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, _traceback):
        if exc is None:
            return False
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(exc, ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("NoSuchKey", "404", "NotFound"):
                raise StoredFileMissing(self.key) from None
        elif not isinstance(exc, BotoCoreError):
            return False
        log.error("cannot %s %s in %s: %s", self.action, self.key, self.storage.describe(), exc)
        raise StorageUnavailable() from exc


def _error_text(exc):
    """S3's own message for what it refused (a ClientError), else the error's text."""
    if hasattr(exc, "response"):
        message = exc.response.get("Error", {}).get("Message")
        if message:
            return message
    return str(exc)


def _status(client_error):
    return client_error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")


def _cache_for(response, max_age):
    """The caching headers send_from_directory gives a file served with ``max_age``."""
    if max_age > 0:
        response.cache_control.no_cache = None
        response.cache_control.public = True
    response.cache_control.max_age = max_age
    response.expires = int(time.time() + max_age)


# --- the app's storage ----------------------------------------------------------------------


def build(config):
    """The backend the settings name."""
    if config["STORAGE_BACKEND"] == "s3":
        return S3Storage(
            config["S3_BUCKET"],
            prefix=config["S3_PREFIX"],
            endpoint_url=config["S3_ENDPOINT_URL"],
            region=config["S3_REGION"],
            access_key_id=config["S3_ACCESS_KEY_ID"],
            secret_access_key=config["S3_SECRET_ACCESS_KEY"],
            timeout=config["S3_TIMEOUT_SECONDS"],
        )
    return LocalStorage(config["UPLOAD_DIR"])


def _settings(config):
    return tuple(config.get(name) for name in SETTINGS)


def init_app(app):
    storage = app.extensions["storage"] = build(app.config)
    storage.settings = _settings(app.config)


def get_storage(app=None):
    """This app's storage (``app.extensions["storage"]``), built from its settings once, and
    again should they change (tests point an app at another folder or bucket)."""
    app = app or current_app._get_current_object()
    storage = app.extensions.get("storage")
    if storage is None or storage.settings != _settings(app.config):
        init_app(app)
        storage = app.extensions["storage"]
    return storage


def discard(key):
    """Remove a file nothing points at any more (a replaced photo, a failed save's write). The
    change that freed it has been made already, so a failure is logged, never raised: at worst an
    unused file stays behind."""
    try:
        get_storage().delete(key)
    except StorageUnavailable:
        log.warning("left %s behind: the storage could not remove it", key)


def backup_note():
    """What `flask backup create` says of stored files its archive does not hold, or None."""
    storage = get_storage()
    if storage.kind == "local":
        return None
    return (
        f"  stored files: in the {storage.describe()}, not in this archive; "
        "the bucket's own versioning or replication keeps them"
    )
