"""Hostile input, side by side: seeded mutated HTTP requests against nbws and tornado.

Each server runs in its own process with the same small app (a handler that
parses the query, cookies, form and JSON bodies; a static file; a WebSocket
echo), logging WARNING and above to a file. The client sends N mutated
requests (byte flips, truncations, duplicated / removed / LF-only line ends,
random header values, extra headers, random bodies), half-closes its side of
each connection, and reads the answer until the server closes (bounded). It
counts statuses, 5xx, silent closes (no byte at all), hangs, and the
tracebacks / ERROR lines the server logged.

    python bench/hostile_bench.py                  # 20,000 requests, seed 1
    python bench/hostile_bench.py -n 2000 --seed 7 # a quick look

``mutated_requests`` and ``fire`` are also used by ``tests/test_hostile.py``
(a smaller seeded run against an in-process nbws server).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

# ----------------------------------------------------------------- requests

_MULTIPART = (
    b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello\r\n"
    b"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f.txt\"\r\n"
    b"Content-Type: text/plain\r\n\r\nfile body\r\n--XyZ--\r\n"
)

BASE_REQUESTS: tuple[bytes, ...] = (
    b"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n",
    b"GET /p%41th?a=1&b=%zz&c=%C3%A9 HTTP/1.1\r\nHost: {host}\r\nCookie: a=1; b=\"x y\"; nbws_token=t\r\n"
    b"Authorization: token abc\r\nAccept: */*\r\n\r\n",
    b"HEAD / HTTP/1.1\r\nHost: {host}\r\n\r\n",
    b"POST /form HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    b"Content-Length: 13\r\n\r\na=1&b=2&c=%41",
    b"POST /form HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\n\r\n5\r\na=1&b\r\n3\r\n=22\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: {host}\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n0123456789",
    b"POST /form HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n"
    b"Content-Length: %d\r\n\r\n" % len(_MULTIPART) + _MULTIPART,
    b"POST /json HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n"
    b"{\"a\": [1, 2, 3]}\n",
    b"GET /static/hello.txt HTTP/1.1\r\nHost: {host}\r\nRange: bytes=0-4\r\n\r\n",
    b"GET /static/hello.txt HTTP/1.1\r\nHost: {host}\r\nIf-None-Match: \"abc\", W/\"def\"\r\n"
    b"If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n",
    b"GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://{host}\r\n"
    b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: {host}\r\n\r\n",
    b"GET / HTTP/1.0\r\n\r\n",
)

_HEADER_NAMES = (
    b"Host", b"Content-Length", b"Transfer-Encoding", b"Origin", b"Cookie", b"Authorization", b"Range",
    b"If-None-Match", b"If-Modified-Since", b"Content-Type", b"Expect", b"Connection", b"Upgrade",
    b"Sec-WebSocket-Key", b"Sec-WebSocket-Version", b"Sec-WebSocket-Extensions", b"Sec-WebSocket-Protocol",
)
_VALUES = (
    b"", b"0", b"-1", b"99999999999999999999", b"chunked", b"chunked, chunked", b"gzip, chunked",
    b"chunked, gzip", b"identity", b"http://127.0.0.1:abc", b"http://[::1", b"null", b"bytes=5-1",
    b"bytes=-0", b"bytes=0-0,1-1", b"bytes=\xb2-", b"multipart/form-data", b"multipart/form-data; boundary=",
    b"multipart/form-data; boundary=\"a b\"", b"100-continue", b"upgrade", b"websocket", b"8", b"13, 8",
    b"permessage-deflate; server_max_window_bits=99", b"a=\"", b"token", b"Bearer", b"localhost:99999",
    b"[::1", b"a b", b"\xff\xfe", b"%00", b"Sun, 06 Nov 99999 08:49:37 GMT", b"*", b"W/\"",
)


def _random_bytes(rng: random.Random, n: int) -> bytes:
    pool = rng.choice((b"abcXYZ019 -_=;,/:%\"'", bytes(range(256)), b"\r\n\t :", b"0123456789abcdefABCDEF;\r\n"))
    return bytes(rng.choice(pool) for _ in range(n))


def mutate(rng: random.Random, data: bytes) -> bytes:
    """Apply one to four random mutations to a request."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(10)
        if op == 0 and buf:  # flip bits of a byte
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:  # truncate
            del buf[rng.randrange(len(buf)):]
        elif op == 2:  # duplicate a line end
            ends = [m.start() for m in re.finditer(b"\r\n", buf)]
            if ends:
                i = rng.choice(ends)
                buf[i:i] = b"\r\n"
        elif op == 3:  # remove a line end, or make it a bare LF / CR
            ends = [m.start() for m in re.finditer(b"\r\n", buf)]
            if ends:
                i = rng.choice(ends)
                buf[i:i + 2] = rng.choice((b"", b"\n", b"\r"))
        elif op == 4:  # every line end LF-only
            buf = bytearray(bytes(buf).replace(b"\r\n", b"\n"))
        elif op == 5:  # a header's value replaced
            lines = bytes(buf).split(b"\r\n")
            idx = [i for i, line in enumerate(lines[1:], 1) if b":" in line]
            if idx:
                i = rng.choice(idx)
                name = lines[i].split(b":", 1)[0]
                value = rng.choice(_VALUES) if rng.random() < 0.6 else _random_bytes(rng, rng.randint(0, 40))
                lines[i] = name + b": " + value
                buf = bytearray(b"\r\n".join(lines))
        elif op == 6:  # an extra header after the request line
            value = rng.choice(_VALUES) if rng.random() < 0.7 else _random_bytes(rng, rng.randint(0, 40))
            line = rng.choice(_HEADER_NAMES) + b": " + value + b"\r\n"
            i = buf.find(b"\r\n")
            if i >= 0:
                buf[i + 2:i + 2] = line
        elif op == 7:  # random bytes appended (a body, or the start of a pipelined request)
            buf += _random_bytes(rng, rng.randint(1, 64))
        elif op == 8 and buf:  # random bytes inserted
            i = rng.randrange(len(buf))
            buf[i:i] = _random_bytes(rng, rng.randint(1, 8))
        elif op == 9:  # the request line's method / version
            first, sep, rest = bytes(buf).partition(b"\r\n")
            parts = first.split(b" ")
            if len(parts) == 3:
                if rng.random() < 0.5:
                    parts[0] = rng.choice((b"CONNECT", b"TRACE", b"PUT", b"DELETE", b"PATCH", b"BREW", b"get", b""))
                else:
                    parts[2] = rng.choice((b"HTTP/2.0", b"HTTP/0.9", b"HTTP/1.2", b"HTTP/9.9", b"HTTP/1", b"http/1.1"))
                buf = bytearray(b" ".join(parts) + sep + rest)
    return bytes(buf)


def mutated_requests(seed: int, n: int, host: str) -> Iterator[bytes]:
    """``n`` mutated requests, the same for the same seed."""
    rng = random.Random(seed)
    for _ in range(n):
        yield mutate(rng, rng.choice(BASE_REQUESTS).replace(b"{host}", host.encode()))


# ----------------------------------------------------------------- the client


@dataclass
class Tally:
    """What the server answered to a run of requests."""

    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    silent: int = 0  # closed without sending a byte
    garbled: int = 0  # bytes that are not an HTTP response
    hangs: int = 0  # no close within the timeout
    errors: int = 0  # the connection could not be made / was reset
    examples: dict[str, bytes] = field(default_factory=dict)  # the first request of each bad outcome
    server_error_requests: list[tuple[int, bytes]] = field(default_factory=list)  # every request that got a 5xx

    def count(self, kind: str, request: bytes) -> None:
        self.examples.setdefault(kind, request)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


_STATUS = re.compile(rb"HTTP/1\.[01] (\d{3})")


def final_status(raw: bytes) -> int | None:
    """The status of the last non-1xx response head in ``raw`` (None if there is none)."""
    status = None
    for match in _STATUS.finditer(raw):
        code = int(match.group(1))
        if code >= 200 or code == 101:
            return code
        status = code
    return status


async def fire(port: int, request: bytes, tally: Tally, timeout: float = 3.0, host: str = "127.0.0.1") -> None:
    """Send one request, half-close, read until the server closes; count the outcome."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, asyncio.TimeoutError):
        tally.errors += 1
        return
    try:
        writer.write(request)
        await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
        raw = await asyncio.wait_for(reader.read(1 << 20), timeout)
        more = raw
        while more and len(raw) < 1 << 20:
            more = await asyncio.wait_for(reader.read(1 << 20), timeout)
            raw += more
    except asyncio.TimeoutError:
        tally.hangs += 1
        tally.count("hang", request)
        return
    except OSError:
        tally.errors += 1
        tally.count("reset", request)
        return
    finally:
        writer.close()
    if not raw:
        tally.silent += 1
        tally.count("silent", request)
        return
    status = final_status(raw[:4096])
    if status is None:
        tally.garbled += 1
        tally.count("garbled", request)
        return
    tally.statuses[status] += 1
    if status >= 500:
        tally.count(f"{status}", request)
        tally.server_error_requests.append((status, request))


async def hammer(port: int, requests: list[bytes], concurrency: int = 8, timeout: float = 3.0) -> Tally:
    """Fire every request, ``concurrency`` at a time."""
    tally = Tally()
    queue = collections.deque(requests)

    async def worker() -> None:
        while queue:
            await fire(port, queue.popleft(), tally, timeout)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return tally


# ----------------------------------------------------------------- servers


def static_dir(root: str | None = None) -> str:
    """A directory holding ``hello.txt`` for the static route (made under ``root`` or a fresh temp dir)."""
    path = root if root is not None else tempfile.mkdtemp(prefix="nbws-hostile-")
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "hello.txt"), "w") as f:
        f.write("hello, hostile world\n")
    return path


def nbws_app(static_dir: str) -> dict[str, object]:
    """The app under attack: parses everything a request can carry."""
    import nbws

    def call(req: nbws.Request) -> str:
        parsed = (len(req.query), len(req.cookies))
        if req.path == "/json":
            req.json()  # a BadRequestError escaping here answers 400
        elif req.path == "/form":
            req.form()
        return f"ok {len(req.body)} {parsed}\n"

    def on_ws_open(ws: nbws.WebSocket) -> None:
        ws.on_message(ws.send)

    return {"call": call, "on_ws_open": on_ws_open, "static_paths": {"/static": static_dir}}


def serve_nbws(port: int, root: str) -> None:
    import nbws

    async def main() -> None:
        nbws.start_server(port=port, app=nbws_app(static_dir(root)), body_timeout=5, handshake_timeout=5)
        print("ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def serve_tornado(port: int, root: str) -> None:
    import json
    import logging

    import tornado.ioloop
    import tornado.web
    import tornado.websocket

    logging.getLogger("tornado.access").setLevel(logging.CRITICAL)

    class Main(tornado.web.RequestHandler):
        def _answer(self) -> None:
            parsed = (len(self.request.query_arguments), len(self.cookies))
            if self.request.path == "/json":
                try:
                    json.loads(self.request.body)
                except ValueError:
                    raise tornado.web.HTTPError(400) from None
            elif self.request.path == "/form":
                _ = self.request.body_arguments  # tornado parses forms itself
            self.write(f"ok {len(self.request.body)} {parsed}\n")

        get = post = put = delete = patch = options = head = _answer

    class Echo(tornado.websocket.WebSocketHandler):
        def on_message(self, message: str | bytes) -> None:
            self.write_message(message, binary=isinstance(message, bytes))

    app = tornado.web.Application([
        (r"/ws", Echo),
        (r"/static/(.*)", tornado.web.StaticFileHandler, {"path": static_dir(root)}),
        (r"/.*", Main),
    ])
    app.listen(port, "127.0.0.1", idle_connection_timeout=5, body_timeout=5)
    print("ready", flush=True)
    tornado.ioloop.IOLoop.current().start()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_against(kind: str, requests: list[bytes], concurrency: int, root: str) -> tuple[Tally, int, int, float]:
    """Start one server process, fire the requests; (tally, tracebacks, ERROR lines, seconds)."""
    port = _free_port()
    with tempfile.TemporaryFile("w+") as log:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        code = ("import logging, sys; logging.basicConfig(level=logging.WARNING); "
                f"sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r}); "
                f"import hostile_bench; hostile_bench.serve_{kind}({port}, {root!r})")
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=log, text=True,
                                env=env, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        try:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError(f"the {kind} server did not start")
            start = time.perf_counter()
            tally = asyncio.run(hammer(port, requests, concurrency))
            seconds = time.perf_counter() - start
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        log.seek(0)
        text = log.read()
    return tally, text.count("Traceback"), len(re.findall(r"^ERROR", text, re.M)), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=20_000, help="requests per server")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--servers", default="nbws,tornado")
    parser.add_argument("--examples", action="store_true", help="print one request per bad outcome")
    args = parser.parse_args()
    requests = list(mutated_requests(args.seed, args.n, "127.0.0.1"))
    rows = []
    root = tempfile.TemporaryDirectory(prefix="nbws-hostile-")
    for kind in args.servers.split(","):
        tally, tracebacks, errors, seconds = run_against(kind, requests, args.concurrency, root.name)
        rows.append((kind, tally, tracebacks, errors, seconds))
        if args.examples:
            for what, request in tally.examples.items():
                print(f"{kind} {what}: {request!r}")
    print(f"\n{args.n} mutated requests per server, seed {args.seed}, {args.concurrency} at a time\n")
    head = ("server", "2xx/3xx", "101", "400", "other 4xx", "5xx", "silent close", "hang", "tracebacks",
            "ERROR lines", "seconds")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for kind, tally, tracebacks, errors, seconds in rows:
        st = tally.statuses
        ok = sum(n for s, n in st.items() if 200 <= s < 400)
        other4 = sum(n for s, n in st.items() if 400 < s < 500)
        fivexx = ", ".join(f"{n}×{s}" for s, n in sorted(st.items()) if s >= 500) or "0"
        print(f"| {kind} | {ok} | {st[101]} | {st[400]} | {other4} | {fivexx} | {tally.silent + tally.garbled} | "
              f"{tally.hangs} | {tracebacks} | {errors} | {seconds:.1f} |")
    root.cleanup()


if __name__ == "__main__":
    main()
