"""The example notebooks run top to bottom under nbclient, outputs checked."""

from __future__ import annotations

import os
import pathlib

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"

EXPECTED = {
    "quickstart.ipynb": ["<h1>hello from the notebook</h1>", "hello, socket", "stopped: True"],
    "live_plot.ipynb": ["LivePlot 'training'", "pushed 3030 points", "history: 4030 points",
                        "sent a PNG frame to ['live', 'histogram']"],
    "classroom.ipynb": ["Classroom 'cs101': 0 connected", "/_room/panel?token=",
                        "round 1: {'quicksort': 1, 'mergesort': 3, 'heapsort': 1}", "on_answer saw 5 answers",
                        "{'quicksort': 0, 'mergesort': 5, 'heapsort': 0}]", "Ada's page shows: image",
                        "Grace's page shows a table: True", "back as Ken - same student: True",
                        "5 students, [10, 5] answers per activity", "class closed: True"],
    "http_api.ipynb": ["(201, {'added': 'review the plots', 'count': 2})",
                       "(200, ['write the report', 'review the plots'])"],
}


def outputs(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out["text"])
            elif "data" in out:
                parts.append(out["data"].get("text/plain", ""))
                parts.append(out["data"].get("text/html", ""))
    return "\n".join(parts)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_runs_top_to_bottom(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # the kernel runs in notebooks/: import this tree's nbws, not whichever one is installed
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH")))))
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    text = outputs(nb)
    for expected in EXPECTED[name]:
        assert expected in text, f"{name}: {expected!r} not in the outputs"
    assert all(c.cell_type != "code" or c.get("execution_count") for c in nb.cells)  # no skipped cells


def test_every_notebook_is_checked() -> None:
    assert {p.name for p in NOTEBOOKS.glob("*.ipynb")} == set(EXPECTED)
