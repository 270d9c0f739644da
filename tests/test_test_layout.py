"""The tests' own layout: a test module imports shared helpers from conftest, factories and support
modules (any module under tests/ whose name does not start with ``test_``), never from another test
module, so running, moving or deleting one test file never breaks another."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def imported_test_modules(source, module_name):
    """The ``tests.…test_*`` modules that ``source`` (the text of ``module_name``) imports, at module
    level or inside functions, absolute or relative."""
    package = module_name.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parent, *([base] if base else [])])
            # ``from tests.x import test_y`` imports the module ``tests.x.test_y``.
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for target in targets:
            parts = target.split(".")
            if parts[0] == "tests" and parts[-1].startswith("test_") and target != module_name:
                found.append(target)
    return found


def module_name(path):
    return ".".join(path.relative_to(TESTS.parent).with_suffix("").parts)


def test_the_check_sees_absolute_relative_and_nested_imports():
    source = (
        "from tests.support.mail import Inbox\n"
        "from tests.conftest import free_port\n"
        "from tests.services.test_booking import make_session\n"
        "from .test_room import received\n"
        "from . import test_media\n"
        "def helper():\n"
        "    import tests.test_migrations\n"
    )
    assert imported_test_modules(source, "tests.sockets.test_presence") == [
        "tests.services.test_booking",
        "tests.sockets.test_room",
        "tests.sockets.test_media",
        "tests.test_migrations",
    ]
    assert imported_test_modules("from tests.support.reviews import NOW\n", "tests.test_x") == []


def test_no_test_module_imports_from_another_test_module():
    offenders = {
        module_name(path): sorted(set(found))
        for path in sorted(TESTS.rglob("*.py"))
        if (found := imported_test_modules(path.read_text(encoding="utf-8"), module_name(path)))
    }
    assert offenders == {}, "move shared helpers into a support module (tests/support/ or beside conftest)"
