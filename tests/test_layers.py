"""The layering rule: imports point one way, with no cycle, counting every import.

State (populations, town, books, `state.World`), then events, then phases and
tactics, then the model, then the experiment layer, CLI and app. Imports made
under TYPE_CHECKING or inside functions count too: a cycle hidden there is
still a cycle in the design.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "marketsim"


def _modules() -> dict[str, Path]:
    out = {}
    for path in (SRC / PACKAGE).rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every marketsim module `name` imports, anywhere in the file."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            # `from a import b` imports a.b when b is a module, else a itself.
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names
            ]
        for t in targets:
            if t == PACKAGE or not t.startswith(PACKAGE + "."):
                continue
            while t not in modules and "." in t:
                t = t.rpartition(".")[0]
            # Importing a.b.c runs the package a.b first (the top package aside).
            parent = t.rpartition(".")[0]
            while parent and parent != PACKAGE:
                found.add(parent)
                parent = parent.rpartition(".")[0]
            found.add(t)
    found.discard(name)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as a path that ends where it starts, or None."""
    state = dict.fromkeys(graph, 0)  # 0 new, 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if state.get(nxt) == 0 and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if state[node] == 0 and (found := visit(node)):
            return found
    return None


def test_the_import_graph_has_no_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle_hidden_under_type_checking(tmp_path):
    """The checker itself: a TYPE_CHECKING import that closes a loop is reported."""
    graph = {"a": {"b"}, "b": {"c"}, "c": set()}
    assert find_cycle(graph) is None
    graph["c"].add("a")
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    src = tmp_path / "m.py"
    src.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from marketsim.model import X\n"
    )
    assert _imports("marketsim.state", src, _modules()) == {"marketsim.model"}


def test_state_and_events_sit_below_the_phases_tactics_and_model():
    graph = import_graph()
    above = ("marketsim.phases", "marketsim.tactics.", "marketsim.model", "marketsim.views")
    below = [
        "marketsim.state",
        "marketsim.events",
        "marketsim.town",
        "marketsim.metrics",
        "marketsim.harms",
        "marketsim.accounts",
        *(m for m in graph if m.startswith("marketsim.agents")),
    ]
    for module in below:
        bad = sorted(t for t in graph[module] if t.startswith(above))
        assert not bad, f"{module} imports {bad} from above it"


def test_loading_the_scenario_schema_imports_no_tactic_behaviour():
    code = (
        "import json, sys, marketsim.scenario\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('marketsim.'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = json.loads(out)
    behaviour = [
        m
        for m in loaded
        if m.startswith("marketsim.tactics.")
        and not m.startswith(("marketsim.tactics.configs", "marketsim.tactics.schema"))
    ]
    assert not behaviour, f"loading the schema imported {behaviour}"
    assert "marketsim.model" not in loaded and "marketsim.state" not in loaded
