"""The import graph of the ``peerlearn`` package: no cycles, and no layer imports a higher one.

The graph is read from the source with ``ast``: every ``import`` and ``from ... import`` anywhere
in a module counts, including those inside functions and under ``TYPE_CHECKING``, because an
import inside a function is still a dependency (it only hides a cycle until the function runs).
``from package import name`` points at the submodule ``package.name`` when there is one, else at
``package``. One edge is left out: a blueprint's views taking ``bp`` from their package
(``from . import bp``), whose ``__init__`` makes ``bp`` and then imports the views to register
them (STYLE.md, "a blueprint is a small package"); the ``__init__``'s edge to its views counts.
Every other edge counts, ``create_app``'s imports inside the function included.

Layers, lowest first. A module may import its own layer and the layers below it, never above:

1. foundation: config, extensions, exceptions, links, headers, netopts, static_files, formats,
   periods, events, logs and ``peerlearn.tasks`` itself (the queue's front door); nothing of the app
   above them, so anything may use them.
2. models: ``peerlearn.models.*``, the tables and their invariants, and the input rules built on
   their constants: ``peerlearn.limits`` (every named limit) and ``peerlearn.inputs`` (parsing).
3. services and the libraries beside them: ``peerlearn.services.*`` (the notifications package
   included), ``peerlearn.payments.*`` (gateways), ``peerlearn.media.*``, ``peerlearn.ml.*``
   and ``peerlearn.api_envelope`` (the JSON envelope every entry point answers with).
4. entry points and glue: ``peerlearn.blueprints.*``, ``peerlearn.sockets.*``, the job modules
   ``peerlearn.tasks.*``, cli, demo, errors, security, jinja, forms, metrics, ``peerlearn.subscriptions``
   (which connects the services' events and outbox to what reacts) and ``create_app`` itself.

A new module directly under ``peerlearn/`` has no layer until it is placed in ``LAYERS``.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "peerlearn"

FOUNDATION, MODELS, SERVICES, ENTRY = 1, 2, 3, 4

LAYERS = {
    "peerlearn.config": FOUNDATION,
    "peerlearn.extensions": FOUNDATION,
    "peerlearn.exceptions": FOUNDATION,
    "peerlearn.inputs": MODELS,
    "peerlearn.links": FOUNDATION,
    "peerlearn.headers": FOUNDATION,
    "peerlearn.netopts": FOUNDATION,
    "peerlearn.static_files": FOUNDATION,
    "peerlearn.formats": FOUNDATION,
    "peerlearn.i18n": FOUNDATION,
    "peerlearn.system_texts": FOUNDATION,
    "peerlearn.periods": FOUNDATION,
    "peerlearn.events": FOUNDATION,
    "peerlearn.logs": FOUNDATION,
    "peerlearn.dbpool": FOUNDATION,
    "peerlearn.tasks": FOUNDATION,
    "peerlearn.models": MODELS,
    "peerlearn.limits": MODELS,
    "peerlearn.services": SERVICES,
    "peerlearn.payments": SERVICES,
    "peerlearn.media": SERVICES,
    "peerlearn.ml": SERVICES,
    "peerlearn.api_envelope": SERVICES,
    "peerlearn.serializers": SERVICES,
    "peerlearn.tasks.": ENTRY,
    "peerlearn.blueprints": ENTRY,
    "peerlearn.sockets": ENTRY,
    "peerlearn.cli": ENTRY,
    "peerlearn.demo": ENTRY,
    "peerlearn.errors": ENTRY,
    "peerlearn.security": ENTRY,
    "peerlearn.jinja": ENTRY,
    "peerlearn.forms": ENTRY,
    "peerlearn.metrics": ENTRY,
    "peerlearn.subscriptions": ENTRY,
    "peerlearn": ENTRY,
}

# Imports tolerated for now, as (importer, imported). Each is a debt with its reason; the test
# fails when one of them is gone, so that this list only shrinks. None is tolerated today; a new
# entry needs its reason and the plan that removes it.
ALLOWED = set()


def modules():
    """{dotted name: (path, is_package)} for every module of the package."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        found[".".join(parts)] = (path, is_package)
    return found


def _owner(name, known):
    """The module that ``name`` lives in: itself, or its nearest enclosing package."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def import_graph():
    """{module: {imported module: first line}} over every import in every module."""
    known = modules()
    graph = {}
    for name, (path, is_package) in known.items():
        package = name if is_package else name.rpartition(".")[0]
        edges = {}
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level == 1 and not node.module and [a.name for a in node.names] == ["bp"]:
                    continue  # a blueprint's views registering on their package's ``bp``
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                targets = [
                    f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source
                    for alias in node.names
                ]
            for target in targets:
                if not (target == "peerlearn" or target.startswith("peerlearn.")):
                    continue
                owner = _owner(target, known)
                if owner is None or owner == name:
                    continue
                edges.setdefault(owner, node.lineno)
        graph[name] = edges
    return graph


def layer_of(module):
    """The module's layer, or None for a module directly under ``peerlearn/`` not in ``LAYERS``."""
    covering = [prefix for prefix in LAYERS if _covers(prefix, module)]
    return LAYERS[max(covering, key=len)] if covering else None


def _rank(module):
    return layer_of(module) or ENTRY  # an unplaced module is reported by its own test


def _covers(prefix, module):
    if prefix == "peerlearn":
        return module == prefix  # create_app; every other module is placed by name
    if prefix.endswith("."):
        return module.startswith(prefix)
    return module == prefix or module.startswith(prefix + ".")


def cycles(graph):
    """Every strongly connected group of two or more modules, as (one of its cycles in import
    order, all its members)."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []
    counter = [0]

    def visit(start):
        # Tarjan's algorithm, iterative so that a long chain cannot hit the recursion limit.
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append((_one_cycle(graph, set(group)), sorted(group)))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def _one_cycle(graph, group):
    """A shortest path from the group's first module back to itself, through the group."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node]):
                if child == start:
                    return paths[node] + [start]
                if child in group and child not in paths:
                    paths[child] = paths[node] + [child]
                    following.append(child)
        frontier = following
    raise AssertionError(f"no cycle through {start}")


def _checked_graph():
    graph = import_graph()
    for importer, imported in ALLOWED:
        graph[importer].pop(imported, None)
    return graph


def test_the_graph_sees_imports_inside_functions_and_relative_imports():
    graph = import_graph()
    # services/outbox.py hands committed notifications to realtime from inside a function.
    assert "peerlearn.extensions" in graph["peerlearn.services.outbox"]
    assert "peerlearn.services" not in graph["peerlearn.services.outbox"]
    assert "peerlearn.models" in graph["peerlearn.services.booking"]
    assert "peerlearn.blueprints.api" in graph["peerlearn"]


def test_cycle_finder_reports_a_cycle_in_order():
    graph = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}
    assert cycles(graph) == [(["a", "b", "c", "a"], ["a", "b", "c"])]
    assert cycles({"a": {"b": 1}, "b": {}}) == []


def test_every_module_has_a_layer():
    unplaced = sorted(name for name in modules() if layer_of(name) is None)
    assert not unplaced, f"place these modules in a layer (LAYERS): {unplaced}"
    assert layer_of("peerlearn.tasks") == FOUNDATION
    assert layer_of("peerlearn.tasks.email") == ENTRY
    assert layer_of("peerlearn.services.outbox") == SERVICES


def test_allowed_imports_still_exist_so_the_list_only_shrinks():
    graph = import_graph()
    gone = [pair for pair in ALLOWED if pair[1] not in graph.get(pair[0], {})]
    assert not gone, f"no longer imported, remove from ALLOWED: {gone}"


def _breaks_a_rule(graph):
    return cycles(graph) or any(
        _rank(imported) > _rank(importer) for importer, edges in graph.items() for imported in edges
    )


def test_each_allowed_import_is_still_needed():
    graph = import_graph()
    not_needed = []
    for pair in sorted(ALLOWED):
        trial = {module: dict(edges) for module, edges in graph.items()}
        for importer, imported in ALLOWED - {pair}:
            trial[importer].pop(imported, None)
        if not _breaks_a_rule(trial):
            not_needed.append(pair)
    assert not not_needed, f"no rule needs these any more, remove from ALLOWED: {not_needed}"


def test_no_import_cycles():
    found = cycles(_checked_graph())
    assert not found, "import cycles:\n" + "\n".join(
        " -> ".join(cycle) + f"\n  (one of the cycles among {len(group)}: {', '.join(group)})"
        for cycle, group in found
    )


def test_no_layer_imports_a_higher_layer():
    graph = _checked_graph()
    upward = [
        f"{importer} (line {line}) imports {imported}"
        for importer, edges in sorted(graph.items())
        for imported, line in sorted(edges.items())
        if _rank(imported) > _rank(importer)
    ]
    assert not upward, "imports from a lower layer into a higher one:\n" + "\n".join(upward)
