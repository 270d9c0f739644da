"""The content security policy: no eval, and connections only to origins this install uses.

The pages run Alpine's CSP build, so the policy can refuse eval; the template checks below keep
the templates within what that build evaluates (it reads no arrow functions, statements or
globals, and server values come in data-config JSON, never spliced into an expression).
"""

import re
from pathlib import Path

import pytest

from peerlearn.headers import content_security_policy
from tests.support.csp import JANUS, directives

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "peerlearn" / "templates"
SOURCES = ROOT / "peerlearn" / "static" / "src"


def policy_of(app, **settings):
    app.config.update(settings)
    return directives(content_security_policy(app.config))


def test_embedded_install_allows_only_its_own_origin(app):
    policy = policy_of(app)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    # The test configuration's PUBLIC_BASE_URL is http://localhost: its sockets are ws://localhost.
    assert policy["connect-src"] == ["'self'", "ws://localhost"]
    assert policy["frame-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"RAZORPAY_KEY_ID": "rzp_test_key"},
        {"JANUS_INSTANCES": [{**JANUS, "public": "wss://media.example.org/janus"}]},
        {"PUBLIC_BASE_URL": "https://learn.example.org"},
    ],
    ids=["embedded", "razorpay", "janus", "public-base-url"],
)
def test_no_configuration_allows_eval_or_any_socket_host(app, settings):
    policy = content_security_policy({**app.config, **settings})
    assert "unsafe-eval" not in policy
    for sources in directives(policy).values():
        assert "ws:" not in sources and "wss:" not in sources and "*" not in sources
        assert not any(source in {"http:", "https:"} for source in sources)


def test_public_base_url_gives_the_exact_websocket_origin(app):
    connect = policy_of(app, PUBLIC_BASE_URL="https://Learn.Example.org:8443/peerlearn")["connect-src"]
    assert connect == ["'self'", "wss://learn.example.org:8443"]
    connect = policy_of(app, PUBLIC_BASE_URL="http://127.0.0.1:5000")["connect-src"]
    assert connect == ["'self'", "ws://127.0.0.1:5000"]
    connect = policy_of(app, PUBLIC_BASE_URL="http://[::1]:5000")["connect-src"]
    assert connect == ["'self'", "ws://[::1]:5000"]


def test_razorpay_origins_only_while_razorpay_is_configured(app):
    policy = policy_of(app, RAZORPAY_KEY_ID="rzp_test_key")
    assert policy["script-src"] == ["'self'", "https://checkout.razorpay.com"]
    assert policy["frame-src"] == ["'self'", "https://api.razorpay.com", "https://checkout.razorpay.com"]
    assert policy["connect-src"] == [
        "'self'",
        "ws://localhost",
        "https://api.razorpay.com",
        "https://lumberjack.razorpay.com",
    ]
    # The checkout script's own origin, wherever RAZORPAY_CHECKOUT_URL points.
    policy = policy_of(app, RAZORPAY_CHECKOUT_URL="https://cdn.pay.example:8443/v1/checkout.js")
    assert policy["script-src"] == ["'self'", "https://cdn.pay.example:8443"]
    policy = policy_of(app, RAZORPAY_KEY_ID=None)
    assert "razorpay" not in content_security_policy(app.config)
    assert policy["script-src"] == ["'self'"]


def test_janus_public_origins_are_allowed_to_connect(app):
    instances = [
        {**JANUS, "public": "wss://media.example.org/janus-ws/"},
        {**JANUS, "name": "j2", "public": "wss://media.example.org/other-path"},
        {**JANUS, "name": "j3", "public": "ws://127.0.0.1:8188/"},
        {**JANUS, "name": "j4", "public": "https://media2.example.org/janus"},
    ]
    connect = policy_of(app, JANUS_INSTANCES=instances)["connect-src"]
    assert connect == [
        "'self'",
        "ws://localhost",
        "wss://media.example.org",
        "ws://127.0.0.1:8188",
        "https://media2.example.org",
    ]


def test_a_janus_behind_the_sites_own_proxy_needs_nothing_more(app):
    connect = policy_of(app, JANUS_INSTANCES=[{**JANUS, "public": "/janus-ws/"}])["connect-src"]
    assert connect == ["'self'", "ws://localhost"]


@pytest.mark.parametrize(
    "public",
    ["wss://media.example.org;script-src *", "wss://a b/", "wss://media.example.org:port/", "javascript:x"],
)
def test_a_janus_url_that_is_not_an_origin_cannot_change_the_policy(app, public):
    policy = content_security_policy({**app.config, "JANUS_INSTANCES": [{**JANUS, "public": public}]})
    assert directives(policy)["connect-src"] == ["'self'", "ws://localhost"]
    assert directives(policy)["script-src"] == ["'self'"]


def test_a_local_janus_started_after_the_app_is_in_the_header(app, client):
    # `make run` starts its Janus after create_app and writes JANUS_INSTANCES then.
    app.config["JANUS_INSTANCES"] = [{**JANUS, "public": "ws://127.0.0.1:18188/"}]
    csp = client.get("/").headers["Content-Security-Policy"]
    assert directives(csp)["connect-src"] == ["'self'", "ws://localhost", "ws://127.0.0.1:18188"]


def test_html_pages_carry_the_policy_and_json_does_not(client):
    page = client.get("/")
    assert page.headers["Content-Security-Policy"] == content_security_policy(client.application.config)
    assert "Content-Security-Policy" not in client.get("/api/").headers


# ----- the templates stay within what Alpine's CSP build evaluates ----------------------------

ALPINE_ATTRIBUTE = re.compile(r"""\s(x-[\w:.-]+|@[\w.:-]+|:[\w.-]+)=("[^"]*"|'[^']*')""")
# Attributes Alpine does not evaluate.
NOT_EXPRESSIONS = {"x-ref", "x-cloak", "x-transition", "x-ignore", "x-bytes", "x-tags"}
JS_GLOBALS = re.compile(
    r"(?<![\w.$])(Math|String|Number|Date|JSON|Object|Array|window|document|navigator|console|"
    r"setTimeout|setInterval|fetch|location|localStorage)\b"
)


def alpine_expressions():
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text()
        for match in ALPINE_ATTRIBUTE.finditer(text):
            name, value = match.group(1), match.group(2)[1:-1]
            if name.split(".")[0] in NOT_EXPRESSIONS or name.startswith("x-transition"):
                continue
            line = text.count("\n", 0, match.start()) + 1
            yield f"{path.relative_to(TEMPLATES)}:{line} {name}", name, value


def registered_components():
    """Components registered with Alpine.data, and those app.js loads as chunks for the pages
    that use them (PAGE_COMPONENTS)."""
    names = set()
    for path in SOURCES.rglob("*.js"):
        names.update(re.findall(r"Alpine\.data\('(\w+)'", path.read_text()))
    app = (SOURCES / "app.js").read_text()
    names.update(re.findall(r"^  (\w+): \(\) => import\(", app, re.M))
    return names


def test_every_x_data_names_a_registered_component():
    components = registered_components()
    assert {"room", "countdown", "checkout"} <= components
    wrong = [
        f"{where}={value!r}"
        for where, name, value in alpine_expressions()
        if name == "x-data" and value not in components
    ]
    assert wrong == [], "x-data must name a component registered with Alpine.data"


def test_alpine_expressions_hold_no_code_the_csp_build_cannot_read():
    expressions = list(alpine_expressions())
    assert len(expressions) > 300
    wrong = [
        f"{where}={value!r}"
        for where, _name, value in expressions
        if "=>" in value or ";" in value.replace("&#39;", "") or JS_GLOBALS.search(value) or "{%" in value
    ]
    assert wrong == [], "move these into a component's methods"
