"""The house keeps its shape: small modules, short functions, short command bodies, and no
import circle between nntrain's modules."""

from __future__ import annotations

import ast

from conftest import REPO

PACKAGE = REPO / "nntrain"
SOURCES = sorted(PACKAGE.rglob("*.py"))


def _module_name(path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_modules_stay_under_400_lines_and_functions_under_60():
    too_long = []
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > 400:
            too_long.append(f"{path.relative_to(REPO)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 60:
                too_long.append(f"{path.relative_to(REPO)}: {node.name} is {node.end_lineno - node.lineno + 1} lines")
    assert not too_long, "\n".join(too_long)


def test_command_bodies_are_short():
    """A command's body (after its docstring) is at most 25 lines: it calls the library."""
    long_bodies = []
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            decorated = isinstance(node, ast.FunctionDef) and any(
                "command" in ast.unparse(d) for d in node.decorator_list
            )
            if decorated:
                body = node.body[1:] if isinstance(node.body[0], ast.Expr) else node.body
                lines = body[-1].end_lineno - body[0].lineno + 1
                if lines > 25:
                    long_bodies.append(f"{path.name}: {node.name} has {lines} lines")
    assert not long_bodies, long_bodies


def _imports() -> dict[str, set[str]]:
    """Module -> the nntrain modules it imports (at any depth of its code)."""
    names = {_module_name(p) for p in SOURCES}
    graph = {}
    for path in SOURCES:
        module = _module_name(path)
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("nntrain"):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    found.add(full if full in names else node.module)
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("nntrain")}
        graph[module] = {m for m in found if m in names and m != module}
    return graph


def test_no_import_circle():
    graph = _imports()
    faces = {m for m in graph if (PACKAGE / m.replace("nntrain.", "", 1).replace(".", "/") / "__init__.py").exists()}
    graph = {m: deps - faces for m, deps in graph.items() if m not in faces}  # a package face only hands names on
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for dep in sorted(graph.get(module, ())):
            if state.get(dep) == 1:
                raise AssertionError("import circle: " + " -> ".join(path[path.index(dep):] + [dep]))
            if dep not in state:
                visit(dep, path + [dep])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
