"""Avatar uploads: only real images, re-encoded, size- and pixel-limited, nothing kept from the upload;
only from confirmed accounts, a few an hour, and a few decodes at once."""

import io
import os
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from PIL import Image, ImageFile
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart

from peerlearn.extensions import db
from peerlearn.models import LearningSession
from peerlearn.services import avatars
from tests.conftest import AuthActions, extract_csrf


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


# --- Who may upload, how often, and how many decodes at once -----------------------------------


def noisy_png(size, block=8):
    """A PNG of ``size`` that costs a full decode but stays small: random blocks of ``block``
    pixels (repeated rows and runs compress well, the noise keeps it from compressing to nothing)."""
    small = (-(-size[0] // block), -(-size[1] // block))
    noise = Image.frombytes("RGB", small, os.urandom(small[0] * small[1] * 3))
    out = io.BytesIO()
    noise.resize((small[0] * block, small[1] * block), Image.Resampling.NEAREST).crop((0, 0, *size)).save(
        out, format="PNG", compress_level=1
    )
    return out.getvalue()


@pytest.fixture(scope="module")
def photo_25mp():
    """5000×5000: a normal phone photo's pixel count."""
    return noisy_png((5000, 5000))


def signed_in_unverified(user):
    """``user``, signed in while confirmed, now with an unconfirmed address (as if just changed)."""
    user.email_verified_at = None
    db.session.commit()


def test_unverified_account_cannot_upload(app, client, make_user, api_token):
    user = make_user(email="new@example.com")
    headers = {"Authorization": f"Bearer {api_token('new@example.com')}"}
    signed_in_unverified(user)
    response = upload(client, headers, image_bytes())
    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["code"] == "email_unverified"
    assert "Confirm your email address" in error["message"]
    db.session.refresh(user)
    assert user.avatar_filename is None
    assert not list((Path(app.config["UPLOAD_DIR"]) / "avatars").glob("*"))


def test_unverified_profile_page_explains_instead_of_offering_an_upload(client, auth, make_user):
    user = make_user(email="new@example.com")
    auth.login("new@example.com")
    signed_in_unverified(user)
    page = client.get("/profile/edit").get_data(as_text=True)
    assert "Confirm your email address to add a profile photo" in page
    assert 'name="avatar"' not in page and "Upload photo" not in page
    # A form kept open from before, or a crafted post, gets the same reason.
    response = client.post(
        "/profile/avatar",
        data={"csrf_token": extract_csrf(page), "avatar": (io.BytesIO(image_bytes()), "me.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 403
    assert "Confirm your email address before uploading images" in response.get_data(as_text=True)


def create_session_with_cover(client, data):
    page = client.get("/teach/sessions/new").get_data(as_text=True)
    form = {
        "csrf_token": extract_csrf(page),
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
        "action": "draft",
        "cover": (io.BytesIO(data), "cover.png"),
    }
    return client.post("/teach/sessions/new", data=form, content_type="multipart/form-data")


def test_upload_limit_counts_photos_and_covers_together(app, make_user, api_token):
    app.config["UPLOAD_LIMIT"] = "2 per hour"
    mentor = make_user(role="mentor", email="m@example.com")
    api, page = app.test_client(), app.test_client()
    headers = {"Authorization": f"Bearer {api_token('m@example.com')}"}
    AuthActions(page).login("m@example.com")

    assert upload(api, headers, image_bytes()).status_code == 200
    created = create_session_with_cover(page, image_bytes(size=(1600, 900)))
    assert created.status_code == 303
    [session] = db.session.scalars(select(LearningSession).where(LearningSession.mentor_id == mentor.id))
    with Image.open(Path(app.config["UPLOAD_DIR"]) / "covers" / session.cover_filename) as cover:
        assert cover.format == "WEBP" and cover.size == (1200, 675)

    refused = upload(api, headers, image_bytes())
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "upload_limit"
    assert int(refused.headers["Retry-After"]) > 0
    assert "Please wait" in refused.get_json()["error"]["message"]

    token = extract_csrf(page.get("/profile/edit").get_data(as_text=True))
    on_page = page.post(
        "/profile/avatar",
        data={"csrf_token": token, "avatar": (io.BytesIO(image_bytes()), "me.png")},
        content_type="multipart/form-data",
    )
    assert on_page.status_code == 429 and "Retry-After" in on_page.headers
    assert "You have uploaded many images recently" in on_page.get_data(as_text=True)

    cover_refused = create_session_with_cover(page, image_bytes(size=(1600, 900)))
    assert cover_refused.status_code == 429
    assert "You have uploaded many images recently" in cover_refused.get_data(as_text=True)

    # Counted per account: someone else still uploads.
    make_user(email="other@example.com")
    other = {"Authorization": f"Bearer {api_token('other@example.com')}"}
    assert upload(api, other, image_bytes()).status_code == 200


def test_a_25_megapixel_photo_is_accepted(app, client, bearer, photo_25mp):
    user, headers = bearer
    assert len(photo_25mp) < app.config["AVATAR_MAX_BYTES"]
    response = upload(client, headers, photo_25mp)
    assert response.status_code == 200, response.get_json()
    db.session.refresh(user)
    with Image.open(Path(app.config["UPLOAD_DIR"]) / "avatars" / user.avatar_filename) as img:
        assert img.size == (512, 512)


def test_too_many_pixels_are_refused_before_decoding(app, client, bearer, monkeypatch):
    _user, headers = bearer
    decoded = []
    real_load = ImageFile.ImageFile.load

    def load(image):
        decoded.append(image.size)
        return real_load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    # One row past 25 megapixels, in a file of a few KB.
    response = upload(client, headers, image_bytes("PNG", size=(5000, 5001)))
    assert response.status_code == 422
    message = response.get_json()["error"]["message"]
    assert "too large (5000×5001 pixels)" in message and "25 megapixels" in message
    assert decoded == []


def test_a_large_jpeg_is_decoded_at_a_reduced_scale_and_turned_upright(app, client, bearer, monkeypatch):
    user, headers = bearer
    # A 24-megapixel phone photo, top half red, bottom half blue, stored sideways: EXIF orientation
    # 6 means "rotate 90° clockwise to show", so people see blue on the left, red on the right.
    picture = Image.new("RGB", (6000, 4000), (220, 20, 20))
    picture.paste((20, 20, 220), (0, 2000, 6000, 4000))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=90, exif=exif.tobytes())
    decoded = []
    real_load = ImageFile.ImageFile.load

    def load(image):
        decoded.append(image.size)
        return real_load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    assert upload(client, headers, out.getvalue(), "photo.jpg").status_code == 200
    # Decoded at half the width and height (6 megapixels, still twice the 512 pixels needed), not 24.
    assert decoded and decoded[0] == (3000, 2000)
    db.session.refresh(user)
    with Image.open(Path(app.config["UPLOAD_DIR"]) / "avatars" / user.avatar_filename) as img:
        assert img.size == (512, 512)
        left, right = img.convert("RGB").getpixel((60, 256)), img.convert("RGB").getpixel((450, 256))
    assert left[2] > 150 and left[0] < 80, left
    assert right[0] > 150 and right[2] < 80, right


class Gate:
    """Holds every decode that enters until opened, counting how many are inside at once."""

    def __init__(self, real):
        self.real = real
        self.opened = threading.Event()
        self.changed = threading.Condition()
        self.inside = self.most_inside = 0

    def __call__(self, *args):
        with self.changed:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
            self.changed.notify_all()
        try:
            assert self.opened.wait(30), "the test never opened the gate"
            return self.real(*args)
        finally:
            with self.changed:
                self.inside -= 1
                self.changed.notify_all()

    def wait_for(self, predicate):
        with self.changed:
            assert self.changed.wait_for(predicate, timeout=30), "decodes did not arrive"


class CountingSemaphore:
    """The decoders' semaphore, counting the calls that asked for a slot."""

    def __init__(self, real):
        self.real = real
        self.asked = 0
        self.lock = threading.Lock()

    def acquire(self, *args, **kwargs):
        with self.lock:
            self.asked += 1
        return self.real.acquire(*args, **kwargs)

    def release(self):
        self.real.release()


def decode_in_thread(app, data, results):
    def run():
        with app.app_context():
            try:
                results.append(avatars.process_image(data))
            except Exception as exc:  # the test inspects what came out
                results.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_decodes_past_the_cap_are_told_to_try_again(app, client, bearer, monkeypatch):
    _user, headers = bearer
    # One upload an hour: the one told to come back (503) must not have used it up.
    app.config.update(IMAGE_DECODE_CONCURRENCY=1, IMAGE_DECODE_WAIT_SECONDS=0, UPLOAD_LIMIT="1 per hour")
    gate = Gate(avatars._fit_and_encode)
    monkeypatch.setattr(avatars, "_fit_and_encode", gate)
    results = []
    holder = decode_in_thread(app, image_bytes(), results)
    gate.wait_for(lambda: gate.inside == 1)

    busy = upload(client, headers, image_bytes())
    assert busy.status_code == 503
    error = busy.get_json()["error"]
    assert error["code"] == "uploads_busy" and "try again" in error["message"]
    assert busy.headers["Retry-After"] == "1"

    gate.opened.set()
    holder.join(30)
    assert isinstance(results[0], bytes)
    assert upload(client, headers, image_bytes()).status_code == 200
    assert upload(client, headers, image_bytes()).status_code == 429  # that one did count


def test_decodes_beyond_the_cap_wait_for_a_free_slot(app, monkeypatch):
    app.config.update(IMAGE_DECODE_CONCURRENCY=2, IMAGE_DECODE_WAIT_SECONDS=30)
    gate = Gate(avatars._fit_and_encode)
    monkeypatch.setattr(avatars, "_fit_and_encode", gate)
    slots = avatars._decoders()
    counting = CountingSemaphore(slots.free)
    monkeypatch.setattr(slots, "free", counting)
    results = []
    threads = [decode_in_thread(app, image_bytes(color=(n, 0, 0)), results) for n in range(6)]
    # All six asked for a slot; two got one, four wait for them.
    gate.wait_for(lambda: gate.inside == 2 and counting.asked == 6)
    assert gate.most_inside == 2
    gate.opened.set()
    for thread in threads:
        thread.join(30)
    assert len(results) == 6 and all(isinstance(result, bytes) for result in results), results
    assert gate.most_inside == 2


def test_no_database_connection_is_held_while_an_image_decodes(client, bearer, monkeypatch):
    _user, headers = bearer
    in_transaction = []

    def decode(*args):
        in_transaction.append(db.session().in_transaction())
        return real(*args)

    real = avatars._fit_and_encode
    monkeypatch.setattr(avatars, "_fit_and_encode", decode)
    assert upload(client, headers, image_bytes()).status_code == 200
    assert in_transaction == [False]
