from flask import render_template

from ...extensions import db
from ...services import search, stats
from . import bp


@bp.get("/")
def index():
    return render_template(
        "main/index.html",
        figures=stats.platform_figures(),
        mentors=stats.mentor_spotlight(limit=3),
        featured=search.featured_sessions(),
    )


@bp.get("/healthz")
def health():
    """Liveness and database reachability, for load balancers and process supervisors."""
    db.session.execute(db.text("SELECT 1"))
    return {"status": "ok"}
