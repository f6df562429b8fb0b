"""The ``nbws`` command: ``nbws serve``, ``nbws demo`` and ``nbws relay`` (and ``python -m nbws ...``).

Each stops cleanly on Ctrl-C and on SIGTERM (``kill``, ``docker stop``,
systemd): WebSockets are closed with 1001 and the command exits 0.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence

from .demo import demo_app, run_demo
from .errors import NbwsError
from .server import run_static_server

__all__ = ["main", "demo_app", "stop_on_sigterm"]


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
    demo = commands.add_parser("demo", help="serve a page that shows what nbws does",
                               description="Serve a demo page until Ctrl-C or SIGTERM: a live plot fed by a Python "
                                           "loop, an echo / RPC box and a poll the page answers (and a plain echo "
                                           "WebSocket at /ws).")
    demo.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    demo.add_argument("--port", type=int, default=None, help="port (default: a free port)")
    relay = commands.add_parser(
        "relay", help="serve an app's pages and sockets for its kernel, through Redis or the kernel's uplink",
        description="Run a relay with no user code: it serves the pages, live plots and WebSockets that the app's "
                    "kernel (nbws.start_server(..., backplane=URL, app_name=NAME)) announced, and relays the "
                    "browsers' messages to the kernel exactly once, until Ctrl-C or SIGTERM. Several relays of one "
                    "app may run behind a load balancer; a page whose relay dies resumes on another.")
    relay.add_argument("--app", required=True, metavar="NAME", help="the app's name (the kernel's app_name)")
    relay.add_argument("--backplane", default="memory", metavar="URL",
                       help="the Redis URL the kernel uses; default 'memory': no Redis, the kernel dials out to this "
                            "relay (backplane='nbws+ws://this-host:port/' with the same --secret)")
    relay.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default: 127.0.0.1; any other address requires a token)")
    relay.add_argument("--port", type=int, default=None, help="port (default: a free port)")
    relay.add_argument("--token", default=None,
                       help="the token browsers must present (default: none on loopback, else a random one, printed)")
    relay.add_argument("--secret", default=None, metavar="SECRET",
                       help="the publisher secret (relay_secret): serve only what a kernel with it announced "
                            "(default: the NBWS_RELAY_SECRET environment variable, else none)")
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
        run_demo(args.host, args.port)
    elif args.command == "relay":
        from .relay import run_relay

        logging.basicConfig(level=logging.INFO, format="%(message)s")
        secret = args.secret or os.environ.get("NBWS_RELAY_SECRET") or None
        try:
            run_relay(args.app, args.backplane, args.host, args.port, token=args.token, relay_secret=secret)
        except (NbwsError, ValueError, ImportError, OSError) as exc:
            parser.error(str(exc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
