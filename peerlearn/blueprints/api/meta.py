from . import bp
from .responses import ok


@bp.get("/")
def index():
    return ok({"name": "PeerLearn API", "version": 1, "docs": "/api/openapi.yaml"})


@bp.get("/openapi.yaml")
def openapi():
    from pathlib import Path

    from flask import current_app, send_file

    path = Path(current_app.root_path).parent / "docs" / "api" / "openapi.yaml"
    return send_file(path, mimetype="application/yaml")
