"""The ``nbws`` command and ``python -m nbws``."""

from __future__ import annotations

import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


def _default_sigint() -> None:
    # A background job (``pytest &`` in a non-interactive shell) starts with
    # SIGINT ignored, and children inherit that; Ctrl-C means SIGINT restored.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextmanager
def serving(*command: str, stop: signal.Signals = signal.SIGINT) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Run an nbws command that prints its URL; send it ``stop`` (Ctrl-C by
    default) at the end and check that it exits 0."""
    proc = subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"), preexec_fn=_default_sigint)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        assert match, line
        yield match.group(1), proc
        proc.send_signal(stop)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_demo_serves_its_page_a_live_plot_and_an_echo_socket_and_stops_on_ctrl_c() -> None:
    with serving(sys.executable, "-m", "nbws", "demo") as (url, _):
        with urllib.request.urlopen(url, timeout=10) as resp:
            page = resp.read().decode()
        assert "<h1>nbws demo</h1>" in page and "_nbws/nbws.js" in page and '"live/demo/ws"' in page
        with urllib.request.urlopen(url + "live/demo/", timeout=10) as resp:  # its live plot's own page
            assert resp.status == 200
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


def test_demo_closes_websockets_with_1001_and_exits_0_on_sigterm() -> None:
    with serving(sys.executable, "-m", "nbws", "demo", stop=signal.SIGTERM) as (url, proc):
        with connect(url.replace("http", "ws") + "ws") as ws:
            ws.send("hi")
            assert ws.recv(timeout=10) == "echo: hi"
            proc.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as info:
                ws.recv(timeout=10)
            assert info.value.rcvd is not None and info.value.rcvd.code == 1001
        assert proc.wait(timeout=10) == 0
        assert proc.stderr is not None and "Traceback" not in proc.stderr.read()


def test_serve_exits_0_on_sigterm_with_a_keep_alive_connection_open(tmp_path: pathlib.Path) -> None:
    (tmp_path / "index.html").write_text("<h1>site</h1>")
    with serving(sys.executable, "-m", "nbws", "serve", str(tmp_path), "--no-browser", stop=signal.SIGTERM) as (url, _):
        port = int(url.rsplit(":", 1)[1].strip("/"))
        idle = socket.create_connection(("127.0.0.1", port), timeout=10)
        idle.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        got = b""
        for _ in range(10):  # head and body may come in separate segments
            got += idle.recv(4096)
            if got.endswith(b"<h1>site</h1>"):
                break
        assert got.startswith(b"HTTP/1.1 200") and got.endswith(b"<h1>site</h1>")  # and it stays open (keep-alive)
    # serving() sent SIGTERM and checked exit status 0; the idle connection was closed
    assert idle.recv(4096) == b""
    idle.close()
