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


def load_document():
    import yaml

    return yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))


def operations(document):
    for path, item in document["paths"].items():
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation, shared + operation.get("parameters", [])


def resolve(document, node):
    while "$ref" in node:
        target = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def test_the_document_is_openapi_3_1_without_3_0_keywords():
    document = load_document()
    assert document["openapi"].startswith("3.1")
    # 3.1 says null with a type list (type: [string, "null"]); `nullable` is ignored there.
    assert [node for node in walk(document) if "nullable" in node] == []


def test_every_id_parameter_is_bounded_like_the_id_columns():
    """An id past 2147483647 names nothing (404 in a path, 422 in a query); the document says so."""
    document = load_document()
    unbounded = []
    for path, method, _operation, parameters in operations(document):
        for parameter in (resolve(document, p) for p in parameters):
            if parameter["in"] in {"path", "query"} and parameter["name"].endswith("_id"):
                schema = parameter["schema"]
                if schema.get("minimum") != 1 or schema.get("maximum") != 2147483647:
                    unbounded.append((method.upper(), path, parameter["name"]))
    assert unbounded == []


def test_every_operation_says_who_may_call_it():
    document = load_document()
    schemes = set(document["components"]["securitySchemes"])
    missing, unknown = [], []
    for path, method, operation, _parameters in operations(document):
        if "security" not in operation:
            missing.append((method.upper(), path))
            continue
        for requirement in operation["security"]:
            unknown.extend((method.upper(), path, name) for name in set(requirement) - schemes)
    assert missing == [], "declare security: [{}] for a public operation"
    assert unknown == []


def test_every_operation_documents_the_422_any_request_can_get():
    """A NUL character in the query string or body is refused everywhere (peerlearn/inputs.py)."""
    document = load_document()
    assert [
        (method.upper(), path)
        for path, method, operation, _parameters in operations(document)
        if "422" not in operation["responses"]
    ] == []


def test_notification_kinds_are_the_models():
    from peerlearn.models import NotificationKind

    document = load_document()
    assert document["components"]["schemas"]["NotificationKind"]["enum"] == [
        k.value for k in NotificationKind
    ]


def test_the_app_serves_this_document(client):
    response = client.get("/api/openapi.yaml")
    assert response.status_code == 200
    assert response.mimetype == "application/yaml"
    assert response.get_data(as_text=True) == OPENAPI.read_text(encoding="utf-8")


def test_no_text_is_cut_short_by_an_unquoted_comma():
    """In a flow mapping, ``{description: Paid, once settled.}`` ends the description at the
    comma and makes ``once settled.`` a key with no value: the document holds no such key."""
    document = load_document()
    cut = [key for node in walk(document) for key, value in node.items() if value is None]
    assert cut == []


def test_no_key_is_given_twice():
    """YAML keeps the last of two equal keys without a word, so a second `security:` or `"422":`
    would silently replace the first."""
    import yaml

    repeated = []

    class Loader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            keys = [self.construct_object(key, deep=deep) for key, _value in node.value]
            repeated.extend((key, node.start_mark.line + 1) for key in keys if keys.count(key) > 1)
            return super().construct_mapping(node, deep=deep)

    yaml.load(OPENAPI.read_text(encoding="utf-8"), Loader=Loader)  # noqa: S506 - a SafeLoader
    assert repeated == []
