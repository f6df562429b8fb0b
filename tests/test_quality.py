"""The code stays ruff- and mypy-strict-clean, and the README's commands are
the ones CI runs."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import zipfile

from nbws.assets import _FILES

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_ruff_is_clean() -> None:
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "nbws", "tests", "bench"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_strict_is_clean() -> None:
    out = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr


def readme_test_command() -> str:
    """The command in README.md's fenced block between the test-command markers."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- test-command -->\n", 1)[1].split("<!-- /test-command -->", 1)[0]
    lines = block.strip().splitlines()
    assert lines[0].startswith("```") and lines[-1] == "```", block
    return "\n".join(lines[1:-1])


def test_ci_runs_the_readme_test_command(tmp_path: pathlib.Path) -> None:
    """Run .ci/run itself on a copy of the tree with ``bash`` (the shell it hands
    the command to), ``chromium`` and ``node`` replaced by recorders: it must
    hand over exactly the README's command, and fail when that command fails."""
    (tmp_path / ".ci").mkdir()
    shutil.copy(ROOT / ".ci" / "run", tmp_path / ".ci" / "run")
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    shims = tmp_path / "shims"
    shims.mkdir()
    record = tmp_path / "record"
    for name, body in {"bash": f'printf "%s\\0" "$@" > "{record}"\nexit 3\n', "chromium": "exit 0\n",
                       "node": "exit 0\n", "apt-get": "exit 9\n", "sudo": "exit 9\n"}.items():
        (shims / name).write_text("#!/bin/sh\n" + body)
        (shims / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{shims}:{os.environ['PATH']}"}
    out = subprocess.run(["/bin/bash", str(tmp_path / ".ci" / "run")], env=env, capture_output=True, text=True,
                         timeout=60, stdin=subprocess.DEVNULL)
    command = readme_test_command()
    assert "python -m pytest" in command
    assert record.read_text().split("\0")[:-1] == ["-euo", "pipefail", "-c", command], out.stdout + out.stderr
    assert out.returncode == 3, out.stdout + out.stderr  # the tests' failure is CI's failure
    assert f"+ {command}" in out.stdout


def test_built_wheel_ships_type_information(tmp_path: pathlib.Path) -> None:
    """Build the wheel as pip would (hatchling, no network) and look inside."""
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                          "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    [wheel] = tmp_path.glob("nbws-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    assert "nbws/py.typed" in names and "nbws/__init__.py" in names
    # the browser helper: every module and declaration served at /_nbws/
    assert {f"nbws/_static/{name}" for name in _FILES} <= names
