"""The folder layout is the architecture: data flows one way, and nothing imports upward.

Every import in the package (at the top of a module or inside a function) is read from
the source, so an import hidden in a function to dodge a circle counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import reorder

PACKAGE = Path(reorder.__file__).parent

# Each top-level folder or module of the package, lowest first: a unit may import only
# from units in lower layers (or from itself).
LAYERS = (
    {"ir", "rng", "samples", "photos", "views"},
    {"ops"},
    {"frontends", "rules"},
    {"search", "runtime"},
    {"measure", "planfile"},
    {"plan"},
    {"optimizer"},
    {"loading", "present", "demo"},
    {"cli", "__init__"},
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Module -> the package's modules it imports."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets.add(node.module)
                # `from reorder.ops import geometry` imports the module reorder.ops.geometry
                targets.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_unit_has_a_layer():
    units = {_unit(module) for module in _imports()}
    placed = set().union(*LAYERS)
    assert units <= placed, f"place these in LAYERS: {sorted(units - placed)}"


def test_nothing_imports_upward():
    layer = {unit: i for i, units in enumerate(LAYERS) for unit in units}
    upward = [
        f"{module} -> {target}"
        for module, targets in _imports().items()
        for target in targets
        if _unit(module) != _unit(target) and layer[_unit(target)] >= layer[_unit(module)]
    ]
    assert not upward, upward


def test_no_import_circle_between_modules():
    graph = _imports()
    # A package's __init__ imports its own modules to complete the registries; a module
    # importing its package for a name is not a circle.
    graph = {
        module: {t for t in targets if not module.startswith(t + ".")}
        for module, targets in graph.items()
    }
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        if module in path:
            raise AssertionError(" -> ".join(path[path.index(module) :] + (module,)))
        if module in done:
            return
        for target in sorted(graph[module]):
            visit(target, path + (module,))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())
