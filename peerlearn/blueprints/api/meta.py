from pathlib import Path

from flask import Response, current_app

from ...api_envelope import ok
from . import bp


@bp.get("/")
def index():
    return ok({"name": "PeerLearn API", "version": 1, "docs": "/api/openapi.yaml"})


@bp.get("/openapi.yaml")
def openapi():
    # Read whole rather than streamed from the file: the document is small, and a streamed file
    # stays open until the server closes the response, which not every client makes it do.
    path = Path(current_app.root_path).parent / "docs" / "api" / "openapi.yaml"
    return Response(path.read_text(encoding="utf-8"), mimetype="application/yaml")
