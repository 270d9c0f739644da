"""``peerlearn.ml`` is arrays in, arrays out: no module of it reads the app's models, its database
session or its services (the loaders that do live in ``services``)."""

import ast
from pathlib import Path

ML = Path(__file__).resolve().parents[2] / "peerlearn" / "ml"
APP_STATE = ("peerlearn.models", "peerlearn.extensions", "peerlearn.services", "flask", "flask_sqlalchemy")


def imported_modules(path):
    """Absolute names of what ``path`` imports, relative imports resolved against ``peerlearn.ml``."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ["peerlearn", "ml"][: max(0, 3 - node.level)] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.append(module)
            names.extend(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_imported_modules_resolves_relative_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from ..models import User\nfrom .text import skill_slug\nimport flask\n")
    assert {"peerlearn.models", "peerlearn.models.User", "peerlearn.ml.text", "flask"} <= set(
        imported_modules(sample)
    )


def test_ml_reads_no_models_database_or_services():
    offending = {
        path.name: name
        for path in sorted(ML.rglob("*.py"))
        for name in imported_modules(path)
        if any(name == prefix or name.startswith(prefix + ".") for prefix in APP_STATE)
    }
    assert offending == {}
