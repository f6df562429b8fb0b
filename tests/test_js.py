"""The browser helper's own checks: node's test runner and the TypeScript
compiler (against the JSDoc types and nbws.d.ts)."""

from __future__ import annotations

import pathlib
import shutil
import subprocess

import pytest

JS = pathlib.Path(__file__).resolve().parent.parent / "js"


def test_node_unit_tests_pass() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing; install it (Debian: apt-get install nodejs)")
    out = subprocess.run([node, "--test", "test/"], cwd=JS, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "# fail 0" in out.stdout


def test_types_check_with_tsc() -> None:
    tsc = JS / "node_modules" / ".bin" / "tsc"
    if not tsc.exists():
        pytest.fail("TypeScript is missing: run 'npm ci' in js/ (the README's test command does)")
    out = subprocess.run([str(tsc), "-p", "tsconfig.json"], cwd=JS, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr


def test_global_script_is_derived_not_copied() -> None:
    from nbws.assets import to_global_script

    module = (JS / "nbws.js").read_text()
    script = to_global_script(module)
    assert "export " not in script and "import.meta" not in script
    for name in ("connect", "Connection", "wsUrl", "backoff", "decode"):
        assert name in script.split("globalThis.nbws = {")[1]
    node = shutil.which("node")
    assert node is not None
    # the classic script parses (and defines nbws) in a plain script context
    probe = ("const vm = require('vm'); const ctx = {document: {currentScript: {src: 'http://h/_nbws/nbws.global.js'}},"
             " location: {href: 'http://h/'}}; ctx.globalThis = ctx; vm.createContext(ctx);"
             " vm.runInContext(require('fs').readFileSync(0, 'utf8'), ctx); console.log(typeof ctx.nbws.connect)")
    out = subprocess.run([node, "-e", probe], input=script, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "function", out.stderr
