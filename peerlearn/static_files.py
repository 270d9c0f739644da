"""The static route, serving the build's precompressed copies of text assets, and the names
pages load the build by.

`npm run build` names the bundle and the stylesheet by their content (`dist/app-4KX2T7QF.js`)
and writes `dist/manifest.json`, which maps the names templates use ("app.js") to those files
(scripts/asset_manifest.mjs). The app reads it once when it starts; `asset_url("app.js")` in a
template gives the current file's URL. A hashed name never changes content, so it is served with
a year's cache (``immutable``: not even revalidated on reload); other files (the favicon, the
plain-named copies) are revalidated each time, so a deploy shows at once. The build keeps the
files of its last builds, so a page loaded before a deploy still gets its chunks.

It also writes `app.js.br` and `app.js.gz` beside `app.js` (scripts/compress_assets.mjs). A
browser that accepts one of those encodings gets that file with Content-Encoding, so nothing is
compressed per request; others get the plain file. A copy older than its source (left by
`npm run watch`, which rebuilds without compressing) is never served.
"""

import json
import mimetypes
import os
import re

from flask import current_app, request, send_from_directory, url_for
from werkzeug.security import safe_join

# Best first: brotli is about a fifth smaller than gzip on the bundle.
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))
MANIFEST = "dist/manifest.json"
# esbuild's [hash] (eight characters of base32), and the build's for the stylesheet (hex).
HASHED_NAME = re.compile(r"^dist/(?:.+/)?[^/]+-[A-Z0-9]{8}\.(?:js|css)(?:\.map)?$")
YEAR = 365 * 24 * 3600


def init_app(app):
    app.view_functions["static"] = send_static
    load_manifest(app)


def load_manifest(app):
    """Read the build's manifest (none before the first build, or a broken one: plain names)."""
    try:
        with open(os.path.join(app.static_folder, MANIFEST), encoding="utf-8") as handle:
            manifest = json.load(handle)
    except (OSError, ValueError):
        manifest = {}
    app.extensions["peerlearn.assets"] = manifest if isinstance(manifest, dict) else {}


def asset_url(name):
    """The URL of the build's current file for ``name`` ("app.js", "app.css")."""
    manifest = current_app.extensions.get("peerlearn.assets", {})
    return url_for("static", filename=manifest.get(name) or f"dist/{name}")


def send_static(filename):
    folder = current_app.static_folder
    hashed = HASHED_NAME.match(filename) is not None
    max_age = YEAR if hashed else current_app.get_send_file_max_age(filename)
    source = safe_join(folder, filename)
    encoding, suffix = _precompressed(source) if source and os.path.isfile(source) else (None, None)
    if encoding is None:
        response = send_from_directory(folder, filename, max_age=max_age)
    else:
        mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        response = send_from_directory(folder, filename + suffix, mimetype=mimetype, max_age=max_age)
        response.headers["Content-Encoding"] = encoding
    if hashed:
        response.cache_control.public = True
        response.cache_control.immutable = True
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
