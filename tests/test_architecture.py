"""The shape of the house: no import loops between tracker modules, shared words on a lower floor.

The graph is read from the source with ``ast``, so an import hidden inside a function (the usual
way to dodge a loop at import time) counts exactly like one at the top of the module.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "tracker"

#: Edges tolerated for now, each with the reason. Only edges inside files under heavy parallel
#: edit belong here; the entry goes once that work has merged.
ALLOWED_EDGES: dict[tuple[str, str], str] = {}

#: The lower floor: shared words and helpers every feature may use, which use no feature.
LOWER_FLOOR = ("tracker.vocabulary", "tracker.money", "tracker.spreadsheets", "tracker.mail")

#: Modules of a low feature that read higher features' tables by design, not for shared words.
READS_EVERY_FEATURE = {
    "tracker.accounts.scope": "the one scoping function per role filters every feature's rows",
    "tracker.accounts.views": "the user admin attaches a carrier manager to a carrier",
}

FEATURES = ("accounts", "enterprises", "ladder", "incubation", "reminders", "imports",
            "dashboard", "api", "webhooks")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every import statement anywhere in the module."""
    modules = _modules()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                yield (submodule if submodule in modules else source), node.lineno


@cache
def import_graph() -> dict[str, dict[str, int]]:
    """tracker module -> {tracker module it imports: first line}, module- and function-level."""
    modules = _modules()
    graph: dict[str, dict[str, int]] = {}
    for name, path in modules.items():
        edges = graph.setdefault(name, {})
        for target, line in _imports(name, path):
            if target in modules and target != name:
                edges.setdefault(target, line)
    return graph


def _loops(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
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
                        groups.append(sorted(group))
    return groups


def _describe(graph: dict[str, dict[str, int]], group: list[str]) -> str:
    members = set(group)
    edges = [f"  {a} -> {b} (line {line})" for a in group
             for b, line in sorted(graph[a].items()) if b in members]
    return "\n".join([" <-> ".join(group), *edges])


def _without_allowed(graph: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {a: {b: line for b, line in edges.items() if (a, b) not in ALLOWED_EDGES}
            for a, edges in graph.items()}


def test_the_loop_finder_finds_a_loop_hidden_in_a_function():
    """The check itself: a two-module loop and a three-module loop are both reported."""
    graph = {"a": {"b": 1}, "b": {"a": 9}, "c": {"d": 1}, "d": {"e": 1}, "e": {"c": 1},
             "f": {"a": 1}}
    assert _loops(graph) == [["a", "b"], ["c", "d", "e"]]


def test_no_module_imports_one_that_imports_it_back():
    """Module- and function-level imports alike: no tracker module is part of an import loop."""
    graph = _without_allowed(import_graph())
    loops = _loops(graph)
    assert not loops, "import loops:\n" + "\n".join(_describe(graph, g) for g in loops)


def test_every_allowed_edge_still_exists():
    """An allow-list entry whose import is gone must be dropped, so the list only shrinks."""
    graph = import_graph()
    stale = [edge for edge in ALLOWED_EDGES if edge[1] not in graph.get(edge[0], {})]
    assert not stale


def _feature_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in FEATURES else None


def test_features_depend_on_each_other_one_way():
    """No feature imports another that imports it back (shared words live on a lower floor).

    Left out: a feature's own init_app (the composition root that registers its panels and
    cards with other features) and the modules in READS_EVERY_FEATURE.
    """
    modules = _modules()
    pairs: dict[tuple[str, str], list[str]] = {}
    for module, edges in _without_allowed(import_graph()).items():
        source = _feature_of(module)
        if source is None or modules[module].name == "__init__.py" \
                or module in READS_EVERY_FEATURE:
            continue
        for target in edges:
            feature = _feature_of(target)
            if feature and feature != source:
                pairs.setdefault((source, feature), []).append(f"{module} -> {target}")
    both_ways = [
        f"{a} <-> {b}: {pairs[(a, b)]} / {pairs[(b, a)]}"
        for (a, b) in sorted(pairs) if a < b and (b, a) in pairs
    ]
    assert not both_ways, "\n".join(both_ways)


@pytest.mark.parametrize("module", LOWER_FLOOR)
def test_the_lower_floor_uses_no_feature(module):
    """Vocabulary, money and the spreadsheet writer import no feature package."""
    features = {t for t in import_graph()[module] if _feature_of(t)}
    assert not features


def test_the_rules_engine_is_pure():
    """tracker.ladder.rules.*: the standard library, its own parts and the shared vocabulary."""
    allowed_tracker = ("tracker.ladder.rules", "tracker.vocabulary")
    for module, path in _modules().items():
        if not module.startswith("tracker.ladder.rules"):
            continue
        for target, line in _imports(module, path):
            top = target.partition(".")[0]
            if top == "tracker":
                assert target.startswith(allowed_tracker), f"{module}:{line} imports {target}"
            else:
                assert top in sys.stdlib_module_names or top == "__future__", \
                    f"{module}:{line} imports {target}"


#: How long a module under tracker/ (or a bench/ script) may grow (lines) before it is split
#: along its sections.
MODULE_LINE_LIMIT = 600

#: Modules over the limit today, each with the reason. The list only shrinks: an entry goes once
#: its module is split or back under the limit (test_every_oversized_exception_is_still_needed).
OVERSIZED_MODULES: dict[str, str] = {}


def _line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def _oversized() -> dict[str, int]:
    """tracker/ modules longer than the limit -> their line count."""
    sizes = {path.relative_to(ROOT).as_posix(): _line_count(path)
             for path in _modules().values()}
    return {name: lines for name, lines in sizes.items() if lines > MODULE_LINE_LIMIT}


def test_no_module_grows_beyond_the_line_limit():
    """A module past MODULE_LINE_LIMIT lines is split into cohesive modules, not grown further."""
    grown = {name: lines for name, lines in _oversized().items()
             if name not in OVERSIZED_MODULES}
    assert not grown, (f"modules over {MODULE_LINE_LIMIT} lines (split them along their "
                       f"sections, as tracker/incubation/services/ is): {grown}")


def test_no_bench_script_grows_beyond_the_line_limit():
    """bench/ too: the chaos run was split into its processes, oracle and web part."""
    grown = {path.relative_to(ROOT).as_posix(): _line_count(path)
             for path in sorted((ROOT / "bench").glob("*.py"))
             if _line_count(path) > MODULE_LINE_LIMIT}
    assert not grown, f"bench/ scripts over {MODULE_LINE_LIMIT} lines (split them): {grown}"


def test_every_oversized_exception_is_still_needed():
    """An exception whose module is gone or back under the limit must be dropped from the list."""
    stale = sorted(set(OVERSIZED_MODULES) - set(_oversized()))
    assert not stale, f"drop from OVERSIZED_MODULES: {stale}"
