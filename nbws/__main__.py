"""The ``nbws`` command: ``nbws serve`` and ``nbws demo`` (and ``python -m nbws ...``).

Both stop cleanly on Ctrl-C and on SIGTERM (``kill``, ``docker stop``,
systemd): WebSockets are closed with 1001 and the command exits 0.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence

from .app import App
from .messages import Request, Response
from .server import run_server, run_static_server
from .websocket import Message, WebSocket

DEMO_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nbws demo</title>
<style>body{font:16px system-ui;margin:2em;max-width:40em}#log{white-space:pre-wrap;border:1px solid #ccc;
padding:.5em;min-height:6em}</style></head>
<body><h1>nbws echo demo</h1>
<p>Status: <b id="status">connecting…</b></p>
<form id="form"><input id="text" value="hello from the browser" size="30"> <button>Send</button></form>
<div id="log"></div>
<script type="module">
import { connect } from "./_nbws/nbws.js";
const log = (line) => { document.getElementById("log").textContent += line + "\\n"; };
const conn = connect();
window.conn = conn;
conn.on("status", (s) => { document.getElementById("status").textContent = s; });
conn.topic("echo", (text) => log("← " + text));
document.getElementById("form").onsubmit = (ev) => {
  ev.preventDefault();
  const text = document.getElementById("text").value;
  log("→ " + text);
  conn.send("echo", text);
};
</script></body></html>
"""


def demo_app() -> App:
    """The demo: a page at ``/`` that talks through ``nbws.js`` (topic
    ``echo``), and a plain echo WebSocket at ``/ws`` for other clients."""
    app = App()

    @app.route("/")
    def index(req: Request) -> Response:
        return Response(200, DEMO_PAGE, content_type="text/html; charset=utf-8")

    @app.on("echo")
    def echo_topic(ws: WebSocket, text: object) -> None:
        ws.emit("echo", f"echo: {text}")

    @app.websocket("/ws")
    def echo_socket(ws: WebSocket) -> None:
        def echo(message: Message) -> None:
            ws.send(f"echo: {message}" if isinstance(message, str) else message)

        ws.on_message(echo)

    return app


def stop_on_sigterm() -> None:
    """Make SIGTERM stop a running server the way Ctrl-C does (a
    ``KeyboardInterrupt`` in the main thread, so the server stops, closing
    WebSockets with 1001, and the command exits 0). Runs on the main thread."""
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, signal.default_int_handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nbws`` command."""
    parser = argparse.ArgumentParser(prog="nbws", description="HTTP + WebSocket server for notebooks and scripts.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve", help="serve a directory of static files",
        description="Serve the files of DIR over HTTP until Ctrl-C or SIGTERM, logging each request "
                    "(Common Log Format). Directories serve their index.html; files support "
                    "ETag/304 and Range requests; nothing outside DIR is ever served.")
    serve.add_argument("dir", nargs="?", default=".", metavar="DIR", help="the directory to serve (default: .)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default: 127.0.0.1; any other address requires the printed token)")
    serve.add_argument("--port", type=int, default=None, help="port to listen on (default: a free port)")
    serve.add_argument("--no-browser", action="store_true", help="do not open a browser (default: open one "
                       "when run from a terminal)")
    demo = commands.add_parser("demo", help="serve a page that echoes over a WebSocket",
                               description="Serve a demo page with an echo WebSocket (at /ws) until Ctrl-C or SIGTERM.")
    demo.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    demo.add_argument("--port", type=int, default=None, help="port (default: a free port)")
    args = parser.parse_args(argv)
    stop_on_sigterm()
    if args.command == "serve":
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access = logging.getLogger("nbws.access")
        access.addHandler(handler)
        access.setLevel(logging.INFO)
        access.propagate = False
        try:
            run_static_server(args.dir, args.host, args.port, browse=False if args.no_browser else None)
        except (NotADirectoryError, OSError) as exc:
            parser.error(str(exc))
    elif args.command == "demo":
        run_server(args.host, args.port, demo_app())
    return 0


if __name__ == "__main__":
    sys.exit(main())
