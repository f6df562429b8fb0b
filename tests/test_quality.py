"""The code stays ruff- and mypy-strict-clean, and the README's commands are
the ones CI runs."""

from __future__ import annotations

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_ruff_is_clean() -> None:
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "nbws", "tests", "bench"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_strict_is_clean() -> None:
    out = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "<!-- test-command -->" in readme and "<!-- /test-command -->" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert "test-command" in ci


def test_package_ships_type_information() -> None:
    assert (ROOT / "nbws" / "py.typed").exists()
