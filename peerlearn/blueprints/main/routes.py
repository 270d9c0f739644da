from flask import Response, abort, render_template, request

from ...extensions import db
from ...limits import MAX_TITLE_LENGTH
from ...services import covers, readiness, search, showcase
from ...services.fragments import Lazy
from . import bp

# Served SVG is drawn by the server (generated covers, demo avatars), never uploaded; this policy
# still keeps anything inside one from running or loading, should it be opened as a page.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'"


@bp.get("/")
def index():
    # Loaded only when a fragment of the page is drawn again (services/fragments.py).
    return render_template(
        "main/index.html",
        figures=Lazy(showcase.hero_figures),
        mentors=Lazy(lambda: showcase.spotlight(limit=3)),
        featured=Lazy(search.featured_sessions),
        faces=Lazy(lambda: showcase.faces(limit=6)),
    )


@bp.get("/covers/v1/generated.svg")
def generated_cover():
    """The generated cover for a session's category and title (see services/covers.py). The path
    carries the design's version, so a redesign gets new URLs and browsers may keep these."""
    category, title = request.args.get("category", ""), request.args.get("title", "")
    if category not in covers.STYLES or not title.strip() or len(title) > MAX_TITLE_LENGTH:
        abort(404)
    response = Response(covers.cover_svg(category, title), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.after_app_request
def confine_svg(response):
    if response.mimetype == "image/svg+xml":
        response.headers["Content-Security-Policy"] = SVG_POLICY
    return response


@bp.get("/healthz")
def health():
    """Liveness and database reachability, for load balancers and process supervisors."""
    db.session.execute(db.text("SELECT 1"))
    return {"status": "ok"}


@bp.get("/readyz")
def ready():
    """Readiness: each dependency's state (services/readiness.py); 503 when a required one is down."""
    is_ready, checks = readiness.report()
    body = {"status": "ok" if is_ready else "unavailable", "checks": checks}
    return body, 200 if is_ready else 503, {"Cache-Control": "no-store"}
