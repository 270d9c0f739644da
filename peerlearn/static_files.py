"""The static route, serving the build's precompressed copies of text assets.

`npm run build` writes `app.js.br` and `app.js.gz` beside `app.js` (scripts/compress_assets.mjs).
A browser that accepts one of those encodings gets that file with Content-Encoding, so nothing is
compressed per request; others get the plain file. A copy older than its source (left by
`npm run watch`, which rebuilds without compressing) is never served.
"""

import mimetypes
import os

from flask import current_app, request, send_from_directory
from werkzeug.security import safe_join

# Best first: brotli is about a fifth smaller than gzip on the bundle.
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))


def init_app(app):
    app.view_functions["static"] = send_static


def send_static(filename):
    folder = current_app.static_folder
    max_age = current_app.get_send_file_max_age(filename)
    source = safe_join(folder, filename)
    encoding, suffix = _precompressed(source) if source and os.path.isfile(source) else (None, None)
    if encoding is None:
        response = send_from_directory(folder, filename, max_age=max_age)
    else:
        mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        response = send_from_directory(folder, filename + suffix, mimetype=mimetype, max_age=max_age)
        response.headers["Content-Encoding"] = encoding
    if encoding is not None or _has_copy(source):
        # A cache must not hand the brotli copy to a client that asked for none.
        response.vary.add("Accept-Encoding")
    return response


def _precompressed(source):
    accepted = request.accept_encodings
    modified = os.path.getmtime(source)
    for encoding, suffix in ENCODINGS:
        copy = source + suffix
        if accepted.quality(encoding) > 0 and os.path.isfile(copy) and os.path.getmtime(copy) >= modified:
            return encoding, suffix
    return None, None


def _has_copy(source):
    return bool(source) and any(os.path.isfile(source + suffix) for _, suffix in ENCODINGS)
