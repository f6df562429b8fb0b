"""The architecture, checked: one thread boundary, small modules (the browser
helper's too), no import cycles, and plane assertions that really fire (issue 11)."""

from __future__ import annotations

import ast
import importlib
import pathlib
import re
import threading

import pytest

import nbws
from nbws.boundary import DEBUG_THREADS, on_handler_plane, on_io_thread
from nbws.errors import WrongThreadError

PACKAGE = pathlib.Path(nbws.__file__).parent
BOUNDARY = PACKAGE / "boundary"
MAX_LINES = 450

# What moves work or waits between threads. Only nbws/boundary/ may use them.
CROSS_THREAD = re.compile(
    r"call_soon_threadsafe|run_coroutine_threadsafe|threading\.(Event|Lock|RLock|Condition|Semaphore)\b"
    r"|\.post\(|post_and_yield|os\.writev|queue\.Queue"
)
# Locks that guard a process-wide registry touched from user threads only
# (never the I/O thread): not a crossing between the planes.
REGISTRY_LOCKS = {
    ("server.py", "_registry_lock = threading.Lock()"),
    ("live/shared.py", "_live_lock = threading.Lock()"),
}


def modules() -> list[pathlib.Path]:
    return sorted(PACKAGE.rglob("*.py"))


def module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def cross_thread_uses(root: pathlib.Path) -> list[str]:
    """``file:line: text`` for every cross-thread primitive outside nbws/boundary/."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if (root / "boundary") in path.parents:
            continue
        rel = path.relative_to(root).as_posix()
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if CROSS_THREAD.search(code) and not any(rel == f and key in line for f, key in REGISTRY_LOCKS):
                found.append(f"{rel}:{number}: {line.strip()}")
    return found


def test_only_the_boundary_crosses_threads() -> None:
    offenders = cross_thread_uses(PACKAGE)
    assert not offenders, "cross-thread primitives outside nbws/boundary/:\n" + "\n".join(offenders)


def test_the_boundary_check_finds_a_planted_post(tmp_path: pathlib.Path) -> None:
    (tmp_path / "boundary").mkdir()
    (tmp_path / "boundary" / "queue.py").write_text("loop.call_soon_threadsafe(job)\n")
    (tmp_path / "wsconn.py").write_text("x = 1\nself.plane.post(job)  # a side door\n")
    assert cross_thread_uses(tmp_path) == ["wsconn.py:2: self.plane.post(job)  # a side door"]


def test_no_module_is_over_450_lines() -> None:
    long = {module_name(p): n for p in modules() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_no_browser_module_is_over_450_lines() -> None:
    """The browser helper's sources (js/*.js; not its tests, not its tools)."""
    sources = sorted((PACKAGE.parent / "js").glob("*.js"))
    assert len(sources) > 2 and {"nbws.js", "chart.js"} <= {p.name for p in sources}
    long = {p.name: n for p in sources if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"browser modules over {MAX_LINES} lines: {long}"


def _module_level_imports(path: pathlib.Path, name: str) -> set[str]:
    """The nbws modules ``path`` imports when it is imported: top-level
    statements only (not inside functions, not under ``if TYPE_CHECKING``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    targets: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If):
                test = node.test
                if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
                        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"):
                    visit(node.orelse)
                    continue
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
            elif isinstance(node, ast.Import):
                targets.update(a.name for a in node.names if a.name.split(".")[0] == "nbws")
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                elif node.module and node.module.split(".")[0] == "nbws":
                    source = node.module
                else:
                    continue
                targets.add(source)
                for alias in node.names:  # "from . import x" may name a submodule
                    targets.add(f"{source}.{alias.name}")

    visit(tree.body)
    return targets


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in modules()}
    graph = {}
    for name, path in paths.items():
        edges = {t for t in _module_level_imports(path, name) if t in paths and t != name}
        # importing a.b.c imports the packages a and a.b first
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_nbws_has_no_import_cycles() -> None:
    graph = import_graph()
    assert "nbws.io.http" in graph and "nbws.boundary" in graph["nbws.io.wsconn"]  # the graph is real
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_check_sees_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_every_module_imports() -> None:
    for path in modules():
        importlib.import_module(module_name(path))


def test_the_server_does_not_import_notebook_code() -> None:
    assert not any(t.startswith("nbws.notebook") for t in import_graph()["nbws.server"])


def test_debug_threads_is_on_for_the_suite() -> None:
    assert DEBUG_THREADS  # tests/conftest.py sets NBWS_DEBUG_THREADS=1 before nbws is imported


def _call_on_thread(fn: object, *args: object) -> BaseException | None:
    """Call ``fn(*args)`` on a new real thread; what it raised."""
    raised: list[BaseException] = []

    def main() -> None:
        try:
            fn(*args)  # type: ignore[operator]
        except BaseException as exc:  # noqa: BLE001
            raised.append(exc)

    thread = threading.Thread(target=main, name="stranger")
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    return raised[0] if raised else None


def test_an_io_thread_function_called_from_another_thread_raises() -> None:
    server = nbws.start_server(app={"call": lambda req: "hi"})
    endpoint = server._endpoint
    assert endpoint is not None
    raised = _call_on_thread(endpoint.broadcast, "hello")  # a real I/O-thread method, on the wrong thread
    assert isinstance(raised, WrongThreadError)
    assert raised.expected == "the I/O thread" and raised.thread == "stranger"
    assert "broadcast" in str(raised)


def test_a_handler_plane_function_called_from_the_io_thread_raises() -> None:
    @on_handler_plane
    def handler_side() -> str:
        return "ran"

    @on_io_thread
    def io_side() -> str:
        return handler_side()

    with pytest.raises(WrongThreadError, match="handler_side"):
        nbws.boundary.io_thread().call(io_side, timeout=10)
    with pytest.raises(WrongThreadError, match="io_side"):
        io_side()
