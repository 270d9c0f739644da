"""Queries belong to services: the entry points, the blueprints' views and the job modules, call a
service function and neither query nor touch the database session themselves, so the same query
serves the page, the API and the job, and lives where its rule is kept.

The source of every module under ``peerlearn/blueprints`` and ``peerlearn/tasks`` is read with
``ast``. What counts as using the database: any attribute of ``db`` (``db.session``,
``db.get_or_404``, ``db.paginate``, ``db.engine``, whatever name ``db`` was imported as), any
``.query`` (``Model.query``, ``session.query``), the session's ``execute``, ``scalar``,
``scalars`` and the ``*_or_404`` helpers on anything, a call to ``select(...)`` or a bare
``insert``/``update``/``delete(...)``, and importing SQLAlchemy. The few exceptions are listed
below with their reasons; the test fails on any other use, naming file and line, and when a listed
one disappears, so that the list only shrinks."""

import ast
from collections import Counter
from pathlib import Path

import peerlearn

PACKAGE = Path(peerlearn.__file__).parent
ENTRY_POINTS = (PACKAGE / "blueprints", PACKAGE / "tasks")

# (file under peerlearn/, what): how many times. Each needs its reason.
ALLOWED = {
    # /healthz asks the database itself whether it answers (SELECT 1): that is the check.
    ("blueprints/main/routes.py", "db.session"): 1,
    ("blueprints/main/routes.py", "db.text"): 1,
    # The local checkout plays Razorpay's side and commits the payment attempt as the gateway
    # would, before PeerLearn learns of it (tests/test_transactions_layout.py lists it too).
    ("blueprints/payments/dev_checkout.py", "db.session"): 1,
    # The periodic runner keeps the jobs apart: it rolls back what a failed job left in the
    # session and removes the session after each job. It queries nothing.
    ("tasks/periodic.py", "db.session"): 2,
    # A forked worker drops the connections it inherited from its parent before it runs a job.
    ("tasks/worker.py", "db.engine"): 1,
    # Not the database: the failed-jobs list reads RQ's registries in one Redis pipeline, whose
    # method is also called execute.
    ("tasks/__init__.py", ".execute"): 1,
    # Not the database either: a worker that Redis forgot registers itself again in one pipeline,
    # and a long job (composing a recording) renews its heartbeat in one (keep_alive).
    ("tasks/worker.py", ".execute"): 2,
}

SESSION_METHODS = {"query", "execute", "scalar", "scalars", "get_or_404", "first_or_404", "one_or_404"}
STATEMENTS = {"insert", "update", "delete"}


def database_uses(source):
    """``(what, line)`` for each use of the database in ``source``, by line."""
    tree = ast.parse(source)
    db_names = {"db"} | {
        alias.asname
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.name == "db" and alias.asname
    }
    uses = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            uses += [
                ("import sqlalchemy", node.lineno) for a in node.names if a.name.split(".")[0] == "sqlalchemy"
            ]
        elif isinstance(node, ast.ImportFrom):
            if (node.module or "").split(".")[0] == "sqlalchemy" and not node.level:
                uses.append(("import sqlalchemy", node.lineno))
        elif isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id in db_names:
                uses.append((f"db.{node.attr}", node.lineno))
            elif node.attr in SESSION_METHODS and _root(node) not in db_names:  # db.session.x: once
                uses.append((f".{node.attr}", node.lineno))
        elif isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name in STATEMENTS or (name or getattr(node.func, "attr", None)) == "select":
                uses.append((f"{name or 'select'}()", node.lineno))
    return sorted(uses, key=lambda use: (use[1], use[0]))


def _root(node):
    """The name an attribute chain starts from (``db`` for ``db.session.execute``), or None."""
    while isinstance(node, ast.Attribute | ast.Call):
        node = node.value if isinstance(node, ast.Attribute) else node.func
    return node.id if isinstance(node, ast.Name) else None


def entry_point_uses():
    """{(file under peerlearn/, what): [lines]} over every entry-point module."""
    found = {}
    for root in ENTRY_POINTS:
        for path in sorted(root.rglob("*.py")):
            name = path.relative_to(PACKAGE).as_posix()
            for what, line in database_uses(path.read_text(encoding="utf-8")):
                found.setdefault((name, what), []).append(line)
    return found


def test_database_uses_are_found_however_they_are_written():
    source = "\n".join(
        [
            "from sqlalchemy import func",
            "from ...extensions import db as database",
            "def view(user_id):",
            "    user = db.session.get(User, user_id)",
            "    rows = database.session.scalars(select(User).limit(3))",
            "    db.get_or_404(User, user_id)",
            "    User.query.filter_by(id=user_id).first_or_404()",
            "    update(User).values(name='x')",
            "    session.execute(text('SELECT 1'))",
            "    return sa.select(User)",
        ]
    )
    assert database_uses(source) == [
        ("import sqlalchemy", 1),
        ("db.session", 4),
        ("db.session", 5),
        ("select()", 5),
        ("db.get_or_404", 6),
        (".first_or_404", 7),
        (".query", 7),
        ("update()", 8),
        (".execute", 9),
        ("select()", 10),
    ]


def test_views_and_services_calls_are_not_database_uses():
    source = "\n".join(
        [
            "from ...services import sessions as session_service",
            "def view(session_id, form, booking):",
            "    session = session_service.find_session(session_id)",
            "    values = {}",
            "    values.update(form.data)",
            "    return booking.session, request.args.get('q'), page_args(query='x')",
        ]
    )
    assert database_uses(source) == []


def test_entry_points_leave_queries_to_the_services():
    found = entry_point_uses()
    extra = [
        f"peerlearn/{name}:{line}: {what}"
        for (name, what), lines in sorted(found.items())
        if len(lines) > ALLOWED.get((name, what), 0)
        for line in lines
    ]
    assert not extra, (
        "views and jobs use the database directly; put the query or the write in a service "
        "function and call that:\n" + "\n".join(extra)
    )


def test_the_listed_exceptions_still_exist():
    found = Counter({key: len(lines) for key, lines in entry_point_uses().items()})
    gone = {key: count for key, count in ALLOWED.items() if found[key] < count}
    assert not gone, f"no longer needed, remove from ALLOWED: {gone}"
