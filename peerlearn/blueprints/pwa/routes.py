"""``/manifest.webmanifest``, ``/sw.js`` and ``/offline``, served from the root so the service
worker's scope is the whole site (docs/install.md)."""

import hashlib
import json
import re
from pathlib import Path

from flask import Response, current_app, render_template, url_for
from flask_babel import gettext as _

from ...i18n import current_language
from ...static_files import asset_url
from . import bp

# Design tokens: the brand colour (theme-color, the icons) and the page background (gray-50).
THEME_COLOR = "#5b3fd8"
BACKGROUND_COLOR = "#f9fafb"
ICONS = (
    ("icons/icon-192.png", 192, "any"),
    ("icons/icon-512.png", 512, "any"),
    ("icons/maskable-192.png", 192, "maskable"),
    ("icons/maskable-512.png", 512, "maskable"),
)
# The chunks an entry imports as it loads (not the ones it imports later, on pages that use them).
STATIC_IMPORT = re.compile(r"""(?:\bfrom|\bimport)\s*["']\./(chunks/[\w.-]+\.js)["']""")


@bp.get("/manifest.webmanifest")
def manifest():
    body = {
        "name": "PeerLearn",
        "short_name": "PeerLearn",
        "description": _("Live sessions with mentors: book a seat, meet in the browser, ask your questions."),
        "lang": current_language(),
        "dir": "ltr",
        "id": url_for("dashboards.home"),
        "start_url": url_for("dashboards.home"),
        "scope": url_for("main.index"),
        "display": "standalone",
        "theme_color": THEME_COLOR,
        "background_color": BACKGROUND_COLOR,
        "icons": [
            {
                "src": url_for("static", filename=path),
                "sizes": f"{size}x{size}",
                "type": "image/png",
                "purpose": purpose,
            }
            for path, size, purpose in ICONS
        ],
    }
    response = Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")
    # Its name and description are in the reader's language.
    response.headers["Cache-Control"] = "no-cache"
    response.vary.update(("Accept-Language", "Cookie"))
    return response


def _entry_imports(entry_url):
    """The chunks the built entry script imports as it loads, as static URLs."""
    static_url = url_for("static", filename="")
    if not entry_url.startswith(static_url):
        return []
    entry = Path(current_app.static_folder) / entry_url[len(static_url) :]
    try:
        source = entry.read_text(encoding="utf-8")
    except OSError:
        return []
    folder = entry_url.rsplit("/", 1)[0]
    return [f"{folder}/{chunk}" for chunk in dict.fromkeys(STATIC_IMPORT.findall(source))]


def precache_urls():
    """What the service worker keeps for offline use: the offline page, this build's stylesheet
    and script (hashed names) with the chunks the script needs at once, the icons and favicon."""
    script = asset_url("app.js")
    return [
        url_for("pwa.offline"),
        asset_url("app.css"),
        script,
        *_entry_imports(script),
        url_for("static", filename="favicon.svg"),
        *(url_for("static", filename=path) for path, _size, _purpose in ICONS),
    ]


@bp.get("/sw.js")
def service_worker():
    urls = precache_urls()
    # A new build (new hashed names) or a new worker makes a new version: its install caches the
    # new shell and its activation deletes the caches of older versions.
    template = Path(current_app.root_path, current_app.template_folder, "pwa", "sw.js").read_bytes()
    version = hashlib.sha256(json.dumps(urls).encode() + template).hexdigest()[:12]
    body = render_template(
        "pwa/sw.js",
        version=version,
        precache=urls,
        offline_url=url_for("pwa.offline"),
        static_prefix=url_for("static", filename="dist/"),
        api_prefix=url_for("main.index") + "api/",
    )
    response = Response(body, mimetype="text/javascript")
    # Browsers look for a new worker on navigations; no-cache makes that check reach us.
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = url_for("main.index")
    return response


@bp.get("/offline")
def offline():
    return render_template("pwa/offline.html")
