"""ctnet_lib's import graph has no cycle: static imports (at any depth, in functions too) and modules
loaded by name with ``importlib.import_module`` (the CLI's command modules) all count as edges; only
imports under ``if TYPE_CHECKING:``, which never run, do not."""

import ast
from pathlib import Path

import ctnet_lib

ROOT = Path(ctnet_lib.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in ROOT.rglob("*.py")}


def _imports(name: str) -> set[str]:
    """ctnet_lib modules that module ``name`` imports: by statement, or by name through importlib."""
    tree = ast.parse(MODULES[name].read_text())
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            node.body = []
    found: set[str] = set()
    uses_importlib = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base]).strip(".")
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Attribute) and node.attr == "import_module":
            uses_importlib = True
    if uses_importlib:
        found |= {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    return {module for module in found if module in MODULES and module != name}


def _find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle as a list of module names (empty when the graph is acyclic)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for child in sorted(graph[node]):
            if state.get(child) == 1:
                return [*stack[stack.index(child):], child]
            if child not in state and (cycle := visit(child)):
                return cycle
        state[node] = 2
        stack.pop()
        return []

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return []


GRAPH = {name: _imports(name) for name in MODULES}


def test_the_walker_sees_static_and_importlib_edges():
    assert "ctnet_lib.ops.temporal_modules" in GRAPH["ctnet_lib.ops.ct_module"]
    assert "ctnet_lib.train.command" in GRAPH["ctnet_lib.cli"]  # loaded by name from COMMAND_MODULES
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_ctnet_lib_imports_form_no_cycle():
    assert _find_cycle(GRAPH) == []


def test_library_modules_do_not_import_the_cli():
    importers = sorted(name for name, imported in GRAPH.items() if "ctnet_lib.cli" in imported)
    assert importers == []


ROOMS = ("accuracy", "counting", "fields", "timing")
# the rooms of analysis/ each stand on models and ops; measured cost may read counted cost, nothing else
ROOM_MAY_READ = {"accuracy": set(), "counting": set(), "fields": set(), "timing": {"counting"}}
NEVER_FROM_ANALYSIS = ("ctnet_lib.explain", "ctnet_lib.viz", "ctnet_lib.reports", "ctnet_lib.cli")


def test_analysis_rooms_read_models_and_ops_and_only_the_rooms_they_may():
    assert {name.split(".")[2] for name in MODULES if name.startswith("ctnet_lib.analysis.")} == set(ROOMS)
    for name, imported in GRAPH.items():
        if not name.startswith("ctnet_lib.analysis."):
            continue
        room = name.split(".")[2]
        rooms_read = {m.split(".")[2] for m in imported if m.startswith("ctnet_lib.analysis.")} - {room}
        assert rooms_read <= ROOM_MAY_READ[room], (name, rooms_read)
        assert not [m for m in imported if m.startswith(NEVER_FROM_ANALYSIS)], name
