"""Avatar uploads: decoded and re-encoded with Pillow, so only clean pixels are stored."""

import io
import secrets
import warnings
from pathlib import Path

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError

from ..exceptions import ValidationError
from ..extensions import db

ALLOWED_FORMATS = {"PNG", "JPEG", "WEBP"}


def upload_dir(kind="avatars"):
    path = Path(current_app.config["UPLOAD_DIR"]) / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def avatar_dir():
    return upload_dir("avatars")


def process_image(data, *, size=None, field="avatar"):
    """Return WebP bytes of the image cropped to ``size`` (a square avatar by default), decoded
    and re-encoded so no metadata survives, or raise ValidationError naming ``field``."""

    def _reject(message):
        raise ValidationError(message, fields={field: [message]}, code="invalid_image")

    config = current_app.config
    if not data:
        _reject("Choose an image to upload.")
    if len(data) > config["AVATAR_MAX_BYTES"]:
        _reject("The image is larger than 5 MB.")
    max_pixels = config["AVATAR_MAX_PIXELS"]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=sorted(ALLOWED_FORMATS))
            width, height = image.size
            if width * height > max_pixels:
                _reject(f"The image is too large ({width}×{height} pixels).")
            image.seek(0)  # first frame of an animation
            image.load()
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        _reject("The image has too many pixels.")
    except UnidentifiedImageError:
        _reject("Upload a PNG, JPEG or WebP image.")
    except (OSError, SyntaxError, ValueError, EOFError):
        _reject("This image file is damaged or incomplete.")
    if image.format not in ALLOWED_FORMATS:
        _reject("Upload a PNG, JPEG or WebP image.")

    image = ImageOps.exif_transpose(image)
    image = image.convert("RGBA" if image.mode in ("RGBA", "LA", "P", "PA") else "RGB")
    if size is None:
        size = (config["AVATAR_SIZE"], config["AVATAR_SIZE"])
    image = ImageOps.fit(image, size, method=Image.Resampling.LANCZOS)
    out = io.BytesIO()
    # A fresh encode carries no EXIF, XMP or ICC data from the upload.
    image.save(out, format="WEBP", quality=85, method=4)
    return out.getvalue()


def save_avatar(user, data):
    encoded = process_image(data)
    directory = avatar_dir()
    filename = f"{secrets.token_hex(16)}.webp"
    (directory / filename).write_bytes(encoded)
    old = user.avatar_filename
    user.avatar_filename = filename
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        (directory / filename).unlink(missing_ok=True)
        raise
    if old:
        (directory / old).unlink(missing_ok=True)
    return filename


def remove_avatar(user):
    old = user.avatar_filename
    user.avatar_filename = None
    db.session.commit()
    if old:
        (avatar_dir() / old).unlink(missing_ok=True)
