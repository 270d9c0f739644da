"""Avatar uploads: only real images, re-encoded, size- and pixel-limited, nothing kept from the upload."""

import io
from pathlib import Path

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart

from peerlearn.extensions import db
from tests.conftest import extract_csrf


def image_bytes(fmt="PNG", size=(64, 48), color=(200, 30, 30), **save_kwargs):
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=fmt, **save_kwargs)
    return out.getvalue()


def jpeg_with_exif():
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Inc."  # Make
    exif[0x8825] = {2: (12.0, 58.0, 0.0)}  # GPS info
    return image_bytes("JPEG", exif=exif.tobytes())


@pytest.fixture
def bearer(make_user, api_token):
    user = make_user(email="a@example.com")
    return user, {"Authorization": f"Bearer {api_token('a@example.com')}"}


def upload(client, headers, data, name="me.png"):
    # Encoded in memory: the test client would spool a large body to a temp file it never closes.
    stream, length, boundary = stream_encode_multipart(
        {"avatar": FileStorage(io.BytesIO(data), filename=name)}, use_tempfile=False
    )
    return client.post(
        "/api/profile/avatar/",
        headers=headers,
        input_stream=stream,
        content_length=length,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_valid_images_are_reencoded_as_square_webp(app, client, bearer, fmt):
    user, headers = bearer
    response = upload(client, headers, image_bytes(fmt, size=(800, 400)), name=f"me.{fmt.lower()}")
    assert response.status_code == 200, response.get_json()
    db.session.refresh(user)
    assert user.avatar_filename.endswith(".webp") and len(user.avatar_filename) == 37
    stored = Path(app.config["UPLOAD_DIR"]) / "avatars" / user.avatar_filename
    with Image.open(stored) as img:
        assert img.format == "WEBP" and img.size == (512, 512)
    served = client.get(f"/media/avatars/{user.avatar_filename}")
    served.close()
    assert served.status_code == 200 and served.headers["Content-Type"] == "image/webp"
    assert served.headers["X-Content-Type-Options"] == "nosniff"


def test_metadata_is_stripped(app, client, bearer):
    user, headers = bearer
    original = jpeg_with_exif()
    assert b"SpyCam" in original
    assert upload(client, headers, original, "photo.jpg").status_code == 200
    db.session.refresh(user)
    stored = (Path(app.config["UPLOAD_DIR"]) / "avatars" / user.avatar_filename).read_bytes()
    assert b"SpyCam" not in stored and b"Exif" not in stored
    with Image.open(io.BytesIO(stored)) as img:
        assert not img.getexif()


def test_text_file_named_png_is_refused(app, client, bearer):
    user, headers = bearer
    response = upload(client, headers, b"#!/bin/sh\necho pwned\n" * 10, "evil.png")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_image"
    db.session.refresh(user)
    assert user.avatar_filename is None
    assert not list((Path(app.config["UPLOAD_DIR"]) / "avatars").glob("*"))


def test_other_image_formats_are_refused(client, bearer):
    _user, headers = bearer
    response = upload(client, headers, image_bytes("GIF"), "anim.png")
    assert response.status_code == 422


def test_image_over_pixel_limit_is_refused(app, client, bearer):
    user, headers = bearer
    app.config["AVATAR_MAX_PIXELS"] = 1_000_000
    # 2000×2000 of one colour compresses to a few KB: small file, too many pixels.
    data = image_bytes("PNG", size=(2000, 2000))
    assert len(data) < 100_000
    response = upload(client, headers, data)
    assert response.status_code == 422
    assert "too large" in response.get_json()["error"]["message"]
    db.session.refresh(user)
    assert user.avatar_filename is None


def test_decompression_bomb_is_refused(client, bearer):
    _user, headers = bearer
    # Pillow's own bomb guard: a header claiming ~200 million pixels.
    data = image_bytes("PNG", size=(15000, 14000), color=(0, 0, 0))
    response = upload(client, headers, data)
    assert response.status_code == 422


def test_file_over_5_mb_is_refused(client, bearer):
    _user, headers = bearer
    big = image_bytes("PNG") + b"\0" * (5 * 1024 * 1024)
    response = upload(client, headers, big)
    assert response.status_code == 422
    assert "5 MB" in response.get_json()["error"]["message"]


def test_truncated_image_is_refused(client, bearer):
    _user, headers = bearer
    data = image_bytes("JPEG", size=(400, 400), color=(10, 200, 10))
    response = upload(client, headers, data[: len(data) // 2], "half.jpg")
    assert response.status_code == 422


def test_replacing_avatar_deletes_the_old_file(app, client, bearer):
    user, headers = bearer
    upload(client, headers, image_bytes())
    db.session.refresh(user)
    first = user.avatar_filename
    upload(client, headers, image_bytes(color=(0, 0, 255)))
    db.session.refresh(user)
    assert user.avatar_filename != first
    files = [p.name for p in (Path(app.config["UPLOAD_DIR"]) / "avatars").iterdir()]
    assert files == [user.avatar_filename]
    assert client.delete("/api/profile/avatar/", headers=headers).status_code == 200
    db.session.refresh(user)
    assert user.avatar_filename is None
    assert not list((Path(app.config["UPLOAD_DIR"]) / "avatars").iterdir())


def test_upload_through_the_page(client, auth, make_user):
    user = make_user(email="p@example.com")
    auth.login("p@example.com")
    token = extract_csrf(client.get("/profile/edit").get_data(as_text=True))
    response = client.post(
        "/profile/avatar",
        data={"csrf_token": token, "avatar": (io.BytesIO(image_bytes()), "me.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.avatar_filename
    response = client.post(
        "/profile/avatar",
        data={"csrf_token": token, "avatar": (io.BytesIO(b"hello"), "x.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "PNG, JPEG or WebP" in response.get_data(as_text=True)
