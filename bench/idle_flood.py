"""Idle-socket flood (issue 17): is a newcomer served while 2,000 idle TCP
connections are held? nbws vs tornado vs websockets, each with its defaults.

Each server runs in its own process with a WebSocket echo at ``/`` and a
static file at ``/files/hello.txt``. This process opens the idle sockets
(from one address, or spread over 40 loopback addresses), then times a
WebSocket echo handshake (the ``websockets`` client) and a plain GET, and
prints whether each was served and how fast; "idle held" is how many idle
sockets were still open (not answered or closed by the server) by then. All
of this happens well inside the servers' handshake timeouts (10 s for nbws).

    python bench/idle_flood.py                # 2,000 idle sockets, one address
    python bench/idle_flood.py --spread       # spread over 127.0.0.2-41
    python bench/idle_flood.py --idle 4000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.floods import held, idle_sockets, raise_fd_limit

SERVERS = ("nbws", "tornado", "websockets")


# ----------------------------------------------------------------- servers (child processes)


def serve_nbws(port: int, root: str) -> None:
    import nbws

    async def main() -> None:
        def on_ws_open(ws: nbws.WebSocket) -> None:
            ws.on_message(ws.send)

        nbws.start_server(port=port, app={"on_ws_open": on_ws_open, "static_paths": {"/files": root}})
        print("ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def serve_tornado(port: int, root: str) -> None:
    import tornado.ioloop
    import tornado.web
    import tornado.websocket

    class Echo(tornado.websocket.WebSocketHandler):
        def on_message(self, message: str | bytes) -> None:
            self.write_message(message, binary=isinstance(message, bytes))

    async def main() -> None:
        app = tornado.web.Application([(r"/", Echo), (r"/files/(.*)", tornado.web.StaticFileHandler, {"path": root})])
        app.listen(port, "127.0.0.1")
        print("ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def serve_websockets(port: int, root: str) -> None:
    from websockets.asyncio.server import ServerConnection, serve
    from websockets.http11 import Request, Response

    async def echo(ws: ServerConnection) -> None:
        async for message in ws:
            await ws.send(message)

    def files(ws: ServerConnection, request: Request) -> Response | None:
        if request.path.startswith("/files/"):
            with open(os.path.join(root, os.path.basename(request.path))) as f:
                return ws.respond(200, f.read())
        return None

    async def main() -> None:
        async with serve(echo, "127.0.0.1", port, process_request=files):
            print("ready", flush=True)
            await asyncio.Event().wait()

    asyncio.run(main())


# ----------------------------------------------------------------- the newcomer


async def newcomer(port: int) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    result: dict[str, Any] = {}
    start = time.monotonic()
    try:
        async with connect(f"ws://127.0.0.1:{port}/", open_timeout=10) as ws:
            await ws.send("hi")
            assert await asyncio.wait_for(ws.recv(), 10) == "hi"
        result["ws"] = f"served in {1000 * (time.monotonic() - start):.0f} ms"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        result["ws"] = f"FAILED after {time.monotonic() - start:.1f} s: {exc}"
    start = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
        writer.write(f"GET /files/hello.txt HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        raw = await asyncio.wait_for(reader.read(-1), 10)
        writer.close()
        status = raw.split(b"\r\n", 1)[0].decode("latin-1") or "(closed, no response)"
        result["get"] = f"{status} in {1000 * (time.monotonic() - start):.0f} ms"
    except Exception as exc:  # noqa: BLE001
        result["get"] = f"FAILED after {time.monotonic() - start:.1f} s: {exc!r}"
    return result


def answered_or_closed(s: socket.socket) -> bool:
    """True when the server sent something (a 503) or closed this idle socket."""
    s.setblocking(False)
    try:
        s.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return False
    except OSError:
        return True
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure(name: str, idle: int, spread: bool, root: str) -> dict[str, Any]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", name, str(port), root],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        sources = [f"127.0.0.{i}" for i in range(2, 42)] if spread else None
        socks: list[socket.socket] = []
        while len(socks) < idle:  # in steps of 50, so no accept queue overflows
            socks += idle_sockets(port, min(50, idle - len(socks)), sources, timeout=60)
            time.sleep(0.02)
        with held(socks):
            time.sleep(0.3)  # let the server take them in (a benchmark: no event to wait for)
            result = asyncio.run(newcomer(port))
            result["held"] = sum(not answered_or_closed(s) for s in socks)
            return result
    finally:
        proc.kill()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--idle", type=int, default=2000, help="idle connections to hold (default 2000)")
    parser.add_argument("--spread", action="store_true", help="spread them over 40 loopback addresses")
    parser.add_argument("--serve", nargs=3, metavar=("SERVER", "PORT", "ROOT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    raise_fd_limit(args.idle + 4096)
    if args.serve:
        name, port, root = args.serve
        {"nbws": serve_nbws, "tornado": serve_tornado, "websockets": serve_websockets}[name](int(port), root)
        return
    with tempfile.TemporaryDirectory() as root:
        with open(os.path.join(root, "hello.txt"), "w") as f:
            f.write("hello\n")
        where = "40 addresses" if args.spread else "one address"
        print(f"{args.idle} idle connections held ({where}); then a newcomer:")
        print(f"{'server':<12}{'idle held':<11}{'WebSocket echo handshake':<40}{'GET /files/hello.txt'}")
        for name in SERVERS:
            r = measure(name, args.idle, args.spread, root)
            print(f"{name:<12}{r['held']:<11}{r['ws']:<40}{r['get']}", flush=True)


if __name__ == "__main__":
    main()
