"""The ``nbws`` command and ``python -m nbws``."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.request

from websockets.sync.client import connect


def test_demo_serves_an_echo_page_and_stops_on_ctrl_c() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "nbws", "demo"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        assert match, line
        url = match.group(1)
        with urllib.request.urlopen(url, timeout=10) as resp:
            page = resp.read().decode()
        assert "nbws echo demo" in page and "new WebSocket" in page
        with connect(url.replace("http", "ws") + "ws") as ws:
            ws.send("hi")
            assert ws.recv(timeout=10) == "echo: hi"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_help_explains_commands() -> None:
    out = subprocess.run([sys.executable, "-m", "nbws", "--help"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and "demo" in out.stdout
