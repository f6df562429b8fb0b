"""The kernel side of the Jupyter Server extension: where a kernel's servers
listen for the extension, and the file that tells the extension.

The extension (:mod:`nbws.jupyter`) puts two variables into the Jupyter
server's environment when it loads, and the kernels that server launches
inherit them: ``NBWS_JUPYTER_BASE_URL`` (the server's ``base_url``) and
``NBWS_JUPYTER_DIR`` (a private directory, mode 0700, under its runtime
directory). A kernel that sees both, and knows its id from its connection
file (``kernel-<id>.json``), makes every TCP server it starts also listen on
``{dir}/{port}.sock`` (mode 0600) and lists it in ``{dir}/kernel-<id>.json``;
its :attr:`Server.url <nbws.Server.url>` becomes
``{base_url}nbws/{kernel_id}/{name or port}/``.

Neither side imports jupyter_server or tornado here: the kernel's functions
run on the caller's thread (the thread starting or stopping a server), the
reading side (:func:`lookup`) on the Jupyter server's loop.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import socket
import stat
import sys
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ..ports import bind_unix_socket

__all__ = ["BASE_URL_ENV", "DIR_ENV", "Entry", "kernel_id", "relay_dir", "socket_path", "relay_socket", "publish", "forget",
           "relay_url", "lookup", "private_dir", "clean_stale"]

log = logging.getLogger("nbws")
BASE_URL_ENV = "NBWS_JUPYTER_BASE_URL"
DIR_ENV = "NBWS_JUPYTER_DIR"
MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes on Linux, 104 on macOS
_KERNEL_FILE = re.compile(r"kernel-([A-Za-z0-9_.-]+)\.json$")


@dataclass(frozen=True)
class Entry:
    """One relayed server of a kernel, as the registry file lists it."""

    port: int
    name: str | None
    socket: str


# port → entry, for the servers of this process that listen for the extension
_relayed: dict[int, Entry] = {}


def private_dir(path: str) -> bool:
    """Make ``path`` a directory only this user can enter (mode 0700), or
    check that it is one; False (with a warning) when it is not ours.
    Any thread. False on Windows (no private Unix sockets there)."""
    if not hasattr(os, "getuid"):
        return False
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        info = os.stat(path)
        if info.st_uid != os.getuid():
            log.warning("nbws: %s belongs to another user; not relaying through Jupyter", path)
            return False
        if stat.S_IMODE(info.st_mode) & 0o077:
            os.chmod(path, 0o700)
    except OSError as exc:
        log.warning("nbws: cannot use %s for Jupyter relay sockets (%s)", path, exc)
        return False
    return True


def kernel_id() -> str | None:
    """This kernel's id, from its connection file name; None outside an
    ipykernel kernel (nbws never imports ipykernel for this)."""
    if "ipykernel" not in sys.modules:
        return None
    try:
        from ipykernel.connect import get_connection_file

        name = os.path.basename(get_connection_file())
    except Exception:  # noqa: BLE001 - not a running kernel: no relay
        return None
    match = _KERNEL_FILE.match(name)
    return match.group(1) if match else None


def relay_dir() -> str | None:
    """The private socket directory when this process is a kernel of a
    Jupyter server with the extension, else None."""
    base, path = os.environ.get(BASE_URL_ENV), os.environ.get(DIR_ENV)
    if not base or not path or kernel_id() is None:
        return None
    return path if private_dir(path) else None


def socket_path(port: int) -> str | None:
    """Where the server on TCP ``port`` also listens for the extension, or
    None when it should not (no extension, or the path is too long for a
    Unix socket). A TCP port has one holder at a time, so the name is unique."""
    path = relay_dir()
    if path is None:
        return None
    sock = os.path.join(path, f"{port}.sock")
    if len(sock.encode()) > MAX_SOCKET_PATH:
        log.warning("nbws: %s is too long for a Unix socket; not relaying through Jupyter "
                    "(set JUPYTER_RUNTIME_DIR to a shorter path)", sock)
        return None
    return sock


def relay_socket(port: int, backlog: int) -> tuple[str | None, socket.socket | None]:
    """Under a Jupyter server with nbws's extension: the private Unix socket
    (mode 0600) where the TCP server on ``port`` also listens, bound, and its
    path; else ``(None, None)``. The caller's thread."""
    path = socket_path(port)
    if path is None:
        return None, None
    try:
        return path, bind_unix_socket(path, 0o177, backlog)
    except OSError as exc:
        log.warning("nbws: not relaying through Jupyter: cannot listen at %s (%s)", path, exc)
        return None, None


def _registry_file(directory: str, kernel: str) -> str:
    return os.path.join(directory, f"kernel-{kernel}.json")


def _write() -> None:
    directory, kernel = os.environ.get(DIR_ENV), kernel_id()
    if not directory or kernel is None:
        return
    target = _registry_file(directory, kernel)
    body = {"pid": os.getpid(), "kernel_id": kernel,
            "servers": [{"port": e.port, "name": e.name, "socket": e.socket} for e in _relayed.values()]}
    temp = f"{target}.{os.getpid()}.tmp"
    try:
        with open(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            json.dump(body, f)
        os.replace(temp, target)  # readers see the old list or the new one, never half
    except OSError as exc:
        log.warning("nbws: cannot write %s (%s); the Jupyter extension will not find this kernel's servers",
                    target, exc)


def publish(port: int, name: str | None, sock: str) -> None:
    """List a server that listens at ``sock`` in this kernel's registry file.
    Called with the server registry's lock held (so writes are in order)."""
    _relayed[port] = Entry(port, name, sock)
    _write()


def forget(port: int) -> None:
    """Take a stopped server out of the registry file. Called with the
    server registry's lock held."""
    if _relayed.pop(port, None) is not None:
        _write()


def relay_url(port: int) -> str | None:
    """``{base_url}nbws/{kernel_id}/{name or port}/`` for a server of this
    process that listens for the extension, else None. Pure but for the
    environment; any thread."""
    entry = _relayed.get(port)
    kernel = kernel_id() if entry is not None else None
    if entry is None or kernel is None:
        return None
    base = os.environ.get(BASE_URL_ENV, "/")
    label = quote(entry.name, safe="") if entry.name else str(entry.port)
    return f"{base.rstrip('/')}/nbws/{kernel}/{label}/"


# -- the reading side (the Jupyter server) --

def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _load(target: str) -> dict[str, Any] | None:
    """A registry file's contents; None when it is missing or unreadable, or
    left by a dead kernel process (then it is removed)."""
    try:
        with open(target) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not _alive(data.get("pid")):
        with contextlib.suppress(OSError):
            os.unlink(target)
        return None
    return data


def lookup(directory: str, kernel: str, server: str) -> tuple[Entry | None, list[Entry]]:
    """The entry of ``kernel``'s server named (or on port) ``server``, and
    all its entries (for the error message). A file left by a dead kernel
    process is removed and reads as empty; sockets outside ``directory`` are
    ignored. Any thread (the Jupyter server's loop)."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", kernel):
        return None, []
    data = _load(_registry_file(directory, kernel))
    entries = []
    for item in data.get("servers", []) if data is not None else []:
        try:
            entry = Entry(int(item["port"]), item.get("name"), str(item["socket"]))
        except (KeyError, TypeError, ValueError):
            continue
        if os.path.dirname(entry.socket) == directory:
            entries.append(entry)
    for entry in entries:
        if server in (entry.name, str(entry.port)):
            return entry, entries
    return None, entries


def clean_stale(directory: str) -> int:
    """Remove the registry files of kernels whose process is gone; how many.
    Runs when the extension loads."""
    try:
        names = [n for n in os.listdir(directory) if _KERNEL_FILE.match(n)]
    except OSError:
        return 0
    return sum(1 for n in names if _load(os.path.join(directory, n)) is None)
