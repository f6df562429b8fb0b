"""``nbws demo``: one page that shows what nbws is for — a live plot fed by a
Python loop, an echo / RPC box, and a poll the page itself answers."""

from __future__ import annotations

import math
import random
import sys
import threading
import time
from typing import Any

from .app import App
from .live import LivePlot
from .messages import Request, Response
from .server import Server, _serve_forever, start_server
from .websocket import Message, WebSocket

__all__ = ["demo_app", "start_demo", "run_demo", "POLL_CHOICES"]

POLL_CHOICES = ("JupyterLab", "VS Code", "Colab", "a script")

DEMO_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nbws demo</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark">
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;padding:1em 1.5em;max-width:62em}
h1{margin:.2em 0 0}h2{font-size:1.05em;margin:1.4em 0 .3em}p{margin:.3em 0}
code{font-size:.92em;background:rgba(127,127,127,.15);padding:0 .25em;border-radius:3px}
#plot{height:340px;border:1px solid rgba(127,127,127,.35);border-radius:4px}
.row{display:grid;grid-template-columns:1fr 1fr;gap:1.5em}@media (max-width:760px){.row{grid-template-columns:1fr}}
#log{white-space:pre-wrap;border:1px solid rgba(127,127,127,.35);padding:.5em;min-height:6em;max-height:12em;overflow:auto;
font:13px ui-monospace,monospace;border-radius:4px}
.bar{display:flex;align-items:center;gap:.5em;margin:.25em 0}.bar button{width:8em}
.bar .fill{height:1em;background:#1f77b4;border-radius:2px;transition:width .2s}
#status{padding:0 .4em;border-radius:3px;background:rgba(127,127,127,.2)}
</style></head>
<body>
<h1>nbws demo</h1>
<p>nbws is an HTTP + WebSocket server that lives inside your Python process — a script or a Jupyter kernel —
the way R's httpuv lives in an R session. Its I/O thread serves this page and its sockets; your Python runs
wherever it runs. Connection: <b id="status">connecting…</b></p>

<h2>A live plot fed by a Python loop</h2>
<p>A Python thread is pushing a simulated training run, <code>plot.push(step, loss=…)</code>, 20 steps a
second. Drag to zoom (Shift: a box), scroll to zoom, Alt-drag to pan, double-click to follow the live edge
again; click a legend entry to hide it; try <i>smooth</i>, <i>log y</i>, and the PNG / CSV buttons.</p>
<div id="plot"></div>

<div class="row">
<div>
<h2>Echo and RPC</h2>
<p><code>conn.send("echo", text)</code> comes back from a Python handler;
<code>await conn.call("describe", text)</code> resolves with what a Python function returned.</p>
<form id="form"><input id="text" value="hello from the browser" size="26">
<button id="send">Send</button> <button id="call" type="button">Call describe()</button></form>
<div id="log"></div>
</div>
<div>
<h2>A poll this page answers</h2>
<p>Where do you run Python? Votes go to Python, which counts them and sends the totals to every page:
open this page in a second tab (or on your phone, with <code>--host 0.0.0.0</code>) and watch.</p>
<div id="poll"></div>
</div>
</div>

<h2>Next</h2>
<p>In a notebook: <code>%load_ext nbws</code>, <code>%wsserve</code>, <code>nbws.LivePlot(...)</code>,
<code>nbws.Dashboard([...])</code>. The repository's <code>notebooks/</code> folder has
<code>quickstart.ipynb</code>, <code>live_plot.ipynb</code> and <code>http_api.ipynb</code>; the README has the
rest. This page is <code>nbws/demo.py</code>: about 150 lines of Python and HTML.</p>

<script type="module">
import { connect } from "./_nbws/nbws.js";
import { liveplot } from "./_nbws/chart.js";
window.chart = liveplot(document.getElementById("plot"), { path: "live/demo/ws" });
const logEl = document.getElementById("log");
const log = (line) => { logEl.textContent += line + "\\n"; logEl.scrollTop = logEl.scrollHeight; };
const conn = connect();
window.conn = conn;
conn.on("status", (s) => { document.getElementById("status").textContent = s; });
conn.topic("echo", (text) => log("← " + text));
const text = () => document.getElementById("text").value;
document.getElementById("form").onsubmit = (ev) => {
  ev.preventDefault();
  log("→ " + text());
  conn.send("echo", text());
};
document.getElementById("call").onclick = async () => {
  log("→ describe(" + JSON.stringify(text()) + ")");
  try { log("← " + JSON.stringify(await conn.call("describe", text()))); } catch (err) { log("✗ " + err.message); }
};
const poll = document.getElementById("poll");
window.poll = {};
conn.topic("poll", (counts) => {
  window.poll = counts;
  const most = Math.max(1, ...Object.values(counts));
  poll.innerHTML = "";
  for (const [choice, n] of Object.entries(counts)) {
    const row = document.createElement("div");
    row.className = "bar";
    const button = document.createElement("button");
    button.textContent = choice;
    button.dataset.choice = choice;
    button.onclick = () => conn.send("vote", choice);
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.style.width = (10 * n / most) + "em";
    const count = document.createElement("span");
    count.className = "count";
    count.textContent = String(n);
    row.append(button, fill, count);
    poll.append(row);
  }
});
</script></body></html>
"""


def demo_app() -> App:
    """The demo's app: the page at ``/`` (talking through ``nbws.js``: topic
    ``echo``, RPC ``describe``, the poll's topics ``vote`` / ``poll``), and a
    plain echo WebSocket at ``/ws`` for other clients. Its handlers run on the
    handler plane; the poll's totals go to every page connected."""
    app = App()
    votes = dict.fromkeys(POLL_CHOICES, 0)

    @app.route("/")
    def index(req: Request) -> Response:
        return Response(200, DEMO_PAGE, content_type="text/html; charset=utf-8")

    @app.on("echo")
    def echo_topic(ws: WebSocket, text: object) -> None:
        ws.emit("echo", f"echo: {text}")

    @app.rpc("describe")
    def describe(text: object) -> dict[str, Any]:
        words = str(text).split()
        return {"words": len(words), "reversed": str(text)[::-1], "python": sys.version.split()[0]}

    pages: set[WebSocket] = set()

    @app.connected
    def joined(ws: WebSocket) -> None:
        pages.add(ws)
        ws.on_close(lambda code, reason: pages.discard(ws))
        ws.emit("poll", votes)

    @app.on("vote")
    def vote(ws: WebSocket, choice: object) -> None:
        if choice in votes:
            votes[str(choice)] += 1
            for page in list(pages):
                page.emit("poll", votes)

    @app.websocket("/ws")
    def echo_socket(ws: WebSocket) -> None:
        def echo(message: Message) -> None:
            ws.send(f"echo: {message}" if isinstance(message, str) else message)

        ws.on_message(echo)

    return app


def start_demo(host: str = "127.0.0.1", port: int | None = None, steps_per_second: float = 20.0) -> tuple[Server,
                                                                                                         LivePlot]:
    """Start the demo's server and its live plot, fed by a daemon thread (a
    stand-in for a training loop) until the server stops."""
    server = start_server(host, port, demo_app())
    plot = LivePlot("demo", series=["loss", "val_loss"], server=server, title="a simulated training run",
                    xlabel="step", ylabel="loss")

    def train() -> None:  # its own thread: push() is thread-safe and never blocks
        rng = random.Random(14)
        step = 0
        while server.running:
            loss = 2.0 * math.exp(-step / 400) + 0.1 + 0.08 * rng.gauss(0, 1) * math.exp(-step / 2000)
            plot.push(step, loss=loss)
            if step % 25 == 0:
                plot.push(step, val_loss=2.1 * math.exp(-step / 450) + 0.15 + 0.02 * rng.gauss(0, 1))
            step += 1
            time.sleep(1 / steps_per_second)

    threading.Thread(target=train, name="nbws-demo-train", daemon=True).start()
    return server, plot


def run_demo(host: str = "127.0.0.1", port: int | None = None) -> None:
    """``nbws demo``: serve the demo until Ctrl-C or SIGTERM, saying what to try."""
    server, _ = start_demo(host, port)
    print(f"nbws demo at {server.url}\n"
          "  open it in a browser: a live plot fed by a Python loop (drag to zoom, double-click to follow),\n"
          "  an echo / RPC box, and a poll — open it in two tabs and vote in one.\n"
          f"  other clients: a plain echo WebSocket at {server.ws_url}ws", flush=True)
    _serve_forever(server)
