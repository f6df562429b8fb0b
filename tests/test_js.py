"""The browser helper's own checks: node's test runner, the TypeScript
compiler over the JSDoc of nbws.js and chart.js, and the committed
declarations (js/types/*.d.ts) against the ones tsc generates from them."""

from __future__ import annotations

import pathlib
import shutil
import subprocess

import pytest

JS = pathlib.Path(__file__).resolve().parent.parent / "js"


def node() -> str:
    path = shutil.which("node")
    if path is None:
        pytest.fail("node is missing; install it (Debian: apt-get install nodejs)")
    return path


def tsc() -> pathlib.Path:
    path = JS / "node_modules" / "typescript" / "bin" / "tsc"
    if not path.exists():
        pytest.fail("TypeScript is missing: run 'npm ci' in js/ (the README's test command does)")
    return path


def typecheck(js: pathlib.Path) -> subprocess.CompletedProcess[str]:
    """``npm run typecheck`` in ``js``: the JS and test/types.ts against the JSDoc."""
    return subprocess.run([node(), str(tsc()), "-p", "tsconfig.json"], cwd=js, capture_output=True, text=True,
                          timeout=300)


def check_declarations(js: pathlib.Path) -> subprocess.CompletedProcess[str]:
    """``npm run check-types`` in ``js``: types/*.d.ts equal what tsc generates from the JS."""
    return subprocess.run([node(), "tools/check-types.js"], cwd=js, capture_output=True, text=True, timeout=300)


def scratch_copy(tmp_path: pathlib.Path) -> pathlib.Path:
    """js/ copied to a scratch dir (node_modules linked, not copied)."""
    tsc()
    copy = tmp_path / "js"
    shutil.copytree(JS, copy, ignore=shutil.ignore_patterns("node_modules"))
    (copy / "node_modules").symlink_to(JS / "node_modules", target_is_directory=True)
    return copy


def test_node_unit_tests_pass() -> None:
    out = subprocess.run([node(), "--test", "test/"], cwd=JS, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "# fail 0" in out.stdout


def test_types_check_with_tsc() -> None:
    out = typecheck(JS)
    assert out.returncode == 0, out.stdout + out.stderr


def test_committed_declarations_are_the_ones_generated_from_the_jsdoc() -> None:
    out = check_declarations(JS)
    assert out.returncode == 0, out.stdout + out.stderr
    assert sorted(p.name for p in (JS / "types").iterdir()) == ["chart.d.ts", "nbws.d.ts"]


def test_renaming_a_method_in_the_js_turns_the_declaration_check_red(tmp_path: pathlib.Path) -> None:
    copy = scratch_copy(tmp_path)
    source = (copy / "nbws.js").read_text()
    assert source.count("  sendBinary(data) {") == 1
    (copy / "nbws.js").write_text(source.replace("  sendBinary(data) {", "  sendBytes(data) {"))
    out = check_declarations(copy)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "types/nbws.d.ts differs from the declarations generated from the JS" in out.stderr
    assert "sendBinary" in out.stderr and "sendBytes" in out.stderr
    out = typecheck(copy)  # and a page using conn.sendBinary (test/types.ts) no longer compiles
    assert out.returncode != 0 and "sendBinary" in out.stdout, out.stdout + out.stderr


def test_global_script_is_derived_not_copied() -> None:
    from nbws.assets import to_global_script

    script = to_global_script((JS / "nbws.js").read_text(), (JS / "chart.js").read_text())
    assert "export " not in script and "import.meta" not in script and "\nimport " not in script
    exported = script.split("globalThis.nbws = {")[1]
    for name in ("connect", "Connection", "wsUrl", "backoff", "decode", "NbwsQueueFull", "NbwsClosed",
                 "liveplot", "LiveChart", "decodePoints"):
        assert name in exported
    # the classic script parses (and defines nbws) in a plain script context
    probe = ("const vm = require('vm'); const ctx = {document: {currentScript: {src: 'http://h/_nbws/nbws.global.js'}},"
             " location: {href: 'http://h/'}}; ctx.globalThis = ctx; vm.createContext(ctx);"
             " vm.runInContext(require('fs').readFileSync(0, 'utf8'), ctx);"
             " console.log(typeof ctx.nbws.connect, typeof ctx.nbws.liveplot)")
    out = subprocess.run([node(), "-e", probe], input=script, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "function function", out.stderr


def test_connection_module_does_not_carry_the_chart() -> None:
    module = (JS / "nbws.js").read_text()
    assert "LiveChart" not in module and "decodePoints" not in module and "chart.js" in module
    assert 'import { connect } from "./nbws.js";' in (JS / "chart.js").read_text()
