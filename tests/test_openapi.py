"""The API document lists exactly the API the app serves."""

import re
from pathlib import Path

OPENAPI = Path(__file__).resolve().parent.parent / "docs" / "api" / "openapi.yaml"
DOCUMENTED_OUTSIDE_API = {"/payments/webhooks/razorpay"}


def documented_operations():
    """{(path, method)} from the document's `paths:` section (two-space path keys, four-space methods)."""
    operations, path, in_paths = set(), None, False
    for line in OPENAPI.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        if not line.startswith(" "):
            in_paths = line.rstrip() == "paths:"
            continue
        if not in_paths:
            continue
        if match := re.fullmatch(r"  (/\S*):", line):
            path = match.group(1)
        elif (match := re.fullmatch(r"    (get|post|put|patch|delete):", line)) and path:
            operations.add((path, match.group(1).upper()))
    return operations


def served_operations(app):
    operations = set()
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        if not (path.startswith("/api/") or path in DOCUMENTED_OUTSIDE_API):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operations.add((path, method))
    return operations


def test_every_api_route_is_documented_and_nothing_else(app):
    documented, served = documented_operations(), served_operations(app)
    assert served - documented == set(), "served but not documented"
    assert documented - served == set(), "documented but not served"
