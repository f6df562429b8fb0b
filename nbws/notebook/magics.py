"""IPython magics: ``%wsserve``, ``%wsstop``, ``%wslist`` and ``%%wspage``.

Load them with ``%load_ext nbws``; ``%wsserve?`` shows the full help.
"""

from __future__ import annotations

import html
import json
import os
import weakref
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from ..app import App
from ..errors import PortInUseError
from ..messages import Request, Response
from ..reach import frame_html, in_colab, link_html, page_url
from ..server import Server, list_servers, start_server

__all__ = ["NbwsMagics", "ServerTable"]


class ServerTable:
    """What ``%wslist`` shows: the servers of this kernel, as HTML and text."""

    def __init__(self, servers: list[Server]) -> None:
        self.servers = servers

    def _rows(self) -> list[dict[str, Any]]:
        from .display import stats

        return [stats(s) for s in self.servers]

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        rows = self._rows()
        if not rows:
            return {"text/plain": "no nbws servers are running", "text/html": "<i>no nbws servers are running</i>"}
        head = ["name", "url", "state", "connections", "in", "out", "uptime", "reclaimed", "refused"]
        keys = ["name", "url", "state", "connections", "messages_in", "messages_out", "uptime", "reclaimed", "refused"]
        text = ["\t".join(head)] + ["\t".join(str(r[k]) for k in keys) for r in rows]
        cells = "".join(
            "<tr>" + "".join(
                f"<td>{link_html(server, '/', None if in_colab() else str(r[k]))}</td>"
                if k == "url" else f"<td>{html.escape(str(r[k]))}</td>" for k in keys) + "</tr>"
            for server, r in zip(self.servers, rows, strict=True))
        table = ("<table class='nbws-servers'><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"
                 + cells + "</table>")
        return {"text/plain": "\n".join(text), "text/html": table}


class _Pages:
    """The app behind ``%%wspage``: routes to HTML strings, updated in place."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.app = App()
        self.app.route("/{path:path}")(self._serve)
        self.app.route("/")(self._serve)

    def _serve(self, req: Request, path: str = "") -> Response:
        body = self.pages.get(req.path)
        if body is None:
            return Response(404, "Not Found: no %%wspage cell serves this route\n")
        return Response(200, body, content_type="text/html; charset=utf-8")


_pages: dict[int, tuple[Server, _Pages]] = {}
# What each %wsserve server was started from (the notebook object, and the
# --static directory), to tell the user when another port still serves it.
_sources: weakref.WeakKeyDictionary[Server, tuple[object, str | None]] = weakref.WeakKeyDictionary()


def _same_source(a: tuple[object, str | None] | None, b: tuple[object, str | None]) -> bool:
    return a is not None and a[0] is b[0] and a[1] == b[1]


def _start(host: str, port: int | None, app: Any, name: str | None) -> Server:
    """``start_server`` with its errors said in the magics' terms (``--port``).

    Runs on the handler loop (the kernel's main thread).

    Raises:
        UsageError: for a bad port, a port in use, or any other refusal.
    """
    if port is not None and not 0 <= port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, not {port}; omit --port for a free port")
    try:
        return start_server(host, port, app, name=name)
    except PortInUseError as exc:
        holder = f"another process (pid {exc.pid})" if exc.pid else "another process"
        raise UsageError(f"port {exc.port} on {exc.host} is in use by {holder}; omit --port for a free "
                         "port, or stop that process") from None
    except (TypeError, ValueError, OSError) as exc:
        raise UsageError(str(exc)) from None


@magics_class
class NbwsMagics(Magics):
    """Serve notebook objects over HTTP and WebSockets."""

    def _lookup(self, name: str) -> Any:
        namespace = self.shell.user_ns if self.shell is not None else {}
        if name not in namespace:
            raise UsageError(f"no object named {name!r} in the notebook; define it first, e.g. app = nbws.App()")
        return namespace[name]

    @magic_arguments()
    @argument("app", nargs="?", help="a name in the notebook: an nbws.App, a dict or object with call / "
              "on_ws_open, or a function (taken as the on_ws_open handler)")
    @argument("--port", type=int, default=None, help="port (default: a free one)")
    @argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    @argument("--name", default=None, help="a name; re-running with the same name replaces that server")
    @argument("--static", default=None, metavar="DIR", help="also serve the files of DIR at /")
    @argument("--open", action="store_true", help="open the server's URL in a new browser tab")
    @line_magic
    def wsserve(self, line: str) -> Server:
        """Start (or replace) a server for an app of the notebook.

        Examples::

            %wsserve app --port 8000
            %wsserve on_ws_open --name chat
            %wsserve --static site
        """
        args = parse_argstring(self.wsserve, line)
        if args.app is None and args.static is None:
            raise UsageError("give the name of an app, or --static DIR; for example: %wsserve app --port 8000")
        app: Any = {}
        source: object = None
        if args.app is not None:
            app = source = self._lookup(args.app)
            if callable(app) and not isinstance(app, App) and not hasattr(app, "call") and not hasattr(app, "on_ws_open"):
                app = {"on_ws_open": app}
        if args.static is not None:
            if not os.path.isdir(args.static):
                raise UsageError(f"--static {args.static!r} is not a directory")
            if isinstance(app, App):
                app.static_paths.setdefault("/", os.path.abspath(args.static))
            elif isinstance(app, dict):
                app = {**app, "static_paths": {**app.get("static_paths", {}), "/": os.path.abspath(args.static)}}
            else:
                raise UsageError("--static works with an nbws.App or a dict app")
        key = (source, os.path.abspath(args.static) if args.static is not None else None)
        same = [s for s in list_servers() if _same_source(_sources.get(s), key)]
        server = _start(args.host, args.port, app, args.name)
        _sources[server] = key
        for other in same:
            if other.running and other is not server:
                print(f"note: the server on port {other.port} for this app is still running (%wsstop {other.port})")
        if args.open:
            _open(server)
        return server

    @magic_arguments()
    @argument("target", nargs="?", help="the port or name of the server to stop")
    @argument("--all", action="store_true", help="stop every server of this kernel")
    @line_magic
    def wsstop(self, line: str) -> None:
        """Stop a server by port or name, or all of them with --all."""
        args = parse_argstring(self.wsstop, line)
        servers = list_servers()
        if not servers and (args.all or args.target is None):
            print("no nbws servers are running; nothing to stop")
            return
        if args.all:
            chosen = servers
        elif args.target is None:
            if len(servers) != 1:
                raise UsageError(f"{len(servers)} servers are running; say which: %wsstop PORT, %wsstop NAME or --all")
            chosen = servers
        else:
            chosen = [s for s in servers if str(s.port) == args.target or s.name == args.target]
            if not chosen:
                known = ", ".join(str(s.name or s.port) for s in servers) or "none"
                raise UsageError(f"no server with port or name {args.target!r} (running: {known})")
        for server in chosen:
            server.stop()
            print(f"stopped {server.local_url}")

    @line_magic
    def wslist(self, line: str) -> ServerTable:
        """Show the servers of this kernel: name, URL, connections, messages, uptime, and the
        connections reclaimed / refused at the connection cap."""
        return ServerTable(list_servers())

    @magic_arguments()
    @argument("route", nargs="?", default="/", help="the route to serve the cell's HTML at (default: /)")
    @argument("--port", type=int, default=None, help="the server's port (default: the pages server, started if needed)")
    @argument("--show", action="store_true", help="also show the page in an IFrame")
    @cell_magic
    def wspage(self, line: str, cell: str) -> Any:
        """Serve the cell's HTML at ROUTE; re-running the cell updates the page in place."""
        args = parse_argstring(self.wspage, line)
        route = args.route if args.route.startswith("/") else "/" + args.route
        entry = None
        for port, (server, pages) in list(_pages.items()):
            if not server.running:
                del _pages[port]
            elif args.port is None or args.port == port:
                entry = (server, pages)
        if entry is None:
            pages = _Pages()
            server = _start("127.0.0.1", args.port, pages.app, None)
            _pages[server.port] = (server, pages)
            entry = (server, pages)
        server, pages = entry
        pages.pages[route] = cell
        url = page_url(server, route)
        from IPython.display import display

        display({"text/plain": f"%%wspage {route} is served at {url}",
                 "text/html": link_html(server, route)}, raw=True)
        if args.show:
            display({"text/plain": url, "text/html": frame_html(server, route)}, raw=True)
        return None


def _open(server: Server) -> None:
    """Open the server's page in a new browser tab (``%wsserve --open``): in
    Colab through its proxy (``serve_kernel_port_as_window``), elsewhere with
    ``window.open``."""
    if in_colab():
        from google.colab import output  # type: ignore[import-not-found]

        output.serve_kernel_port_as_window(server.port, path="/" + (f"?token={server.token}" if server.token else ""))
        return
    from IPython.display import Javascript, display

    display(Javascript(f"window.open({json.dumps(server.url)}, '_blank')"))
