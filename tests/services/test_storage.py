"""Stored files through one interface, on both backends: the local folder and an S3-compatible
bucket (moto's S3 server on loopback stands in for one). Photos and covers uploaded through the
real pages and API are served at the same URLs with the same headers, replaced and removed; two
apps sharing only the bucket serve what the other stored; a missing file is a 404 and a bucket
that cannot be reached a 503, never a 500."""

import io
import logging
import urllib.request
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart

from peerlearn import create_app
from peerlearn.extensions import db
from peerlearn.models import LearningSession, User
from peerlearn.services import storage
from tests.conftest import AuthActions, IsolatedClient, extract_csrf, free_port, unavailable

MONTH = 86400 * 30
PREFIX = "peerlearn-test/"


@pytest.fixture(scope="module")
def s3_endpoint():
    """moto's S3 server on loopback, for this module's tests."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        unavailable("moto is not installed (pip install -r requirements-test.txt)")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    # Its request log is werkzeug's, at INFO: keep test output to what matters.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    yield f"http://127.0.0.1:{port}"
    server.stop()


def s3_settings(endpoint, bucket, **extra):
    return {
        "STORAGE_BACKEND": "s3",
        "S3_BUCKET": bucket,
        "S3_ENDPOINT_URL": endpoint,
        "S3_REGION": "us-east-1",
        "S3_ACCESS_KEY_ID": "testing",
        "S3_SECRET_ACCESS_KEY": "testing",
        "S3_PREFIX": PREFIX,
        "S3_TIMEOUT_SECONDS": 2,
        **extra,
    }


def new_bucket(endpoint):
    import boto3

    name = f"peerlearn-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's stand-in takes any
    )
    client.create_bucket(Bucket=name)
    return client, name


@pytest.fixture(params=["local", "s3"])
def backend(request, app):
    """The app's storage on each backend in turn; for S3, a new bucket of its own."""
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        client, bucket = new_bucket(endpoint)
        app.config.update(s3_settings(endpoint, bucket))
        store = storage.get_storage()
        store.bucket_client = client
        return store
    return storage.get_storage()


def stored_keys(store):
    """Every key the backend holds, to see what an action left behind."""
    if store.kind == "s3":
        listed = store.bucket_client.list_objects_v2(Bucket=store.bucket)
        return sorted(item["Key"].removeprefix(PREFIX) for item in listed.get("Contents", []))
    return sorted(path.relative_to(store.root).as_posix() for path in store.root.rglob("*") if path.is_file())


def files_on_disk(app):
    folder = Path(app.config["UPLOAD_DIR"])
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


def image_bytes(size=(800, 400), color=(200, 30, 30)):
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def upload_avatar(client, headers, data):
    stream, length, boundary = stream_encode_multipart(
        {"avatar": FileStorage(io.BytesIO(data), filename="me.png")}, use_tempfile=False
    )
    return client.post(
        "/api/profile/avatar/",
        headers=headers,
        input_stream=stream,
        content_length=length,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def session_form(page_html, cover, action="draft"):
    return {
        "csrf_token": extract_csrf(page_html),
        "title": "Pandas for messy data",
        "description": "Cleaning a real export, live.",
        "category": "Data & AI",
        "skills": "Pandas",
        "level": "intermediate",
        "language": "English",
        "start_date": (date.today() + timedelta(days=30)).isoformat(),
        "start_time": "18:30",
        "duration_minutes": "90",
        "capacity": "8",
        "price": "0",
        "action": action,
        "cover": (io.BytesIO(cover), "cover.png"),
    }


def fetch(client, url, **kwargs):
    response = client.get(url, **kwargs)
    body = response.data
    response.close()
    return response, body


def signed_in(app, email):
    """A bearer header for ``email`` from ``app``'s API."""
    response = app.test_client().post(
        "/api/login/", json={"email": email, "password": "correct-horse-battery"}
    )
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['data']['token']}"}


# --- the interface itself -------------------------------------------------------------------


def test_put_get_exists_and_delete(backend):
    assert not backend.exists("avatars/a.webp")
    backend.put("avatars/a.webp", b"first", "image/webp")
    backend.put("avatars/a.webp", b"second", "image/webp")
    assert backend.exists("avatars/a.webp")
    assert backend.get("avatars/a.webp") == b"second"
    assert stored_keys(backend) == ["avatars/a.webp"]
    backend.delete("avatars/a.webp")
    backend.delete("avatars/a.webp")  # removing what is gone is no error
    assert not backend.exists("avatars/a.webp")
    with pytest.raises(storage.StoredFileMissing):
        backend.get("avatars/a.webp")
    assert stored_keys(backend) == []


def test_a_file_is_streamed_in_whole(backend, tmp_path):
    """A recording is handed over as an open file, not read into memory first; past boto3's
    multipart threshold (8 MiB) a bucket receives it in parts."""
    data = bytes(range(256)) * (9 * 4096 + 7)  # a little over 9 MiB
    source = tmp_path / "composed.mp4"
    source.write_bytes(data)
    with source.open("rb") as file:
        backend.put("recordings/1/1-abc.mp4", file, "video/mp4")
    assert backend.get("recordings/1/1-abc.mp4") == data


@pytest.mark.parametrize(
    "key", ["../secret", "avatars/../x", ".hidden", "avatars/.x.partial", "/etc/passwd", ""]
)
def test_keys_outside_the_store_are_refused(backend, key):
    with pytest.raises(ValueError, match="not a storage key"):
        backend.put(key, b"x", "text/plain")


def test_a_private_link_gives_the_file_to_its_holder_or_the_app_serves_it(backend):
    backend.put("recordings/r.webm", b"moving pictures", "video/webm")
    link = backend.private_url("recordings/r.webm", expires_in=60)
    if backend.kind == "local":
        assert link is None
        return
    assert "X-Amz-Signature=" in link and "X-Amz-Expires=60" in link
    with urllib.request.urlopen(link, timeout=5) as answer:  # noqa: S310 - our own loopback server
        assert answer.read() == b"moving pictures"


# --- photos and covers through the pages and the API ----------------------------------------


def test_a_photo_is_uploaded_served_replaced_and_removed(app, client, backend, make_user, api_token):
    user = make_user(email="a@example.com")
    headers = {"Authorization": f"Bearer {api_token('a@example.com')}"}
    assert upload_avatar(client, headers, image_bytes()).status_code == 200
    db.session.refresh(user)
    first = user.avatar_filename
    assert stored_keys(backend) == [f"avatars/{first}"]
    if backend.kind == "s3":
        assert files_on_disk(app) == []

    served, body = fetch(client, f"/media/avatars/{first}")
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/webp"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.cache_control.public and served.cache_control.max_age == MONTH
    with Image.open(io.BytesIO(body)) as img:
        assert img.format == "WEBP" and img.size == (512, 512)
    # A browser that has it is told so, without the picture again.
    again, again_body = fetch(
        client, f"/media/avatars/{first}", headers={"If-None-Match": served.headers["ETag"]}
    )
    assert again.status_code == 304 and again_body == b""
    assert again.cache_control.max_age == MONTH

    assert upload_avatar(client, headers, image_bytes(color=(0, 0, 255))).status_code == 200
    db.session.refresh(user)
    second = user.avatar_filename
    assert second != first
    assert stored_keys(backend) == [f"avatars/{second}"]
    assert fetch(client, f"/media/avatars/{first}")[0].status_code == 404
    assert fetch(client, f"/media/avatars/{second}")[0].status_code == 200

    assert client.delete("/api/profile/avatar/", headers=headers).status_code == 200
    assert stored_keys(backend) == []
    assert fetch(client, f"/media/avatars/{second}")[0].status_code == 404


def test_a_cover_is_uploaded_through_the_page_served_and_replaced(app, client, backend, make_user):
    mentor = make_user(role="mentor", email="m@example.com")
    AuthActions(client).login("m@example.com")
    page = client.get("/teach/sessions/new").get_data(as_text=True)
    created = client.post(
        "/teach/sessions/new",
        data=session_form(page, image_bytes(size=(1600, 900))),
        content_type="multipart/form-data",
    )
    assert created.status_code == 303
    [session] = db.session.scalars(select(LearningSession).where(LearningSession.mentor_id == mentor.id))
    first = session.cover_filename
    assert stored_keys(backend) == [f"covers/{first}"]
    served, body = fetch(client, f"/media/covers/{first}")
    assert served.status_code == 200 and served.mimetype == "image/webp"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    with Image.open(io.BytesIO(body)) as img:
        assert img.size == (1200, 675)

    edit_page = client.get(f"/teach/sessions/{session.id}/edit").get_data(as_text=True)
    edited = client.post(
        f"/teach/sessions/{session.id}/edit",
        data=session_form(edit_page, image_bytes(size=(1600, 900), color=(0, 90, 0)), action="save"),
        content_type="multipart/form-data",
    )
    assert edited.status_code == 303
    db.session.refresh(session)
    assert session.cover_filename != first
    assert stored_keys(backend) == [f"covers/{session.cover_filename}"]
    assert fetch(client, f"/media/covers/{first}")[0].status_code == 404
    assert fetch(client, f"/media/covers/{session.cover_filename}")[0].status_code == 200
    if backend.kind == "s3":
        assert files_on_disk(app) == []


@pytest.mark.parametrize(
    "url",
    ["/media/avatars/none.webp", "/media/covers/none.webp", "/media/covers/..%2Fsecret", "/media/avatars/.x"],
)
def test_a_missing_file_is_not_found(client, backend, url):
    assert fetch(client, url)[0].status_code == 404


def test_two_apps_sharing_only_the_bucket_serve_what_the_other_stored(
    threaded_app, tmp_path, s3_endpoint, make_user
):
    """Two web processes on two machines: one database, one bucket, no folder in common."""
    _client, bucket = new_bucket(s3_endpoint)
    settings = s3_settings(s3_endpoint, bucket)
    first = threaded_app
    first.config.update(UPLOAD_DIR=str(tmp_path / "first"), **settings)
    second = create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": first.config["SQLALCHEMY_DATABASE_URI"],
            "SQLALCHEMY_ENGINE_OPTIONS": first.config["SQLALCHEMY_ENGINE_OPTIONS"],
            "UPLOAD_DIR": str(tmp_path / "second"),
            "INSTANCE_DIR": str(tmp_path),
            **settings,
        },
    )
    second.test_client_class = IsolatedClient
    make_user(email="a@example.com")
    mentor = make_user(role="mentor", email="m@example.com")

    # A photo through the first app's API, shown by the second.
    assert (
        upload_avatar(first.test_client(), signed_in(first, "a@example.com"), image_bytes()).status_code
        == 200
    )
    photo = db.session.scalar(select(User.avatar_filename).where(User.email == "a@example.com"))
    served, body = fetch(second.test_client(), f"/media/avatars/{photo}")
    assert served.status_code == 200 and Image.open(io.BytesIO(body)).size == (512, 512)

    # A cover through the second app's page, shown by the first.
    browser = second.test_client()
    AuthActions(browser).login("m@example.com")
    page = browser.get("/teach/sessions/new").get_data(as_text=True)
    created = browser.post(
        "/teach/sessions/new",
        data=session_form(page, image_bytes(size=(1600, 900))),
        content_type="multipart/form-data",
    )
    assert created.status_code == 303
    cover = db.session.scalar(
        select(LearningSession.cover_filename).where(LearningSession.mentor_id == mentor.id)
    )
    served, body = fetch(first.test_client(), f"/media/covers/{cover}")
    assert served.status_code == 200 and Image.open(io.BytesIO(body)).size == (1200, 675)

    assert files_on_disk(first) == [] and files_on_disk(second) == []
    with second.app_context():
        db.engine.dispose()


# --- when the bucket is away ----------------------------------------------------------------


@pytest.fixture
def unreachable(app):
    """Storage pointed at a loopback port nothing listens on."""
    app.config.update(s3_settings(f"http://127.0.0.1:{free_port()}", "peerlearn-away", S3_TIMEOUT_SECONDS=1))
    return storage.get_storage()


def test_an_unreachable_bucket_is_a_clear_503(app, client, unreachable, make_user, api_token, caplog):
    user = make_user(email="a@example.com")
    user.avatar_filename = "0123456789abcdef0123456789abcdef.webp"
    db.session.commit()
    headers = {"Authorization": f"Bearer {api_token('a@example.com')}"}

    served, body = fetch(client, f"/media/avatars/{user.avatar_filename}")
    assert served.status_code == 503
    assert "cannot be reached right now" in body.decode()

    refused = upload_avatar(client, headers, image_bytes())
    assert refused.status_code == 503
    assert refused.get_json()["error"]["code"] == "storage_unavailable"
    db.session.refresh(user)
    assert user.avatar_filename == "0123456789abcdef0123456789abcdef.webp"  # the old photo stays

    # Removing a photo is done for the person even now; the file left behind is logged.
    with caplog.at_level(logging.WARNING, logger="peerlearn.services.storage"):
        assert client.delete("/api/profile/avatar/", headers=headers).status_code == 200
    db.session.refresh(user)
    assert user.avatar_filename is None
    assert "left avatars/0123456789abcdef0123456789abcdef.webp behind" in caplog.text


def test_an_unreachable_bucket_refuses_a_page_upload_with_503_and_keeps_nothing(
    app, client, unreachable, make_user
):
    user = make_user(email="p@example.com")
    AuthActions(client).login("p@example.com")
    token = extract_csrf(client.get("/profile/edit").get_data(as_text=True))
    response = client.post(
        "/profile/avatar",
        data={"csrf_token": token, "avatar": (io.BytesIO(image_bytes()), "me.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 503
    assert "Stored images cannot be reached right now" in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.avatar_filename is None


def test_a_bucket_that_does_not_exist_is_a_503(app, client, s3_endpoint, make_user, api_token):
    app.config.update(s3_settings(s3_endpoint, "peerlearn-never-made"))
    make_user(email="a@example.com")
    headers = {"Authorization": f"Bearer {api_token('a@example.com')}"}
    assert upload_avatar(client, headers, image_bytes()).status_code == 503
    assert fetch(client, "/media/avatars/none.webp")[0].status_code == 503


# --- the local folder -----------------------------------------------------------------------


def test_a_local_write_is_whole_or_not_at_all(app, monkeypatch):
    store = storage.get_storage()
    store.put("covers/c.webp", b"old picture", "image/webp")

    def fail(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage.os, "replace", fail)
    with pytest.raises(storage.StorageUnavailable):
        store.put("covers/c.webp", b"new picture", "image/webp")
    assert store.get("covers/c.webp") == b"old picture"
    assert stored_keys(store) == ["covers/c.webp"]  # no temporary file left beside it
    assert oct((store.root / "covers" / "c.webp").stat().st_mode & 0o777) == "0o644"


def test_the_folder_layout_is_the_one_backups_keep(app, client, make_user, api_token):
    make_user(email="a@example.com")
    headers = {"Authorization": f"Bearer {api_token('a@example.com')}"}
    assert upload_avatar(client, headers, image_bytes()).status_code == 200
    photo = db.session.scalar(select(User.avatar_filename).where(User.email == "a@example.com"))
    assert (Path(app.config["UPLOAD_DIR"]) / "avatars" / photo).is_file()
    assert storage.backup_note() is None


def test_backup_create_says_bucket_files_are_not_in_the_archive(tmp_path, s3_endpoint):
    _client, bucket = new_bucket(s3_endpoint)
    app = create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'backed-up.sqlite3'}",
            "SQLALCHEMY_ENGINE_OPTIONS": {},
            "UPLOAD_DIR": str(tmp_path / "uploads"),
            "INSTANCE_DIR": str(tmp_path),
            **s3_settings(s3_endpoint, bucket),
        },
    )
    with app.app_context():
        db.create_all()
        result = app.test_cli_runner().invoke(args=["backup", "create", "--to", str(tmp_path / "backups")])
        db.engine.dispose()
    assert result.exit_code == 0, result.output
    assert f"stored files: in the S3 bucket {bucket} at {s3_endpoint}" in result.output
    assert "not in this archive" in result.output
