"""Imports run one way (DESIGN.md §4): each package may import only the packages below it.

Every import is counted, also one inside a function, so a cycle cannot hide from the
module's top. Within a package, no two modules may import each other either.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Lowest first: a package may import `core` and the packages listed before it.
LAYERS = ("core", "funds", "payments", "reconcile", "wishes", "donors", "impact", "events", "reminders", "demo")


def _imports(path: Path) -> set[str]:
    """Every module that the file imports, as a dotted name, wherever the import stands."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _modules() -> dict[str, Path]:
    found = {}
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def test_every_package_is_in_a_layer():
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "migrations", "bench"}
    assert packages == set(LAYERS)


def test_no_package_imports_a_package_above_it_or_beside_it():
    breaches = []
    for module, path in _modules().items():
        own = LAYERS.index(module.split(".")[0])
        for name in _imports(path):
            top = name.split(".")[0]
            if top in LAYERS and LAYERS.index(top) > own:
                breaches.append(f"{module} imports {name}")
    assert breaches == []


def test_core_imports_no_feature_package():
    features = set(LAYERS) - {"core"}
    breaches = [
        f"{module} imports {name}"
        for module, path in _modules().items()
        if module.startswith("core")
        for name in _imports(path)
        if name.split(".")[0] in features
    ]
    assert breaches == []


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle among the modules, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return stack[stack.index(target) :] + [target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_two_modules_import_each_other():
    modules = _modules()
    graph = {
        module: {
            name for name in _imports(path) if name in modules and name != module and not module.startswith(name + ".")
        }
        for module, path in modules.items()
    }
    # A package's __init__ that wires its own modules at start-up is where the package begins, not a cycle.
    graph = {m: {t for t in targets if "." in t} for m, targets in graph.items() if "." in m}
    assert _cycle(graph) is None


def test_the_checks_see_a_breach(tmp_path):
    """The import reader finds an import hidden inside a function."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from wishes.models import Wish\n    import payments.gateway\n")
    assert {"wishes.models", "wishes.models.Wish", "payments.gateway"} <= _imports(sample)
    assert _cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]


def test_no_bench_script_shadows_a_package():
    """The benches run with bench/ on the import path: a script named like a package hides it."""
    bench = ROOT / "bench"
    shadowing = sorted(p.stem for p in bench.glob("*.py") if p.stem in LAYERS or (ROOT / p.stem).is_dir())
    assert shadowing == []
