"""``nbws.jupyter`` for real: one ``jupyter server`` process (this checkout,
the extension enabled by the repo's own config file, base_url /user/ada/,
a token), a kernel started through its REST API and driven over its
channels, then HTTP and WebSocket traffic through ``{base_url}nbws/...``."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import pathlib
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jupyter_client.blocking.client import BlockingKernelClient
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.browser import chromium
from tests.conftest import free_port, wait_until
from tests.kernel import Kernel

ROOT = pathlib.Path(__file__).resolve().parent.parent
TOKEN = "ext-test-token"
BASE = "/user/ada/"
AUTH = {"Authorization": f"token {TOKEN}"}

APP = """
import nbws, threading, time
seen = {"heads": 0, "calls": 0, "opens": 0}
def on_headers(req):
    seen["heads"] += 1
app = nbws.App()
app.on_headers = on_headers
@app.route('/hello')
def hello(req):
    seen["calls"] += 1
    return 'hello from ' + threading.current_thread().name + ' ' + req.path + '?' + req.query_string
@app.route('/echo', methods=['POST'])
def echo(req):
    seen["calls"] += 1
    return nbws.Response(200, req.body, content_type='application/octet-stream')
@app.route('/big')
def big(req):
    return nbws.Response(200, b'z' * (6 << 20), content_type='application/octet-stream')
@app.websocket('/ws')
def ws_open(ws):
    seen["opens"] += 1
    def on_message(msg):
        if msg == 'close please':
            ws.close(4001, 'asked to close')
        else:
            ws.send(msg)
    ws.on_message(on_message)
app.on('echo')(lambda ws, d: ws.emit('echo', 'echo: ' + d))
import json
def as_seen(req):
    return json.dumps({"headers": [[n.lower(), v] for n, v in req.headers.items_raw()], "query": req.query_string})
@app.route('/headers', methods=['GET', 'POST'])
def headers(req):
    seen["calls"] += 1
    return nbws.Response(200, as_seen(req), content_type='application/json')
@app.websocket('/wsheaders')
def ws_headers(ws):
    ws.send(as_seen(ws.request))
app.static_paths['/page'] = nbws.static_text(PAGE)
server = nbws.start_server(app=app, name='demo', max_message_size=16 << 20)
proto = nbws.start_server(app=app, name='proto', subprotocols=['chat.v2'])
plain = nbws.start_server(app={'call': lambda req: 'plain'})
"""

PAGE = """<!doctype html><meta charset='utf-8'>
<script type='module'>
import { connect } from './_nbws/nbws.js';
const conn = connect(); window.conn = conn; window.got = [];
conn.on('echo', d => window.got.push(d));
</script>"""


@dataclass
class Jupyter:
    url: str  # http://127.0.0.1:port
    runtime: pathlib.Path
    kernel_id: str
    kernel: Kernel

    def at(self, server: str, path: str = "") -> str:
        return f"{self.url}{BASE}nbws/{self.kernel_id}/{server}/{path}"


def request(url: str, method: str = "GET", body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request, redirects not followed; status, headers, body."""
    parts = urllib.request.urlparse(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, target, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def start_jupyter(tmp: pathlib.Path, options: tuple[str, ...] = ()) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    (tmp / "config").mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JUPYTER_CONFIG_PATH": str(ROOT / "jupyter-config"),
           "JUPYTER_CONFIG_DIR": str(tmp / "config"), "JUPYTER_RUNTIME_DIR": str(tmp / "rt")}
    env.pop("NBWS_JUPYTER_BASE_URL", None)
    env.pop("NBWS_JUPYTER_DIR", None)
    log = open(tmp / "jupyter.log", "wb")  # closed below; the process keeps its copy
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "server", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.base_url={BASE}", "--allow-root",
         f"--ServerApp.root_dir={ROOT}", *options],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if proc.poll() is not None:
            raise AssertionError("jupyter server exited:\n" + (tmp / "jupyter.log").read_text())
        try:
            return request(f"{url}{BASE}api/status", headers=AUTH)[0] == 200
        except OSError:
            return False

    wait_until(answers, 60, 0.2, what="jupyter server answers")
    return proc, url


@contextlib.contextmanager
def running_jupyter(*options: str) -> Iterator[Jupyter]:
    """A jupyter server (extra command-line ``options``) with one kernel running APP; always stopped."""
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="nbws-j"))  # short: Unix socket paths are at most ~100 bytes
    proc, url = start_jupyter(tmp, options)
    kc: BlockingKernelClient | None = None
    try:
        status, _, body = request(f"{url}{BASE}api/kernels", "POST", b"{}", AUTH)
        assert status == 201, body
        kernel_id = json.loads(body)["id"]
        kc = BlockingKernelClient(connection_file=str(tmp / "rt" / f"kernel-{kernel_id}.json"))
        kc.load_connection_file()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        kernel = Kernel(None, kc)  # type: ignore[arg-type]  # the Jupyter server manages this kernel
        kernel.run(f"PAGE = {PAGE!r}\n" + APP)
        yield Jupyter(url, tmp / "rt", kernel_id, kernel)
    finally:
        if kc is not None:
            kc.stop_channels()
        proc.terminate()  # shuts its kernels down
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def jupyter() -> Iterator[Jupyter]:
    with running_jupyter() as j:
        yield j


def seen(j: Jupyter) -> dict[str, int]:
    counts: dict[str, int] = json.loads(j.kernel.run("import json; print(json.dumps(seen))"))
    return counts


def test_the_repo_config_enables_the_extension_from_this_checkout(jupyter: Jupyter) -> None:
    log = (jupyter.runtime.parent / "jupyter.log").read_text()
    assert "nbws.jupyter | extension was successfully loaded" in log
    assert jupyter.kernel.run("import nbws; print(nbws.__file__)").strip() == str(ROOT / "nbws" / "__init__.py")


def test_server_url_in_the_kernel_is_the_extension_url(jupyter: Jupyter) -> None:
    k, kid = jupyter.kernel, jupyter.kernel_id
    assert k.run("print(server.url)").strip() == f"{BASE}nbws/{kid}/demo/"
    port = int(k.run("print(plain.port)"))
    assert k.run("print(plain.url)").strip() == f"{BASE}nbws/{kid}/{port}/"
    assert f'href="{BASE}nbws/{kid}/demo/"' in k.result("server")["text/html"]
    assert k.run("from nbws.reach import page_url; print(page_url(server, '/page'))").strip() == \
        f"{BASE}nbws/{kid}/demo/page"
    shown = k.run("print(nbws.where(server))")
    assert "reaches the browser by: jupyter extension" in shown and f"URL: {BASE}nbws/{kid}/demo/" in shown


def test_sockets_are_private(jupyter: Jupyter) -> None:
    directory = jupyter.runtime / "nbws"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    port = int(jupyter.kernel.run("print(server.port)"))
    sock = directory / f"{port}.sock"
    assert stat.S_ISSOCK(sock.stat().st_mode) and stat.S_IMODE(sock.stat().st_mode) == 0o600


def test_http_get_and_post_through_the_extension(jupyter: Jupyter) -> None:
    status, headers, body = request(jupyter.at("demo", "hello?x=1&y=%20"), headers=AUTH)
    assert (status, body) == (200, b"hello from MainThread /hello?x=1&y=%20")
    assert headers["server"].startswith("nbws/")  # answered by the kernel's server
    assert request(jupyter.at(str(int(jupyter.kernel.run("print(plain.port)")))), headers=AUTH)[2] == b"plain"
    payload = os.urandom(3 << 20)
    status, _, body = request(jupyter.at("demo", "echo"), "POST", payload, AUTH)
    assert status == 200 and body == payload


def test_a_large_response_is_streamed_back(jupyter: Jupyter) -> None:
    status, headers, body = request(jupyter.at("demo", "big"), headers=AUTH)
    assert status == 200 and headers["content-length"] == str(6 << 20) and body == b"z" * (6 << 20)


def test_without_the_token_nothing_reaches_the_kernel(jupyter: Jupyter) -> None:
    before = seen(jupyter)
    status, _, _ = request(jupyter.at("demo", "hello"))
    assert status in (302, 403)  # Jupyter's own answer: the login page or Forbidden
    assert request(jupyter.at("demo", "echo"), "POST", b"x")[0] == 403
    assert request(jupyter.at("demo", "hello"), headers={"Authorization": "token wrong"})[0] in (302, 403)
    with pytest.raises(InvalidStatus) as refused:
        connect(jupyter.at("demo", "ws").replace("http", "ws", 1), open_timeout=10)
    assert refused.value.response.status_code == 403
    assert seen(jupyter) == before  # the kernel's app saw no head, call or open


def test_unknown_kernel_or_server_is_a_404_that_says_what_to_check(jupyter: Jupyter) -> None:
    status, _, body = request(f"{jupyter.url}{BASE}nbws/not-a-kernel/demo/", headers=AUTH)
    assert status == 404 and b"no kernel not-a-kernel in this Jupyter server" in body
    status, _, body = request(jupyter.at("nope"), headers=AUTH)
    assert status == 404 and b"has no nbws server 'nope'" in body and b"demo" in body


def ws_connect(j: Jupyter, server: str = "demo", **kwargs: Any) -> ClientConnection:
    return connect(j.at(server, "ws").replace("http", "ws", 1), additional_headers=AUTH, open_timeout=10, **kwargs)


def test_websocket_echo_subprotocol_and_close_code_pass_through(jupyter: Jupyter) -> None:
    with ws_connect(jupyter, "proto", subprotocols=["chat.v1", "chat.v2"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "chat.v2"  # chosen by the kernel's server
        assert ws.response.headers["Server"].startswith("nbws/")
        ws.send("through jupyter")
        assert ws.recv(timeout=10) == "through jupyter"
        ws.send("close please")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4001, "asked to close")


def test_a_message_of_several_mib_is_relayed_both_ways(jupyter: Jupyter) -> None:
    big = os.urandom(8 << 20)
    with ws_connect(jupyter, max_size=None) as ws:
        ws.send(big)
        assert ws.recv(timeout=30) == big


def test_a_cookie_login_gets_jupyters_origin_check(jupyter: Jupyter) -> None:
    _, headers, _ = request(f"{jupyter.url}{BASE}api/status?token={TOKEN}")
    cookie = headers["set-cookie"].split(";", 1)[0]
    url = jupyter.at("demo", "ws").replace("http", "ws", 1)
    with connect(url, additional_headers={"Cookie": cookie}, origin=jupyter.url, open_timeout=10) as ws:  # type: ignore[arg-type]
        ws.send("same origin")
        assert ws.recv(timeout=10) == "same origin"
    with pytest.raises(InvalidStatus) as refused:
        connect(url, additional_headers={"Cookie": cookie}, origin="http://evil.example",  # type: ignore[arg-type]
                open_timeout=10)
    assert refused.value.response.status_code == 403


def last_activity(j: Jupyter) -> str:
    return str(json.loads(request(f"{j.url}{BASE}api/status", headers=AUTH)[2])["last_activity"])


def test_relayed_traffic_counts_as_server_activity(jupyter: Jupyter) -> None:
    def kernel_idle() -> bool:  # its last cell's messages are all counted (idle is the last one)
        url = f"{jupyter.url}{BASE}api/kernels/{jupyter.kernel_id}"
        return bool(json.loads(request(url, headers=AUTH)[2])["execution_state"] == "idle")

    wait_until(kernel_idle, 10, what="the Jupyter server sees the kernel idle")
    before = last_activity(jupyter)
    time.sleep(0.01)  # timestamps have microseconds; make "later" observable, not a synchronisation
    assert request(jupyter.at("demo", "page"), headers=AUTH)[0] == 200  # answered on the I/O plane
    assert last_activity(jupyter) > before


def test_the_tcp_listener_keeps_its_own_checks(jupyter: Jupyter) -> None:
    port = int(jupyter.kernel.run("print(server.port)"))
    status, _, _ = request(f"http://127.0.0.1:{port}/hello", headers={"Host": "evil.example"})
    assert status == 403


def test_a_stopped_server_leaves_the_registry(jupyter: Jupyter) -> None:
    k = jupyter.kernel
    port = int(k.run("gone = nbws.start_server(app={'call': lambda req: 'x'}, name='gone')\nprint(gone.port)"))
    assert request(jupyter.at("gone"), headers=AUTH)[2] == b"x"
    k.run("gone.stop()")
    status, _, body = request(jupyter.at("gone"), headers=AUTH)
    assert status == 404 and b"'gone'" in body
    assert not (jupyter.runtime / "nbws" / f"{port}.sock").exists()


def test_page_through_the_extension_works_while_a_cell_is_busy(jupyter: Jupyter) -> None:
    k = jupyter.kernel
    k.run("got = []\napp.on('done')(lambda ws, d: got.append(d))")
    page_url = jupyter.at("demo", f"page?token={TOKEN}")

    async def main() -> None:
        async with chromium() as browser:
            page = await browser.new_page()
            msg_id = await asyncio.to_thread(
                k.start,
                "for _ in range(400):\n"
                "    time.sleep(0.05)\n"
                "    nbws.service(0)\n"
                "    if got:\n"
                "        break\n"
                "print('busy cell saw', got)\n")
            await page.goto(page_url)  # the page, nbws.js and the socket: the I/O plane, while the cell runs
            await page.wait_for_function("window.conn && window.conn.status === 'open'", timeout=20000)
            await page.evaluate("conn.send('echo', 'from the page')")  # answered by service() in the cell
            await page.wait_for_function("window.got.length === 1", timeout=20000)
            assert await page.evaluate("window.got") == ["echo: from the page"]
            await page.evaluate("conn.send('done', 'bye')")
            out, reply = await asyncio.to_thread(k.finish, msg_id, 60)
            assert reply["status"] == "ok" and "busy cell saw ['bye']" in out

    asyncio.run(asyncio.wait_for(main(), 90))


def test_kernel_side_module_imports_neither_tornado_nor_jupyter_server() -> None:
    code = ("import sys, nbws, nbws.jupyter, nbws.jupyter.registry; "
            "print(sorted(m for m in ('tornado', 'jupyter_server') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


def test_no_relay_outside_a_jupyter_server_with_the_extension() -> None:
    import nbws

    server = nbws.start_server(app={"call": lambda req: "x"})
    assert server.url == server.local_url and nbws.where(server).chosen == "loopback"


def test_wrong_urls_are_not_a_server_error(jupyter: Jupyter) -> None:
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(urllib.request.Request(jupyter.at("demo", "missing"), headers=AUTH), timeout=10)
    assert err.value.code == 404  # the kernel's server's own 404, passed through


def test_one_server_behind_both_listeners(jupyter: Jupyter) -> None:
    k = jupyter.kernel
    port = int(k.run("print(server.port)"))
    with ws_connect(jupyter) as relayed, connect(f"ws://127.0.0.1:{port}/ws", open_timeout=10) as direct:
        for ws in (relayed, direct):
            ws.send("hi")
            assert ws.recv(timeout=10) == "hi"
        assert k.run("print(len(server.connections))").strip() == "2"
        k.run("server.broadcast('to everyone')")
        assert relayed.recv(timeout=10) == direct.recv(timeout=10) == "to everyone"


def test_head_gets_the_headers_without_a_body(jupyter: Jupyter) -> None:
    status, headers, body = request(jupyter.at("demo", "big"), "HEAD", headers=AUTH)
    assert (status, headers["content-length"], body) == (200, str(6 << 20), b"")


def test_a_registry_left_by_a_dead_kernel_is_ignored_and_removed(tmp_path: pathlib.Path) -> None:
    from nbws.jupyter.registry import clean_stale, lookup

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, timeout=60)
    entry = {"port": 8000, "name": "demo", "socket": str(tmp_path / "8000.sock")}
    for kid, pid in (("dead", int(dead.stdout)), ("alive", os.getpid())):
        (tmp_path / f"kernel-{kid}.json").write_text(json.dumps({"pid": pid, "servers": [entry]}))
    assert lookup(str(tmp_path), "dead", "demo") == (None, [])
    assert not (tmp_path / "kernel-dead.json").exists()
    found, _ = lookup(str(tmp_path), "alive", "8000")
    assert found is not None and found.name == "demo"
    (tmp_path / "kernel-dead.json").write_text(json.dumps({"pid": int(dead.stdout), "servers": [entry]}))
    assert clean_stale(str(tmp_path)) == 1 and (tmp_path / "kernel-alive.json").exists()


def login_cookie(j: Jupyter) -> str:
    """``name=value`` of Jupyter's login cookie, as a browser gets it after ``?token=``."""
    _, headers, _ = request(f"{j.url}{BASE}api/status?token={TOKEN}")
    return headers["set-cookie"].split(";", 1)[0]


def test_with_allow_origin_star_a_cross_site_post_without_xsrf_is_refused() -> None:
    with running_jupyter("--ServerApp.allow_origin=*") as j:  # Jupyter's check_origin() accepts every origin
        cookie = {"Cookie": login_cookie(j), "Content-Type": "text/plain"}
        before = seen(j)
        for origin in ("http://evil.example", j.url.replace("http:", "https:", 1), f"{j.url}.evil.example"):
            status, _, body = request(j.at("demo", "headers"), "POST", b"x", {**cookie, "Origin": origin})
            assert status == 403, (origin, body)
        assert request(j.at("demo", "headers"), "POST", b"x", cookie)[0] == 403  # no Origin: Jupyter's XSRF rule
        assert seen(j) == before  # the kernel's app was not called
        # the page the kernel's server served (same scheme, host and port) still posts without Jupyter's token
        status, _, _ = request(j.at("demo", "headers"), "POST", b"x", {**cookie, "Origin": j.url})
        assert status == 200 and seen(j)["calls"] == before["calls"] + 1


def as_seen_by_the_app(body: bytes | str) -> tuple[dict[str, list[str]], str]:
    got = json.loads(body)
    fields: dict[str, list[str]] = {}
    for name, value in got["headers"]:
        fields.setdefault(name, []).append(value)
    return fields, got["query"]


def test_jupyters_credentials_do_not_reach_the_kernel(jupyter: Jupyter) -> None:
    login = login_cookie(jupyter)
    sent = {"Authorization": f"token {TOKEN}", "X-XSRFToken": "xsrf-value", "X-App": "mine",
            "Cookie": f"{login}; _xsrf=2|abc; jupyterhub-session-id=s1; app=keep; jupyterhub-user-ada=u",
            "Referer": jupyter.at("demo", f"page?token={TOKEN}&x=1")}
    status, _, body = request(jupyter.at("demo", f"headers?token={TOKEN}&x=1&_xsrf=2%7Cabc&y=%20"), headers=sent)
    assert status == 200
    fields, query = as_seen_by_the_app(body)
    assert query == "x=1&y=%20"
    assert fields["cookie"] == ["app=keep"] and fields["x-app"] == ["mine"]
    assert fields["referer"] == [jupyter.at("demo", "page?x=1")]
    assert "authorization" not in fields and "x-xsrftoken" not in fields
    assert TOKEN not in body.decode()
    url = jupyter.at("demo", f"wsheaders?token={TOKEN}&x=1").replace("http", "ws", 1)
    with connect(url, additional_headers=sent, open_timeout=10) as ws:
        fields, query = as_seen_by_the_app(ws.recv(timeout=10))
    assert query == "x=1" and fields["cookie"] == ["app=keep"] and "authorization" not in fields
    # the app's own Authorization scheme and cookies are its business
    status, _, body = request(jupyter.at("demo", "headers"), headers={"Cookie": f"{login}; app=keep",
                                                                      "Authorization": "Basic YTpi"})
    fields, _ = as_seen_by_the_app(body)
    assert status == 200 and fields["authorization"] == ["Basic YTpi"] and fields["cookie"] == ["app=keep"]


def raw_request(j: Jupyter, target: bytes, fields: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """One request written byte for byte (no client-side encoding or checks); status and body."""
    parts = urllib.request.urlparse(j.url)
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=30) as sock:
        head = [b"GET " + target + b" HTTP/1.1", b"Host: " + parts.netloc.encode(),
                b"Authorization: token " + TOKEN.encode(), b"Connection: close",
                *(name + b": " + value for name, value in fields)]
        sock.sendall(b"\r\n".join(head) + b"\r\n\r\n")
        resp = http.client.HTTPResponse(sock, method="GET")
        resp.begin()
        return resp.status, resp.read()


class JupyterLog:
    """What the jupyter server logged since this object was made."""

    def __init__(self, j: Jupyter) -> None:
        self.path = j.runtime.parent / "jupyter.log"
        self.start = self.path.stat().st_size

    def new(self) -> str:
        with open(self.path, "rb") as f:
            f.seek(self.start)
            return f.read().decode("utf-8", "replace")


def test_non_ascii_in_a_field_is_relayed_and_in_the_path_is_a_400(jupyter: Jupyter) -> None:
    log = JupyterLog(jupyter)
    prefix = f"{BASE}nbws/{jupyter.kernel_id}/demo/".encode()
    status, body = raw_request(jupyter, prefix + b"headers", [(b"X-A", b"caf\xe9")])  # obs-text: allowed
    assert status == 200 and ["x-a", "caf\xe9"] in json.loads(body)["headers"], body
    status, body = raw_request(jupyter, prefix + b"caf\xe9", [])  # browsers percent-encode: caf%C3%A9
    assert status == 400 and b"percent-encode" in body, body
    upgrade = [(b"Upgrade", b"websocket"), (b"Connection", b"Upgrade"), (b"Sec-WebSocket-Version", b"13"),
               (b"Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZQ==")]
    assert raw_request(jupyter, prefix + b"w\xe9", upgrade)[0] == 400
    assert raw_request(jupyter, prefix + b"hello", [(b"X-A", b"a\x01b")])[0] == 400  # a control character
    assert "Traceback" not in log.new()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from([b"X-A", b"Cookie", b"Referer"]),
       value=st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
       path=st.binary(max_size=40).map(lambda b: bytes(c for c in b if c not in b"\r\n \t")))
def test_no_header_value_or_path_bytes_give_a_server_error(jupyter: Jupyter, name: bytes, value: bytes,
                                                           path: bytes) -> None:
    """Whatever bytes a client puts in a field's value or the path, the
    answer is the kernel's or a 4xx, never a 5xx or a traceback in Jupyter's log."""
    log = JupyterLog(jupyter)
    prefix = f"{BASE}nbws/{jupyter.kernel_id}/demo/".encode()
    for target, fields in ((prefix + b"headers", [(name, value)]), (prefix + path, [])):
        status, body = raw_request(jupyter, target, fields)
        assert status < 500, (target, fields, status, body)
    assert "Traceback" not in log.new()
