"""The ``nbws`` command and ``python -m nbws``."""

from __future__ import annotations

import os
import pathlib
import re
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from websockets.sync.client import connect


@contextmanager
def serving(*command: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Run an nbws command that prints its URL; Ctrl-C it at the end and
    check that it exits cleanly."""
    proc = subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        assert match, line
        yield match.group(1), proc
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_demo_serves_an_echo_page_and_stops_on_ctrl_c() -> None:
    with serving(sys.executable, "-m", "nbws", "demo") as (url, _):
        with urllib.request.urlopen(url, timeout=10) as resp:
            page = resp.read().decode()
        assert "nbws echo demo" in page and "_nbws/nbws.js" in page
        with connect(url.replace("http", "ws") + "ws") as ws:
            ws.send("hi")
            assert ws.recv(timeout=10) == "echo: hi"


def test_help_explains_commands() -> None:
    out = subprocess.run([sys.executable, "-m", "nbws", "--help"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and "demo" in out.stdout


def test_serve_prints_url_logs_requests_and_serves_files(tmp_path: pathlib.Path) -> None:
    (tmp_path / "index.html").write_text("<h1>site</h1>")
    script = os.path.join(os.path.dirname(sys.executable), "nbws")
    with serving(script, "serve", str(tmp_path), "--no-browser") as (url, proc):
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert resp.read() == b"<h1>site</h1>"
        assert proc.stdout is not None
        log_line = proc.stdout.readline()
        assert re.match(r'127\.0\.0\.1 - - \[.+\] "GET / HTTP/1\.1" 200 13', log_line), log_line


def test_serve_help_explains_every_option() -> None:
    out = subprocess.run([sys.executable, "-m", "nbws", "serve", "--help"], capture_output=True, text=True, timeout=30)
    for option in ("DIR", "--host", "--port", "--no-browser"):
        assert option in out.stdout


def test_serve_refuses_a_missing_directory(tmp_path: pathlib.Path) -> None:
    out = subprocess.run([sys.executable, "-m", "nbws", "serve", str(tmp_path / "nope")], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 2 and "not a directory" in out.stderr
