"""Ports and addresses: ``random_port``, ``ip_family`` and port-holder lookup."""

from __future__ import annotations

import errno
import ipaddress
import os
import random
import socket
import stat
from collections.abc import Callable
from typing import TypeVar

from .errors import NoFreePortError, PortInUseError

T = TypeVar("T")

__all__ = ["random_port", "on_a_free_port", "ip_family", "UNSAFE_PORTS", "bind_socket", "bind_unix_socket", "port_holder_pid"]

# Ports Chromium and Firefox refuse to load ("ERR_UNSAFE_PORT").
UNSAFE_PORTS = frozenset({
    1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79,
    87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137,
    139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532,
    540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723,
    2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669,
    6679, 6697, 10080,
})


def ip_family(address: str) -> int:
    """4 or 6 for an IPv4 or IPv6 address, -1 for anything else (httpuv's ``ipFamily``)."""
    try:
        return ipaddress.ip_address(address.strip("[]")).version
    except ValueError:
        return -1


def _family_for(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ip_family(host) == 6 else socket.AF_INET


def bind_socket(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """A listening TCP socket bound to (host, port) with SO_REUSEADDR and an
    accept queue of ``backlog`` (the kernel caps it at net.core.somaxconn).

    Raises OSError (``EADDRINUSE`` …) when the bind fails. A name such as
    ``localhost`` is resolved to its first address."""
    bind_host = host.strip("[]")
    family: socket.AddressFamily
    if ip_family(bind_host) == -1 and bind_host:
        info = socket.getaddrinfo(bind_host, port, type=socket.SOCK_STREAM)
        family, _, _, _, addr = info[0]
        bind_host = str(addr[0])
    else:
        family = _family_for(bind_host)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        if os.name != "nt":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and bind_host == "::":
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((bind_host or "0.0.0.0", port))
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def bind_listener(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """:func:`bind_socket` for a server: a port held by another process is a
    :class:`~nbws.PortInUseError` naming that process."""
    try:
        return bind_socket(host, port, backlog)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortInUseError(host, port, port_holder_pid(port)) from None
        raise


def bind_unix_socket(path: str, mask: int | None = None, backlog: int = 1024) -> socket.socket:
    """A listening Unix domain socket at ``path`` with an accept queue of
    ``backlog``; ``mask`` is a umask applied to the socket file's permissions
    (httpuv's ``mask``). A stale socket file (no one listening) is replaced."""
    from .errors import PathInUseError

    if os.path.exists(path):
        if not stat.S_ISSOCK(os.stat(path).st_mode):
            raise FileExistsError(f"{path} exists and is not a socket; pick another path")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
        except OSError:
            os.unlink(path)
        else:
            raise PathInUseError(path)
        finally:
            probe.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        if mask is not None:
            os.chmod(path, 0o777 & ~mask)
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def on_a_free_port(host: str, start: Callable[[int], T], tries: int = 20) -> T:
    """``start(port)`` on a port :func:`random_port` finds free on ``host``;
    when ``start`` raises :class:`~nbws.PortInUseError` (the port was taken
    between the probe and the bind, or is held on another address of this
    machine, e.g. by a client's connection) another port is tried, up to
    ``tries`` times."""
    for attempt in range(tries):
        try:
            return start(random_port(host=host))
        except PortInUseError:
            if attempt == tries - 1:
                raise
    raise AssertionError("unreachable")


def random_port(min: int = 1024, max: int = 49151, host: str = "127.0.0.1", n: int = 20) -> int:
    """A port in [min, max] that is free on ``host`` right now, skipping the
    ports browsers refuse (httpuv's ``randomPort``).

    Tries up to ``n`` random ports and raises :class:`~nbws.NoFreePortError`
    when none can be bound."""
    candidates = [p for p in range(min, max + 1) if p not in UNSAFE_PORTS]
    if not candidates:
        raise NoFreePortError(min, max, 0)
    tries = 0
    for port in random.sample(candidates, k=len(candidates) if len(candidates) < n else n):
        tries += 1
        try:
            bind_socket(host, port).close()
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                continue
            raise
        return port
    raise NoFreePortError(min, max, tries)


def port_holder_pid(port: int) -> int | None:
    """The pid of a process listening on TCP ``port`` (Linux /proc), or None."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f, None)
                for line in f:
                    fields = line.split()
                    if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(fields[9])
        except OSError:
            continue
    if not inodes:
        return None
    targets = {f"socket:[{inode}]" for inode in inodes}
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return None
    for pid in pids:
        fd_dir = f"/proc/{pid}/fd"
        try:
            for fd in os.listdir(fd_dir):
                try:
                    if os.readlink(f"{fd_dir}/{fd}") in targets:
                        return int(pid)
                except OSError:
                    continue
        except OSError:
            continue
    return None
