"""random_port, ip_family, and port-in-use errors."""

from __future__ import annotations

import socket

import pytest

import nbws
from nbws.ports import UNSAFE_PORTS, port_holder_pid


def test_ip_family() -> None:
    assert nbws.ip_family("::1") == 6
    assert nbws.ip_family("127.0.0.1") == 4
    assert nbws.ip_family("500.0.0.500") == -1
    assert nbws.ip_family("localhost") == -1


def test_random_port_skips_ports_browsers_refuse() -> None:
    # 6665-6669 are all unsafe, 6670 is the only safe port in the range
    assert {6665, 6666, 6667, 6668, 6669} <= UNSAFE_PORTS
    assert nbws.random_port(min=6665, max=6670, n=20) == 6670


def test_random_port_raises_after_n_tries() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        with pytest.raises(nbws.NoFreePortError) as info:
            nbws.random_port(min=port, max=port, n=3)
    assert info.value.tries == 1


def test_port_holder_pid_finds_this_process() -> None:
    import os

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        assert port_holder_pid(held.getsockname()[1]) == os.getpid()


def test_a_port_taken_between_the_probe_and_the_bind_is_retried_on_another() -> None:
    import socket as _socket

    from nbws.errors import PortInUseError
    from nbws.ports import bind_listener, on_a_free_port

    held = _socket.socket()
    held.bind(("127.0.0.1", 0))  # taken on one address, as a client's connection would hold it
    tried: list[int] = []

    def start(port: int) -> _socket.socket:
        tried.append(port)
        if len(tried) == 1:  # the first pick is lost to someone else before the bind
            raise PortInUseError("127.0.0.1", port, None)
        return bind_listener("127.0.0.1", port)

    try:
        sock = on_a_free_port("127.0.0.1", start)
        assert len(tried) == 2 and sock.getsockname()[1] == tried[1]
        sock.close()
        with pytest.raises(PortInUseError):  # every try lost: the error says so
            on_a_free_port("127.0.0.1", lambda port: bind_listener("127.0.0.1", held.getsockname()[1]), tries=3)
    finally:
        held.close()
