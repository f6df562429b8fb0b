"""The HTTP side of the core server, against real sockets on loopback."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

import nbws
from tests.conftest import echo_app, free_port, http_request, raw_http, run


def test_call_returns_response_and_url_is_loopback() -> None:
    async def main() -> None:
        server = nbws.start_server(app={"call": lambda req: nbws.Response(200, "<h1>hello</h1>", content_type="text/html")})
        assert server.url == f"http://127.0.0.1:{server.port}/"
        status, headers, body = await http_request(server.port)
        assert (status, body, headers["content-type"]) == (200, b"<h1>hello</h1>", "text/html")

    run(main)


@pytest.mark.parametrize(
    ("returned", "status", "body"),
    [("text", 200, b"text"), (b"\x00raw", 200, b"\x00raw"),
     ({"status": 202, "headers": {"X-A": "1"}, "body": "acc"}, 202, b"acc"), ({"k": 1}, 200, b'{"k": 1}')],
)
def test_handler_return_values(returned: Any, status: int, body: bytes) -> None:
    async def main() -> None:
        server = nbws.start_server(app={"call": lambda req: returned})
        got = await http_request(server.port)
        assert (got[0], got[2]) == (status, body)

    run(main)


def test_async_handler_is_awaited_on_the_handler_loop() -> None:
    seen: list[str] = []

    async def call(req: nbws.Request) -> str:
        seen.append(threading.current_thread().name)
        await asyncio.sleep(0.01)
        return "slept"

    async def main() -> None:
        server = nbws.start_server(app={"call": call})
        assert (await http_request(server.port))[2] == b"slept"

    run(main)
    assert seen == [threading.main_thread().name]


def test_handler_error_gives_500_and_server_keeps_serving(caplog: pytest.LogCaptureFixture) -> None:
    def call(req: nbws.Request) -> str:
        if req.path == "/boom":
            raise RuntimeError("kaput")
        return "fine"

    async def main() -> None:
        server = nbws.start_server(app={"call": call})
        status, _, body = await http_request(server.port, path="/boom")
        assert status == 500 and b"kaput" not in body
        assert (await http_request(server.port, path="/ok"))[2] == b"fine"

    run(main)
    assert any("kaput" in (r.exc_text or "") or (r.exc_info and "kaput" in str(r.exc_info[1])) for r in caplog.records)


def test_request_fields_reach_the_handler() -> None:
    got: dict[str, Any] = {}

    def call(req: nbws.Request) -> str:
        got.update(method=req.method, path=req.path, query=req.query, agent=req.headers["USER-AGENT"],
                   remote=req.remote_addr[0], form=dict(req.form().fields), body=req.body)
        return "ok"

    async def main() -> None:
        server = nbws.start_server(app={"call": call})
        await http_request(server.port, "POST", "/caf%C3%A9/x?a=1&b=two", body=b"f=1&g=%C3%A9",
                           headers={"User-Agent": "t", "Content-Type": "application/x-www-form-urlencoded"})

    run(main)
    assert got == {"method": "POST", "path": "/café/x", "query": {"a": "1", "b": "two"}, "agent": "t",
                   "remote": "127.0.0.1", "form": {"f": "1", "g": "é"}, "body": b"f=1&g=%C3%A9"}


def test_on_headers_rejects_before_the_body_is_read() -> None:
    calls: list[str] = []

    def on_headers(req: nbws.Request) -> nbws.Response | None:
        if int(req.headers.get("content-length", "0")) > 1000:
            return nbws.Response(413, "too big for me")
        return None

    async def main() -> None:
        server = nbws.start_server(app={"on_headers": on_headers, "call": lambda req: calls.append("call") or "x"})
        # Announce 10 MB but send only the headers: the answer must come anyway.
        head = (f"POST /up HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                "Content-Length: 10000000\r\n\r\n").encode()
        raw = await raw_http(server.port, head)
        assert raw.startswith(b"HTTP/1.1 413") and b"too big for me" in raw

    run(main)
    assert calls == []


def test_app_routes_with_parameters_and_methods() -> None:
    app = nbws.App()

    @app.route("/items/{name}", methods=["GET", "POST"])
    def item(req: nbws.Request, name: str) -> dict[str, str]:
        return {"name": name, "method": req.method}

    @app.route("/files/{rest:path}")
    def files(req: nbws.Request, rest: str) -> str:
        return rest

    async def main() -> None:
        server = nbws.start_server(app=app)
        assert (await http_request(server.port, path="/items/abc"))[2] == b'{"name": "abc", "method": "GET"}'
        assert (await http_request(server.port, path="/files/a/b.txt"))[2] == b"a/b.txt"
        assert (await http_request(server.port, "DELETE", "/items/abc"))[0] == 405
        assert (await http_request(server.port, path="/nothing"))[0] == 404

    run(main)


def test_keep_alive_serves_pipelined_requests_in_order() -> None:
    async def main() -> None:
        server = nbws.start_server(app={"call": lambda req: req.path})
        reqs = b"".join(f"GET /{i} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode() for i in range(5))
        raw = await raw_http(server.port, reqs + b"GET /last HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        bodies = [part.split(b"\r\n\r\n", 1)[1][:5] for part in raw.split(b"HTTP/1.1 200 OK")[1:]]
        assert [b.split(b"H")[0] for b in bodies] == [b"/0", b"/1", b"/2", b"/3", b"/4", b"/last"]

    run(main)


def test_same_port_replaces_the_server_of_this_process() -> None:
    async def main() -> None:
        first = nbws.start_server(app={"call": lambda req: "first"})
        second = nbws.start_server(port=first.port, app={"call": lambda req: "second"})
        assert not first.running and second.running
        assert (await http_request(second.port))[2] == b"second"
        assert nbws.list_servers() == [second]

    run(main)


def test_port_held_by_another_process_names_port_and_pid() -> None:
    port = free_port()
    code = (f"import socket,sys; s=socket.socket(); s.bind(('127.0.0.1', {port})); s.listen(); "
            "print('ready', flush=True); sys.stdin.read()")
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(nbws.PortInUseError) as info:
            nbws.start_server(port=port, app=echo_app())
        assert info.value.port == port and info.value.pid == holder.pid
        assert f"port {port}" in str(info.value) and "port=None" in str(info.value)
    finally:
        holder.kill()
        holder.wait()


def test_list_and_stop_all_servers() -> None:
    async def main() -> None:
        a = nbws.start_server(app=echo_app())
        b = nbws.start_server(app=echo_app())
        assert nbws.list_servers() == [a, b]
        nbws.stop_all_servers()
        assert nbws.list_servers() == [] and not a.running and not b.running
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", a.port)

    run(main)


def test_traits_from_defaults_and_arguments() -> None:
    nbws.defaults.Server.ping_interval = 7.0
    try:
        server = nbws.start_server(app=echo_app(), max_message_size=1234)
        assert server.ping_interval == 7.0 and server.max_message_size == 1234
        other = nbws.start_server(app=echo_app(), ping_interval=None)
        assert other.ping_interval is None
    finally:
        del nbws.defaults.Server["ping_interval"]


def test_every_trait_documents_its_meaning() -> None:
    for name, trait in nbws.Server.class_traits(config=True).items():
        assert trait.help and len(trait.help) > 20, name
    for name in ("ping_interval", "close_timeout", "handshake_timeout"):
        assert "Seconds" in nbws.Server.class_traits()[name].help
    for name in ("max_message_size", "send_buffer_size", "max_body_size"):
        assert "bytes" in nbws.Server.class_traits()[name].help


def test_bad_app_gets_a_clear_error() -> None:
    with pytest.raises(TypeError, match=r"nbws\.App, a dict"):
        nbws.start_server(app=42)
    with pytest.raises(TypeError, match="unknown app keys"):
        nbws.start_server(app={"cal": print})


def test_misspelt_setting_is_refused_with_the_closest_name() -> None:
    with pytest.raises(TypeError) as info:
        nbws.start_server(app=echo_app(), ping_intervall=5)
    message = str(info.value)
    assert "'ping_intervall'" in message and "did you mean 'ping_interval'?" in message
    assert "max_message_size" in message  # the valid settings are listed
    assert nbws.list_servers() == []  # nothing was started
    with pytest.raises(TypeError, match="'colour'"):
        nbws.start_pipe_server("/tmp/nbws-never.sock", echo_app(), colour="red")


def test_port_as_first_argument_says_the_first_argument_is_the_host() -> None:
    with pytest.raises(TypeError) as info:
        nbws.start_server(8000, echo_app())  # type: ignore[arg-type]
    assert "got 8000 as host" in str(info.value)
    assert "start_server(port=8000, app=...)" in str(info.value)
    with pytest.raises(TypeError, match="port must be an int or None"):
        nbws.start_server("127.0.0.1", echo_app())  # type: ignore[arg-type]


@pytest.mark.parametrize("port", [-1, 65536, 70000])
def test_port_out_of_range_is_a_value_error(port: int) -> None:
    with pytest.raises(ValueError, match=f"port must be between 0 and 65535, not {port}"):
        nbws.start_server(port=port, app=echo_app())


SCRIPT_RUN_SERVER = """
import threading, urllib.request, nbws
def probe():
    server = nbws.list_servers()[0]
    print(urllib.request.urlopen(server.local_url).read().decode(), flush=True)
    nbws.interrupt()
threading.Timer(0.5, probe).start()
nbws.run_server(app={"call": lambda req: "from " + threading.current_thread().name})
print("stopped", len(nbws.list_servers()), flush=True)
"""

SCRIPT_SERVICE_LOOP = """
import threading, urllib.request, nbws
server = nbws.start_server(app={"call": lambda req: "served in loop"})
result = []
threading.Thread(target=lambda: result.append(urllib.request.urlopen(server.local_url).read())).start()
for _ in range(200):
    nbws.service(0.05)
    if result:
        break
print(result[0].decode(), flush=True)
"""


@pytest.mark.parametrize(("script", "expected"), [
    (SCRIPT_RUN_SERVER, ["from MainThread", "stopped 0"]),
    (SCRIPT_SERVICE_LOOP, ["served in loop"]),
])
def test_plain_scripts_work_without_jupyter(script: str, expected: list[str]) -> None:
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stdout.splitlines() if not line.startswith("nbws: serving")]
    assert lines == expected
    assert time.monotonic() - start < 30


def test_multipart_upload_and_cookies_over_the_wire() -> None:
    got: dict[str, Any] = {}

    def call(req: nbws.Request) -> str:
        form = req.form()
        got.update(title=form["title"], file=form.files["doc"].data, name=form.files["doc"].filename,
                   cookies=req.cookies)
        return "stored"

    body = (b"--b0undary\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nReport\r\n"
            b"--b0undary\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"r.csv\"\r\n"
            b"Content-Type: text/csv\r\n\r\na,b\n1,2\n\r\n--b0undary--\r\n")

    async def main() -> None:
        server = nbws.start_server(app={"call": call})
        status, _, reply = await http_request(server.port, "POST", "/upload", body=body, headers={
            "Content-Type": "multipart/form-data; boundary=b0undary", "Cookie": "session=abc; theme=dark"})
        assert (status, reply) == (200, b"stored")

    run(main)
    assert got == {"title": "Report", "file": b"a,b\n1,2\n", "name": "r.csv",
                   "cookies": {"session": "abc", "theme": "dark"}}


def test_fetch_from_the_handler_thread_does_not_deadlock() -> None:
    # a blocking urllib call here would wait forever: the handler runs on this thread
    server = nbws.start_server(app={"call": lambda req: nbws.Response(201, "made " + req.method)})
    resp = nbws.fetch(server.local_url, "POST", "x")
    assert (resp.status, resp.body) == (201, b"made POST")
    missing = nbws.start_server(app=nbws.App())
    assert nbws.fetch(missing.local_url + "nope").status == 404
    with pytest.raises(nbws.ConnectError):
        nbws.fetch(f"http://127.0.0.1:{free_port()}/", timeout=5)
