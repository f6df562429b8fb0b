"""What the Jupyter extension's relay costs: one nbws echo server in a real
kernel, reached three ways in one run —

* direct: ``ws://127.0.0.1:{port}/`` (the kernel's TCP listener);
* extension: ``{base_url}nbws/{kernel_id}/{port}/`` (nbws.jupyter, Unix socket);
* jupyter-server-proxy: ``{base_url}proxy/{port}/`` (the peer, over TCP).

A real ``jupyter server`` runs this checkout (the extension enabled by the
repo's config; jupyter-server-proxy from the venv), the kernel is started
through its REST API. The client is the ``websockets`` asyncio client for
every path, in this process. Reported: WebSocket round-trip p50 (64 B),
pipelined 64 B messages/s (a window of 64 in flight), HTTP GET p50 (keep-alive),
each as a ratio to direct; and Jupyter's own ``api/status`` p50 as the floor
of any request that passes Jupyter's authentication.

    python bench/relay_bench.py            # ~1 minute
    python bench/relay_bench.py --quick
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import pathlib
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient
from websockets.asyncio.client import connect

ROOT = pathlib.Path(__file__).resolve().parent.parent
TOKEN = "relay-bench"
BASE = "/user/ada/"
AUTH = {"Authorization": f"token {TOKEN}"}
ECHO = """
import nbws
def on_ws_open(ws):
    ws.on_message(ws.send)
server = nbws.start_server(app={'on_ws_open': on_ws_open, 'call': lambda req: 'ok'},
                           allowed_hosts=['*'], allowed_origins=['*'])
print(server.port)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def api(url: str, method: str = "GET", body: bytes | None = None) -> Any:
    req = urllib.request.Request(url, data=body, method=method, headers=AUTH)
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def start(tmp: pathlib.Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JUPYTER_CONFIG_PATH": str(ROOT / "jupyter-config"),
           "JUPYTER_CONFIG_DIR": str(tmp / "config"), "JUPYTER_RUNTIME_DIR": str(tmp / "rt")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "server", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.base_url={BASE}", "--allow-root"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            api(f"http://127.0.0.1:{port}{BASE}api/status")
            return proc, port
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("jupyter server did not start") from None
            time.sleep(0.2)


def run_cell(kc: BlockingKernelClient, code: str) -> str:
    out: list[str] = []

    def hook(msg: dict[str, Any]) -> None:
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])

    reply = kc.execute_interactive(code, timeout=60, output_hook=hook)
    assert reply["content"]["status"] == "ok", reply
    return "".join(out)


async def round_trips(url: str, n: int) -> float:
    """p50 seconds of a 64 B echo, one at a time."""
    async with connect(url, additional_headers=AUTH, max_size=None) as ws:
        payload = "x" * 64
        for _ in range(50):  # warm up
            await ws.send(payload)
            await ws.recv()
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            await ws.send(payload)
            await ws.recv()
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


async def pipelined(url: str, n: int, window: int = 64) -> float:
    """64 B echo messages per second with ``window`` in flight."""
    async with connect(url, additional_headers=AUTH, max_size=None) as ws:
        payload = "x" * 64
        sent = received = 0
        t0 = time.perf_counter()
        while sent < min(window, n):
            await ws.send(payload)
            sent += 1
        while received < n:
            await ws.recv()
            received += 1
            if sent < n:
                await ws.send(payload)
                sent += 1
        return n / (time.perf_counter() - t0)


def http_p50(port: int, path: str, n: int) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times = []
    try:
        for i in range(n + 20):
            t0 = time.perf_counter()
            conn.request("GET", path, headers=AUTH)
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 200, resp.status
            if i >= 20:
                times.append(time.perf_counter() - t0)
    finally:
        conn.close()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer messages")
    args = parser.parse_args()
    n_rtt, n_pipe, n_http = (500, 5000, 200) if args.quick else (2000, 30000, 1000)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="nbws-rb"))
    (tmp / "config").mkdir()
    proc, jport = start(tmp)
    kc = None
    try:
        kernel_id = api(f"http://127.0.0.1:{jport}{BASE}api/kernels", "POST", b"{}")["id"]
        kc = BlockingKernelClient(connection_file=str(tmp / "rt" / f"kernel-{kernel_id}.json"))
        kc.load_connection_file()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        port = int(run_cell(kc, ECHO).strip())
        paths = {
            "direct": (port, "/"),
            "extension": (jport, f"{BASE}nbws/{kernel_id}/{port}/"),
            "jupyter-server-proxy": (jport, f"{BASE}proxy/{port}/"),
        }
        results: dict[str, dict[str, float]] = {}
        for name, (p, path) in paths.items():
            url = f"ws://127.0.0.1:{p}{path}"
            results[name] = {
                "rtt_p50_us": asyncio.run(round_trips(url, n_rtt)) * 1e6,
                "pipelined_msgs_s": asyncio.run(pipelined(url, n_pipe)),
                "http_p50_us": http_p50(p, path, n_http) * 1e6,
            }
        direct = results["direct"]
        floor = http_p50(jport, f"{BASE}api/status", n_http) * 1e6
        print(f"{'path':<22}{'WS RTT p50':>14}{'pipelined 64 B':>20}{'HTTP GET p50':>16}")
        for name, r in results.items():
            print(f"{name:<22}{r['rtt_p50_us']:>9.0f} us{r['pipelined_msgs_s']:>13.0f} msg/s"
                  f"{r['http_p50_us']:>11.0f} us")
        for name in ("extension", "jupyter-server-proxy"):
            r = results[name]
            print(f"{name} / direct: RTT x{r['rtt_p50_us'] / direct['rtt_p50_us']:.2f}, "
                  f"throughput x{r['pipelined_msgs_s'] / direct['pipelined_msgs_s']:.2f}, "
                  f"HTTP x{r['http_p50_us'] / direct['http_p50_us']:.2f}")
        print(f"for reference, Jupyter's own GET {BASE}api/status: p50 {floor:.0f} us")
        print(json.dumps(results))
    finally:
        if kc is not None:
            kc.stop_channels()
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
