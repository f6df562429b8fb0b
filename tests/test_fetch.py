"""``nbws.fetch()`` / ``nbws.fetch_async()`` failures are short nbws errors
that say what happened and what to do, never a chained urllib traceback."""

from __future__ import annotations

import asyncio
import socket
import threading
import traceback
from collections.abc import Iterator

import pytest

import nbws
from tests.conftest import free_port


def short(exc: BaseException) -> list[str]:
    """The lines a user sees for an uncaught ``exc``."""
    return "".join(traceback.format_exception(exc)).splitlines()


@pytest.fixture
def silent_server() -> Iterator[tuple[socket.socket, int]]:
    """A TCP server that accepts and reads but never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener, listener.getsockname()[1]
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    listener.close()


def test_fetch_to_a_dead_port_says_refused_without_a_chained_traceback() -> None:
    url = f"http://127.0.0.1:{free_port()}/x"
    with pytest.raises(nbws.ConnectError) as info:
        nbws.fetch(url, timeout=5)
    exc = info.value
    assert exc.url == url
    assert str(exc) == f"could not connect to {url}: connection refused: is the server running on that port?"
    assert exc.__cause__ is None and exc.__suppress_context__
    assert len(short(exc)) < 12


def test_fetch_without_a_scheme_says_how_to_write_the_url() -> None:
    with pytest.raises(nbws.InvalidURLError) as info:
        nbws.fetch("127.0.0.1:8000/api")
    assert str(info.value) == ("'127.0.0.1:8000/api' is not an http:// or https:// URL; write it in full, "
                               "for example 'http://127.0.0.1:8000/api'")
    assert isinstance(info.value, ValueError) and info.value.url == "127.0.0.1:8000/api"


def test_fetch_with_a_websocket_url_is_refused_clearly() -> None:
    with pytest.raises(nbws.InvalidURLError) as info:
        nbws.fetch("wss://127.0.0.1:1/")
    assert str(info.value).endswith("URL; write it in full, for example 'https://127.0.0.1:1/'")


def test_fetch_to_a_server_that_never_answers_times_out_with_what_happened(
    silent_server: tuple[socket.socket, int],
) -> None:
    url = f"http://127.0.0.1:{silent_server[1]}/"
    with pytest.raises(nbws.FetchTimeoutError) as info:
        nbws.fetch(url, timeout=0.5)
    exc = info.value
    assert isinstance(exc, TimeoutError) and exc.timeout == 0.5
    assert str(exc) == (f"request to {url} failed: the server accepted the connection but sent no response "
                        "within 0.5 s; pass a larger timeout= if the handler is slow")
    assert exc.__cause__ is None and exc.__suppress_context__


def test_fetch_to_a_server_that_hangs_up_says_so() -> None:
    listener = socket.create_server(("127.0.0.1", 0))

    def hang_up() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.close()

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    try:
        with pytest.raises(nbws.FetchError, match="the server closed the connection without sending a response"):
            nbws.fetch(url, timeout=5)
    finally:
        thread.join(5)
        listener.close()


def test_fetch_async_to_a_dead_port_raises_the_same_short_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/"

    async def main() -> None:
        with pytest.raises(nbws.ConnectError, match="connection refused") as info:
            await nbws.fetch_async(url, timeout=5)
        assert info.value.__cause__ is None

    asyncio.run(asyncio.wait_for(main(), 10))


def test_fetch_async_reaches_a_server_on_the_same_loop() -> None:
    async def main() -> None:
        async def hello(req: nbws.Request) -> str:
            await asyncio.sleep(0)
            return "hi " + req.method

        server = nbws.start_server(app={"call": hello})
        response = await nbws.fetch_async(server.url, timeout=10)
        assert (response.status, response.body) == (200, b"hi GET")

    asyncio.run(asyncio.wait_for(main(), 20))
