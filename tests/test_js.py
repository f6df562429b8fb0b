"""The browser helper's own checks: node's test runner, the TypeScript
compiler over the JSDoc of its modules (nbws.js, chart.js and their parts),
the committed declarations (js/types/*.d.ts) against the ones tsc generates
from them, and the classic script derived from the modules."""

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
    from nbws.assets import _MODULES

    out = check_declarations(JS)
    assert out.returncode == 0, out.stdout + out.stderr
    assert sorted(p.name for p in (JS / "types").iterdir()) == sorted(m[:-3] + ".d.ts" for m in _MODULES)
    assert sorted(p.name for p in JS.glob("*.js")) == sorted(_MODULES)  # every module is served


@pytest.mark.parametrize(("module", "method", "renamed", "used_by"), [
    ("nbws.js", "  sendBinary(data) {", "  sendBytes(data) {", "sendBinary"),  # a page's conn.sendBinary
    ("chart-live.js", "  setZoom(zoom) {", "  setView(zoom) {", "setZoom"),  # chart-controls' chart.setZoom
])
def test_renaming_a_method_in_the_js_turns_the_declaration_check_red(
        tmp_path: pathlib.Path, module: str, method: str, renamed: str, used_by: str) -> None:
    copy = scratch_copy(tmp_path)
    source = (copy / module).read_text()
    assert source.count(method) == 1
    (copy / module).write_text(source.replace(method, renamed))
    out = check_declarations(copy)
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"types/{module[:-3]}.d.ts differs from the declarations generated from the JS" in out.stderr
    assert method.strip()[:-7] in out.stderr and renamed.strip()[:-7] in out.stderr
    out = typecheck(copy)  # and the code that calls it (a page, or a sibling module) no longer compiles
    assert out.returncode != 0 and used_by in out.stdout, out.stdout + out.stderr


def test_global_script_is_derived_not_copied() -> None:
    from nbws.assets import asset, exported_names

    served = asset("/_nbws/nbws.global.js")
    assert served is not None
    script = served[0].decode()
    assert "export " not in script and "import.meta" not in script and "\nimport " not in script
    exported = script.split("globalThis.nbws = {")[1].split("}")[0].replace(" ", "").split(",")
    for name in ("connect", "Connection", "wsUrl", "backoff", "decode", "NbwsQueueFull", "NbwsClosed",
                 "liveplot", "LiveChart", "decodePoints", "m4", "TouchGestures", "THEMES"):
        assert name in exported
    # exactly what the public modules export (their own names and the ones they re-export)
    public = exported_names((JS / "nbws.js").read_text()) + exported_names((JS / "chart.js").read_text())
    assert sorted(exported) == sorted(set(public))
    assert "drawChart" not in exported and "wireControls" not in exported  # the parts' own helpers stay inside
    # the classic script parses, defines nbws and runs the chart's parts together, in a plain script context
    probe = ("const vm = require('vm'); const ctx = {document: {currentScript: {src: 'http://h/_nbws/nbws.global.js'}},"
             " location: {href: 'http://h/'}}; ctx.globalThis = ctx; vm.createContext(ctx);"
             " vm.runInContext(require('fs').readFileSync(0, 'utf8'), ctx);"
             " const n = ctx.nbws; const c = new n.Column(); c.append(new Float64Array([1, 2]));"
             " console.log(typeof n.connect, typeof n.liveplot, n.pointsCSV(['y'], [{x: c, y: c}]).length,"
             " n.axisTicks(0, 10).length > 0)")
    out = subprocess.run([node(), "-e", probe], input=script, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "function function 23 true", out.stderr


def test_global_script_refuses_a_name_two_modules_declare() -> None:
    from nbws.assets import to_global_script

    with pytest.raises(ValueError, match="'now' is declared by two modules"):
        to_global_script("export function now() {}\n", "function now() {}\n")
    script = to_global_script('export const a = 1;\nexport const b = 2;\n',
                              'import { a } from "./a.js";\nexport {\n  a,\n  b,\n} from "./a.js";\nexport function c() { return a; }\n')
    assert "import" not in script and "from" not in script and "globalThis.nbws = { a, b, c }" in script


def test_connection_module_does_not_carry_the_chart() -> None:
    module = (JS / "nbws.js").read_text()
    assert "LiveChart" not in module and "decodePoints" not in module and "chart.js" in module
    assert 'import { connect } from "./nbws.js";' in (JS / "chart.js").read_text()
