"""The house keeps its shape: small modules, short functions, short command bodies, and no
import circle between nntrain's modules."""

from __future__ import annotations

import ast

import pytest

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


#: What the repository's root holds; anything else is a stray file.
TOP_LEVEL = {".ci", ".gitignore", "README.md", "bench", "configs", "docs", "nntrain", "pyproject.toml", "tests"}


def tracked_files() -> list[tuple[str, str]]:
    """(git mode, path) of every file git tracks in this checkout (skipped outside one)."""
    import shutil
    import subprocess

    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(["git", "ls-files", "-s", "-z"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    entries = [entry.split("\t", 1) for entry in out.split("\0") if entry]
    return [(meta.split()[0], path) for meta, path in entries]


def stray_files(entries: list[tuple[str, str]]) -> list[str]:
    """Tracked symlinks, and paths outside the known top-level set."""
    problems = [f"{path}: a symlink" for mode, path in entries if mode == "120000"]
    problems += [f"{path}: not part of the project's top level" for _, path in entries if path.split("/")[0] not in TOP_LEVEL]
    return problems


def test_the_tree_holds_no_symlink_and_nothing_outside_the_top_level_set():
    assert not stray_files(tracked_files())


def test_stray_files_finds_a_symlink_and_a_stray_root_file():
    entries = [("100644", "README.md"), ("120000", "docs/link.md"), ("100644", "d/history.csv")]
    assert stray_files(entries) == ["docs/link.md: a symlink", "d/history.csv: not part of the project's top level"]


#: The only modules outside nntrain/run/ that may import it: what trains.
TRAINING_CALLERS = {"nntrain.cli.run", "nntrain.cli.gradcheck", "nntrain.api.runs", "nntrain.sklearn", "nntrain.tune.objective"}


def _run_imports(tree) -> list[str]:
    """The modules of nntrain.run a module's code imports (`from nntrain.run import fit` is the face)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and (node.module == "nntrain.run" or node.module.startswith("nntrain.run.")):
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name == "nntrain.run" or a.name.startswith("nntrain.run.")]
    return found


def test_only_what_trains_imports_run_and_only_its_public_face():
    offenders = []
    for path in SOURCES:
        module = _module_name(path)
        if module == "nntrain.run" or module.startswith("nntrain.run."):
            continue
        for dep in _run_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if module not in TRAINING_CALLERS or dep != "nntrain.run":
                offenders.append(f"{module} imports {dep}")
    assert not offenders, offenders


def test_the_training_loop_is_called_in_one_place():
    """`training.loop.train` is called by `run.fit` alone: one pipeline trains for everyone."""
    callers = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = any(isinstance(n, ast.ImportFrom) and n.module == "nntrain.training.loop" and any(a.name == "train" for a in n.names)
                       for n in ast.walk(tree))
        if imported and any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "train" for n in ast.walk(tree)):
            callers.append(_module_name(path))
    assert callers == ["nntrain.run.fit"]
