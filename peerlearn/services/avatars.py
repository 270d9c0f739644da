"""Image uploads (profile photos and session covers): decoded and re-encoded with Pillow, so
only clean pixels are stored.

Decoding is the expensive part: a 25-megapixel PNG takes a quarter of a second of CPU and 75 MB
or more of memory. So every decode in a process takes one of IMAGE_DECODE_CONCURRENCY slots
(an upload that finds none free within IMAGE_DECODE_WAIT_SECONDS is told to try again, 503),
and under gevent (production) it runs in a pool of that many OS threads (services/offload.py):
Pillow releases the GIL while it decodes and resizes, so the event loop keeps serving everyone
else meanwhile. Under the threading server each request already has its own thread and decodes
there.

Who may upload is checked before any decoding: a confirmed email address, and at most
UPLOAD_LIMIT images per account (photos and covers together).

The images are kept in the app's storage (services/storage.py: UPLOAD_DIR or an S3 bucket) under
``avatars/<name>`` and ``covers/<name>``; a new name for every upload, so a browser's cached copy
is never stale.
"""

import io
import math
import secrets

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from PIL import Image, UnidentifiedImageError

from ..exceptions import PermissionDenied, RateLimited, ValidationError
from ..extensions import db
from . import offload, ratelimit, storage

ALLOWED_FORMATS = {"PNG", "JPEG", "WEBP"}
# Resizing first reduces by whole factors while at least this many times larger than the
# result, then filters with Lanczos: Pillow's docs call 3.0 indistinguishable from a full
# Lanczos pass, at a fraction of the time on a large photo.
REDUCING_GAP = 3.0
# EXIF orientation -> the transpose that shows the picture upright (as ImageOps.exif_transpose).
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
EXIF_ORIENTATION = 0x0112


class UploadsBusy(RateLimited):
    """Every image decoder of this process stayed busy: try again in a few seconds."""

    status = 503
    code = "uploads_busy"


def avatar_key(filename):
    """The storage key of a profile photo's file."""
    return f"avatars/{filename}"


def cover_key(filename):
    """The storage key of a session cover's file."""
    return f"covers/{filename}"


def new_filename(extension="webp"):
    return f"{secrets.token_hex(16)}.{extension}"


def check_can_upload(user):
    """Refuse an image upload by ``user`` whose email is not confirmed (403), or who is past
    UPLOAD_LIMIT already (429, at once rather than after waiting for a decoder)."""
    if not user.is_verified:
        raise PermissionDenied(
            _(
                "Confirm your email address before uploading images: open the link we emailed you, "
                "or ask for a new one."
            ),
            code="email_unverified",
        )
    _count_upload(user.id, count=False)


def _count_upload(user_id, *, count=True):
    """Count one upload against UPLOAD_LIMIT (photos and covers together), or refuse it (429).
    Counted once a decoder is free for it: an upload told to come back (503) has cost nothing."""
    try:
        (ratelimit.hit if count else ratelimit.check)("image_upload", str(user_id), "UPLOAD_LIMIT")
    except RateLimited as exc:
        minutes = max(1, math.ceil((exc.retry_after or 60) / 60))
        raise RateLimited(
            ngettext(
                "You have uploaded many images recently. Please wait %(num)d minute and try again.",
                "You have uploaded many images recently. Please wait %(num)d minutes and try again.",
                minutes,
            ),
            retry_after=exc.retry_after,
            code="upload_limit",
        ) from None


def process_image(data, *, size=None, field="avatar", image_format="WEBP", admit=None):
    """Return the image cropped to ``size`` (a square avatar by default), decoded and re-encoded
    as ``image_format`` so no metadata survives, or raise ValidationError naming ``field``;
    UploadsBusy when no decoder came free in time. ``admit()``, if given, runs once a decoder is
    free, before decoding, and may refuse by raising."""
    config = current_app.config
    if not data:
        _reject(field, _("Choose an image to upload."))
    if len(data) > config["AVATAR_MAX_BYTES"]:
        _reject(field, _("The image is larger than 5 MB."))
    if size is None:
        size = (config["AVATAR_SIZE"], config["AVATAR_SIZE"])
    # End the transaction so its database connection goes back to the pool while this waits for
    # a decoder and decodes: a burst of uploads must not hold the connections every other request
    # needs (nothing is pending here: the callers write only after the image is ready).
    db.session.commit()
    decoders = _decoders()
    try:
        # Plain values only: the decoder may run in a thread without the app context.
        return decoders.run(
            _fit_and_encode, data, tuple(size), config["AVATAR_MAX_PIXELS"], field, image_format, admit=admit
        )
    except offload.Busy:
        raise UploadsBusy(
            _("Many images are being processed right now. Please try again in a few seconds."),
            retry_after=max(1, math.ceil(decoders.wait_seconds)),
        ) from None


def save_avatar(user, data):
    check_can_upload(user)
    user_id = user.id
    encoded = process_image(data, admit=lambda: _count_upload(user_id))
    filename = new_filename()
    storage.get_storage().put(avatar_key(filename), encoded, "image/webp")
    old = user.avatar_filename
    user.avatar_filename = filename
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        storage.discard(avatar_key(filename))
        raise
    if old:
        storage.discard(avatar_key(old))
    return filename


def prepare_cover(user, data, size):
    """Check a session cover ``user`` uploads before anything is saved: who may upload, then the
    image, cropped to ``size``. Returns it as a lossless PNG, so storing it (sessions.save_cover,
    which re-encodes it) decodes a small image once more, not the upload."""
    check_can_upload(user)
    user_id = user.id
    return process_image(
        data, size=size, field="cover", image_format="PNG", admit=lambda: _count_upload(user_id)
    )


def remove_avatar(user):
    old = user.avatar_filename
    user.avatar_filename = None
    db.session.commit()
    if old:
        storage.discard(avatar_key(old))


def _reject(field, message):
    raise ValidationError(message, fields={field: [message]}, code="invalid_image")


def _fit_and_encode(data, size, max_pixels, field, image_format):
    try:
        image = Image.open(io.BytesIO(data), formats=sorted(ALLOWED_FORMATS))
        width, height = image.size
        # The header's size, before a single pixel is decoded.
        if width * height > max_pixels:
            _reject(
                field,
                # Lazy: this may run in a decoder thread, outside the app context.
                _l(
                    "The image is too large (%(width)s×%(height)s pixels); the most we take is "
                    "%(megapixels)s megapixels.",
                    width=width,
                    height=height,
                    megapixels=format(max_pixels / 1_000_000, "g"),
                ),
            )
        image.seek(0)  # first frame of an animation
        orientation = image.getexif().get(EXIF_ORIENTATION)
        # Before the transpose, the picture's width is the result's height for these.
        target = size[::-1] if orientation in (5, 6, 7, 8) else size
        scale = max(target[0] / width, target[1] / height)
        # A JPEG decodes at 1/2, 1/4 or 1/8 scale for almost nothing; keep twice the pixels
        # the result needs so the filter still has detail to work with.
        image.draft(None, (max(1, math.ceil(width * scale * 2)), max(1, math.ceil(height * scale * 2))))
        image.load()
        if image.format not in ALLOWED_FORMATS:
            _reject(field, _l("Upload a PNG, JPEG or WebP image."))
        has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
        if image.mode not in ("RGB", "RGBA", "L", "LA"):
            image = image.convert("RGBA" if has_alpha else "RGB")
        fitted = image.resize(
            target, Image.Resampling.LANCZOS, box=_centred_crop(image.size, target), reducing_gap=REDUCING_GAP
        )
        del image
        if orientation in UPRIGHT:
            fitted = fitted.transpose(UPRIGHT[orientation])
        fitted = fitted.convert("RGBA" if has_alpha else "RGB")
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        _reject(field, _l("The image has too many pixels."))
    except UnidentifiedImageError:
        _reject(field, _l("Upload a PNG, JPEG or WebP image."))
    except (OSError, SyntaxError, ValueError, EOFError):
        _reject(field, _l("This image file is damaged or incomplete."))
    out = io.BytesIO()
    # A fresh encode carries no EXIF, XMP or ICC data from the upload.
    if image_format == "PNG":
        fitted.save(out, format="PNG", compress_level=1)
    else:
        fitted.save(out, format="WEBP", quality=85, method=4)
    return out.getvalue()


def _centred_crop(source, target):
    """The largest box of ``target``'s proportions in the middle of ``source`` (as ImageOps.fit)."""
    width, height = source
    if width * target[1] > height * target[0]:
        crop_width = height * target[0] / target[1]
        left = (width - crop_width) / 2
        return (left, 0, left + crop_width, height)
    crop_height = width * target[1] / target[0]
    top = (height - crop_height) / 2
    return (0, top, width, top + crop_height)


def _decoders():
    """This process's decoders for the current app: IMAGE_DECODE_CONCURRENCY slots, in OS threads
    under gevent (services/offload.py)."""
    app = current_app._get_current_object()
    return offload.pool_for(
        app, "image_decoders", app.config["IMAGE_DECODE_CONCURRENCY"], app.config["IMAGE_DECODE_WAIT_SECONDS"]
    )
