"""The notebook layer in real kernels: magics, the server handle, re-run
safety, kernel restarts, and reachability through a real jupyter-server-proxy."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from websockets.sync.client import connect
from websockets.sync.server import serve

from nbws.reach import external_origin, external_url, proxy_mode
from tests.conftest import free_port, wait_until
from tests.kernel import Kernel, kernel


@pytest.fixture(scope="module")
def k() -> Iterator[Kernel]:
    with kernel() as kern:
        kern.run("%load_ext nbws\nimport nbws")
        yield kern


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return bytes(resp.read())


def test_wsserve_serves_a_notebook_app_and_rerun_replaces_it(k: Kernel) -> None:
    port = free_port()
    k.run("app = nbws.App()\n"
          "items = ['a']\n"
          "app.route('/items')(lambda req: items)\n")
    cell = f"%wsserve app --port {port} --name api"
    shown = k.result(cell)
    assert f"http://127.0.0.1:{port}/" in shown["text/plain"] and "<a href=" in shown["text/html"]
    assert get(f"http://127.0.0.1:{port}/items") == b'["a"]'
    k.run("items.append('b')")  # the handler sees the notebook's state
    assert get(f"http://127.0.0.1:{port}/items") == b'["a", "b"]'
    again = k.result(cell)  # re-running the cell: replaced, never "address already in use"
    assert "running" in again["text/plain"]
    listing = k.result("%wslist")
    assert "api" in listing["text/plain"] and f":{port}/" in listing["text/plain"]
    assert k.run("print(len(nbws.list_servers()))").strip() == "1"
    out = k.run("%wsstop api")
    assert f"stopped http://127.0.0.1:{port}/" in out
    with pytest.raises(urllib.error.URLError):
        get(f"http://127.0.0.1:{port}/items")


def test_wsserve_takes_a_function_as_the_websocket_handler(k: Kernel) -> None:
    port = free_port()
    k.run("def shout(ws):\n    ws.on_message(lambda m: ws.send(m.upper()))\n")
    k.run(f"%wsserve shout --port {port}")
    with connect(f"ws://127.0.0.1:{port}/") as ws:
        ws.send("hey")
        assert ws.recv(timeout=10) == "HEY"
    k.run(f"%wsstop {port}")


def test_wsserve_static_directory(k: Kernel, tmp_path: os.PathLike[str]) -> None:
    site = os.path.join(str(tmp_path), "site")
    os.makedirs(site)
    with open(os.path.join(site, "index.html"), "w") as f:
        f.write("<h1>static</h1>")
    port = free_port()
    k.run(f"%wsserve --static {site} --port {port}")
    assert get(f"http://127.0.0.1:{port}/") == b"<h1>static</h1>"
    k.run("%wsstop --all")


@pytest.mark.parametrize(("line", "message"), [
    ("%wsserve", "give the name of an app"),
    ("%wsserve no_such_app", "no object named 'no_such_app'"),
    ("%wsserve --port notanumber app", "invalid int value"),
    ("%wsstop 1", "no server with port or name '1'"),
])
def test_bad_magic_arguments_say_what_to_do(k: Kernel, line: str, message: str) -> None:
    msg_id = k.start(line)
    out, reply = k.finish(msg_id)
    # IPython reports a UsageError as text, not as a failed cell
    text = out + str(reply.get("evalue", ""))
    assert "UsageError" in text and message in text, text


def usage_error(k: Kernel, line: str) -> str:
    """Run a magic that must fail with a UsageError: the text the user sees."""
    out, reply = k.finish(k.start(line))
    text = out + str(reply.get("evalue", ""))
    assert "UsageError" in text and "Traceback" not in text, text
    return text


def test_port_out_of_range_is_a_short_usage_error(k: Kernel) -> None:
    text = usage_error(k, "%wsserve --static . --port 70000")
    assert "--port must be between 0 and 65535, not 70000" in text and "omit --port" in text
    assert "OverflowError" not in text and len(text.strip().splitlines()) <= 2


def test_port_in_use_advice_speaks_magic(k: Kernel) -> None:
    with socket.socket() as holder:  # a port held by another process (this one)
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        text = usage_error(k, f"%wsserve --static . --port {port}")
    assert f"port {port} on 127.0.0.1 is in use" in text and "omit --port" in text and "port=None" not in text


def test_wsstop_with_nothing_running_says_so(k: Kernel) -> None:
    k.run("%wsstop --all")
    assert k.run("%wsstop").strip() == "no nbws servers are running; nothing to stop"
    assert k.run("%wsstop --all").strip() == "no nbws servers are running; nothing to stop"


def test_wsserve_notes_the_other_port_still_serving_a_plain_function(k: Kernel) -> None:
    first, second = free_port(), free_port()
    k.run("def greet(ws):\n    ws.send('hi')\n")
    k.run(f"%wsserve greet --port {first}")
    out = k.run(f"%wsserve greet --port {second}")
    assert f"note: the server on port {first} for this app is still running (%wsstop {first})" in out
    k.run(f"%wsstop {first}")
    assert "note:" not in k.run(f"%wsserve greet --port {second}")  # same port: replaced in place
    k.run("%wsstop --all")


def test_stopped_server_panel_says_stopped_without_a_link_or_a_running_clock(k: Kernel) -> None:
    k.run("gone = nbws.start_server(app={'call': lambda req: 'x'})\ngone.stop()")
    first = k.result("gone")
    k.run("import time\ntime.sleep(1.2)")  # let the wall clock pass a whole second
    later = k.result("gone")
    assert "stopped" in later["text/plain"] and "running" not in later["text/plain"]
    assert "href" not in later["text/html"] and "stopped" in later["text/html"]
    assert later == first  # the uptime no longer counts


def test_magic_help_is_complete(k: Kernel) -> None:
    out = k.run("print(get_ipython().find_line_magic('wsserve').__doc__)")
    for option in ("--port", "--host", "--name", "--static", "--open"):
        assert option in out


def test_wspage_serves_the_cell_and_updates_in_place(k: Kernel) -> None:
    shown = k.result("%%wspage /hello\n<h1>version one</h1>")
    assert "IPython.core.display" not in shown["text/plain"]
    assert shown["text/plain"].startswith("%%wspage /hello is served at http://127.0.0.1:")
    url = shown["text/plain"].split("'")[1] if "'" in shown["text/plain"] else None
    link = shown["text/html"].split('href="')[1].split('"')[0]
    assert get(link) == b"<h1>version one</h1>\n" or get(link).startswith(b"<h1>version one</h1>")
    again = k.result("%%wspage /hello --show\n<h1>version two</h1>")
    assert (again["text/html"].count("href=") >= 1 and "iframe" in again["text/html"].lower()) or url is None
    assert get(link).startswith(b"<h1>version two</h1>")  # same server, same URL


def test_handle_shows_current_numbers(k: Kernel) -> None:
    port = free_port()
    k.run(f"s = nbws.start_server(port={port}, app={{'on_ws_open': lambda ws: ws.on_message(ws.send)}})")
    before = k.result("s")["text/plain"]
    assert "0 connection(s)" in before and "0 in / 0 out" in before
    with connect(f"ws://127.0.0.1:{port}/") as ws:
        ws.send("one")
        assert ws.recv(timeout=10) == "one"
        after = k.result("s")
        assert "1 connection(s)" in after["text/plain"] and "1 in / 1 out" in after["text/plain"]
        assert f'href="http://127.0.0.1:{port}/"' in after["text/html"]
    k.run("s.stop()")


def test_client_state_is_closed_after_close_and_service_in_the_same_cell(k: Kernel) -> None:
    with serve(lambda ws: [ws.send(m) for m in ws], "127.0.0.1", 0) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.socket.getsockname()[1]
        out = k.run(
            "states = []\n"
            "for _ in range(10):\n"
            f"    c = nbws.connect('ws://127.0.0.1:{port}/')\n"
            "    c.wait_open(10)\n"
            "    c.close()\n"
            "    nbws.service(5)\n"
            "    states.append(c.state)\n"
            "print(states)")
        server.shutdown()
    assert out.strip() == str(["CLOSED"] * 10)


def test_client_rejected_by_the_subprotocol_check_gets_the_servers_reason(k: Kernel) -> None:
    out = k.run(
        "chat = nbws.start_server(app={'on_ws_open': lambda ws: None}, subprotocols=['chat'])\n"
        "try:\n"
        "    nbws.connect(chat.ws_url, subprotocols=['other']).wait_open(10)\n"
        "except nbws.HandshakeRejectedError as exc:\n"
        "    print(exc)\n"
        "chat.stop()")
    assert "HTTP 400" in out and "invalid subprotocol; expected one of chat" in out


def test_restarted_kernel_gets_the_same_port_at_once() -> None:
    port = free_port()
    with kernel() as kern:
        kern.run(f"import nbws\ns = nbws.start_server(port={port}, app={{'on_ws_open': lambda ws: ws.on_message(ws.send)}})")
        with connect(f"ws://127.0.0.1:{port}/") as ws:  # a connected client while the kernel restarts
            ws.send("before")
            assert ws.recv(timeout=10) == "before"
            kern.km.restart_kernel(now=False)
            kern.kc.wait_for_ready(timeout=60)
            started = time.monotonic()
            out = kern.run(f"import nbws\ns = nbws.start_server(port={port}, app={{'call': lambda req: 'new kernel'}})\n"
                           "print(s.port)")
            assert out.strip() == str(port) and time.monotonic() - started < 2
        assert get(f"http://127.0.0.1:{port}/") == b"new kernel"


def test_external_url_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NBWS_EXTERNAL_URL", raising=False)
    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX", raising=False)
    assert external_url(8000) is None and not proxy_mode()
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")
    assert external_url(8000) == "/user/ada/proxy/8000/" and proxy_mode()
    monkeypatch.setenv("NBWS_EXTERNAL_URL", "https://hub.example/user/ada/proxy/{port}")
    assert external_url(8000) == "https://hub.example/user/ada/proxy/8000/"
    assert external_url(8000, "http://x/{port}/") == "http://x/8000/"
    assert external_origin("https://hub.example/user/ada/proxy/8000/") == "https://hub.example"
    assert external_origin("/user/ada/proxy/8000/") is None


PROXY_PAGE = """<!doctype html><meta charset='utf-8'>
<script type='module'>
import { connect } from './_nbws/nbws.js';
const conn = connect(); window.conn = conn; window.got = [];
conn.on('echo', d => window.got.push(d));
</script>"""


@pytest.mark.slow
def test_through_a_real_jupyter_server_proxy() -> None:
    jport = free_port()
    token = "proxy-test-token"
    jupyter = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "server", "--no-browser", f"--port={jport}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", "--ServerApp.base_url=/user/ada/", "--allow-root"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{jport}/user/ada/"
        def answers() -> bool:
            try:
                get(base + f"api?token={token}")
            except (urllib.error.URLError, ConnectionError):
                return False
            return True

        wait_until(answers, 60, 0.2, what="jupyter server answers")
        with kernel(env={"JUPYTERHUB_SERVICE_PREFIX": "/user/ada/"}) as kern:
            kern.run(
                "import nbws\n"
                "app = nbws.App()\n"
                f"app.route('/')(lambda req: nbws.Response(200, {PROXY_PAGE!r}, content_type='text/html'))\n"
                "app.on('echo')(lambda ws, d: ws.emit('echo', 'echo: ' + d))\n"
                "app.websocket('/raw')(lambda ws: ws.on_message(ws.send))\n"
                "server = nbws.start_server(app=app)\n")
            url = kern.run("print(server.url)").strip()
            port = int(kern.run("print(server.port)").strip())
            assert url == f"/user/ada/proxy/{port}/"
            assert url in kern.result("server")["text/html"]
            page_url = f"http://127.0.0.1:{jport}{url}?token={token}"
            assert b"_nbws/nbws.js" in get(page_url)
            with connect(f"ws://127.0.0.1:{jport}{url}raw?token={token}", origin=f"http://127.0.0.1:{jport}") as ws:
                ws.send("through jupyter")
                assert ws.recv(timeout=10) == "through jupyter"

            async def browse() -> None:
                from tests.browser import chromium

                async with chromium() as browser:
                    page = await browser.new_page()
                    await page.goto(page_url)
                    await page.wait_for_function("window.conn && window.conn.status === 'open'", timeout=20000)
                    await page.evaluate("conn.send('echo', 'from the page')")
                    await page.wait_for_function("window.got.length === 1", timeout=20000)
                    assert await page.evaluate("window.got") == ["echo: from the page"]

            asyncio.run(asyncio.wait_for(browse(), 60))
            # a foreign origin is still refused through the proxy (which accepts the
            # browser's handshake first, then closes when nbws answers 403)
            from websockets.exceptions import ConnectionClosed

            with pytest.raises(ConnectionClosed):
                with connect(f"ws://127.0.0.1:{jport}{url}raw?token={token}",
                             origin="http://evil.example") as evil:  # type: ignore[arg-type]
                    evil.send("let me in")
                    evil.recv(timeout=10)
    finally:
        jupyter.kill()
        jupyter.wait()
