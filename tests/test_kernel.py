"""The two planes in a real IPython kernel: handlers on the kernel's main
thread when idle, queued while a cell is busy, run by service() inside a cell;
pings and sends flow on the I/O thread regardless."""

from __future__ import annotations

import os
import pathlib
import time
from collections.abc import Iterator

import pytest
from websockets.sync.client import connect

from tests.conftest import wait_until
from tests.kernel import Kernel, kernel

SETUP = """
import nbws, threading, time
log = []
sockets = []
def on_ws_open(ws):
    sockets.append(ws)
    def on_message(msg):
        log.append((msg, threading.current_thread().name))
        ws.send("echo:" + msg)
    ws.on_message(on_message)
server = nbws.start_server(app={"on_ws_open": on_ws_open})
print(server.port)
"""


@pytest.fixture(scope="module")
def k() -> Iterator[Kernel]:
    with kernel() as kern:
        yield kern


@pytest.fixture
def port(k: Kernel) -> Iterator[int]:
    yield int(k.run(SETUP).strip())
    k.run("nbws.stop_all_servers()")


def test_messages_reach_handlers_on_the_main_thread_while_idle(k: Kernel, port: int) -> None:
    with connect(f"ws://127.0.0.1:{port}/") as ws:
        ws.send("a")
        assert ws.recv(timeout=10) == "echo:a"
    assert k.run("print(log)").strip() == "[('a', 'MainThread')]"


def test_busy_cell_queues_messages_but_pings_are_answered(k: Kernel, port: int) -> None:
    with connect(f"ws://127.0.0.1:{port}/", ping_interval=None) as ws:
        ws.send("warm")
        assert ws.recv(timeout=10) == "echo:warm"
        msg_id = k.start("time.sleep(3)")
        started = time.monotonic()
        for name in ("m1", "m2", "m3"):
            ws.send(name)
        latencies = []
        for _ in range(5):
            t0 = time.monotonic()
            assert ws.ping().wait(1.0)
            latencies.append(time.monotonic() - t0)
        assert max(latencies) < 0.1, latencies
        with pytest.raises(TimeoutError):  # the cell is still sleeping: nothing handled yet
            ws.recv(timeout=0.3)
        assert time.monotonic() - started < 2.5
        _, reply = k.finish(msg_id)
        assert reply["status"] == "ok"
        assert [ws.recv(timeout=10) for _ in range(3)] == ["echo:m1", "echo:m2", "echo:m3"]
    assert k.run("print([m for m, _ in log])").strip() == "['warm', 'm1', 'm2', 'm3']"


def test_service_lets_handlers_run_inside_a_busy_cell(k: Kernel, port: int) -> None:
    with connect(f"ws://127.0.0.1:{port}/") as ws:
        msg_id = k.start(
            "for _ in range(200):\n"
            "    nbws.service(0.05)\n"
            "    if len(log) >= 3:\n"
            "        break\n"
            "print('handled inside the cell:', len(log))\n"
        )
        for name in ("s1", "s2", "s3"):
            ws.send(name)
        assert [ws.recv(timeout=10) for _ in range(3)] == ["echo:s1", "echo:s2", "echo:s3"]
        out, reply = k.finish(msg_id)
    assert reply["status"] == "ok"
    assert out.strip() == "handled inside the cell: 3"


def test_send_from_a_busy_cell_arrives_while_it_runs(k: Kernel, port: int) -> None:
    with connect(f"ws://127.0.0.1:{port}/") as ws:
        ws.send("hello")
        assert ws.recv(timeout=10) == "echo:hello"
        msg_id = k.start(
            "for i in range(200):\n"
            "    sockets[0].send(str(i))\n"
            "    time.sleep(0.01)\n"
        )
        started = time.monotonic()
        first = ws.recv(timeout=10)
        first_at = time.monotonic() - started
        rest = [ws.recv(timeout=10) for _ in range(199)]
        _, reply = k.finish(msg_id)
        done_at = time.monotonic() - started
    assert reply["status"] == "ok"
    assert [first, *rest] == [str(i) for i in range(200)]
    assert first_at < 1.0 and done_at - first_at > 0.5, (first_at, done_at)


def test_http_handler_runs_when_kernel_is_idle(k: Kernel) -> None:
    import urllib.request

    port = int(k.run(
        "import nbws, threading\n"
        "web = nbws.start_server(app={'call': lambda req: 'kernel says ' + threading.current_thread().name})\n"
        "print(web.port)\n").strip())
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as resp:
        assert resp.read() == b"kernel says MainThread"
    k.run("web.stop()")


def test_static_files_download_while_a_cell_sleeps(k: Kernel, tmp_path: pathlib.Path) -> None:
    import urllib.request

    root = tmp_path
    (root / "big.bin").write_bytes(os.urandom(1024 * 1024))
    port = int(k.run(
        "import nbws\n"
        f"files = nbws.start_server(app={{'call': lambda req: 'app', 'static_paths': {{'/files': {str(root)!r}}}}})\n"
        "print(files.port)\n").strip())
    msg_id = k.start("import time; time.sleep(10)")
    started = time.monotonic()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/files/big.bin", timeout=10) as resp:
        body = resp.read()
    took = time.monotonic() - started
    assert len(body) == 1024 * 1024 and took < 1.0, took
    k.km.interrupt_kernel()  # KeyboardInterrupt in the busy cell: servers stay up
    _, reply = k.finish(msg_id)
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as resp:
        assert resp.read() == b"app"
    k.run("files.stop()")


def test_client_callbacks_fire_on_the_main_thread_idle_and_queue_while_busy(k: Kernel) -> None:
    import queue
    import threading

    from websockets.sync.server import ServerConnection, serve

    outbox: queue.Queue[str] = queue.Queue()

    def handler(ws: ServerConnection) -> None:
        while True:
            message = outbox.get(timeout=30)
            if message == "":
                return
            ws.send(message)

    with serve(handler, "127.0.0.1", 0) as peer:
        thread = threading.Thread(target=peer.serve_forever, daemon=True)
        thread.start()
        port = peer.socket.getsockname()[1]
        k.run(
            "import nbws, threading, time\n"
            "got = []\n"
            f"client = nbws.connect('ws://127.0.0.1:{port}/', "
            "on_message=lambda m: got.append((m, threading.current_thread().name)))\n"
            "client.wait_open(10)\n")
        outbox.put("idle")
        wait_until(lambda: k.run("print(len(got))").strip() == "1", 10, what="the kernel ran the idle callback")
        msg_id = k.start("time.sleep(2)\nprint('during the cell:', len(got))")
        outbox.put("busy")
        out, reply = k.finish(msg_id)
        assert reply["status"] == "ok" and out.strip() == "during the cell: 1"
        assert k.run("print(got)").strip() == "[('idle', 'MainThread'), ('busy', 'MainThread')]"
        outbox.put("")
        k.run("client.close()")
        peer.shutdown()
