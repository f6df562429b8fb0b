"""A peer that breaks the protocol after sending a message still gets the
handler's answer to that message, then the Close (Autobahn 3.2-3.4, 4.x,
5.15): the failure waits behind the deliveries already received, at most
``close_timeout``. The peer is the ``websockets`` Sans-I/O client over a raw
socket, so the bytes of the protocol error can be written as they are."""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri

import nbws
from tests.conftest import echo_app

T = TypeVar("T")


def masked(first: int, payload: bytes) -> bytes:
    """A client frame with the given first byte (FIN, RSV bits, opcode)."""
    key = os.urandom(4)
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return struct.pack("!BB", first, 0x80 | len(payload)) + key + body


RSV2_TEXT = masked(0x80 | 0x20 | 0x1, b"bad")  # reserved bit 2 set: Autobahn 3.2
OPCODE_3 = masked(0x80 | 0x3, b"")  # reserved data opcode: Autobahn 4.1.1
CONT_AFTER_FIN = masked(0x00, b"x")  # continuation with no message started: Autobahn 5.15-like


def exchange(url: str, compression: bool, violation: bytes, timeout: float = 10) -> tuple[list[Frame], float]:
    """Send "hello" and the violation in one write; every frame the server
    sends until it closes TCP, and how long that took."""
    extensions = [ClientPerMessageDeflateFactory()] if compression else None
    proto = ClientProtocol(parse_uri(url), extensions=extensions)
    wsuri = parse_uri(url)
    frames: list[Frame] = []
    with socket.create_connection((wsuri.host, wsuri.port), timeout=timeout) as sock:
        proto.send_request(proto.connect())
        sock.sendall(b"".join(proto.data_to_send()))
        for _ in range(100):  # bounded: each recv waits at most the socket's timeout
            if proto.handshake_exc is not None or proto.events_received() or proto.state.name != "CONNECTING":
                break
            data = sock.recv(65536)
            if not data:
                break
            proto.receive_data(data)
        assert proto.handshake_exc is None and proto.state.name == "OPEN"
        assert bool(proto.extensions) is compression
        proto.send_text(b"hello")
        started = time.monotonic()
        sock.sendall(b"".join(proto.data_to_send()) + violation)
        while True:
            data = sock.recv(65536)
            if not data:
                break
            proto.receive_data(data)
            frames.extend(e for e in proto.events_received() if isinstance(e, Frame))
        return frames, time.monotonic() - started


def summary(frames: list[Frame]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for frame in frames:
        if frame.opcode is Opcode.CLOSE:
            out.append(("close", struct.unpack("!H", frame.data[:2])[0]))
        else:
            out.append((frame.opcode.name, bytes(frame.data)))
    return out


@pytest.mark.parametrize("compression", [False, True], ids=["plain", "deflate"])
@pytest.mark.parametrize("violation", [RSV2_TEXT, OPCODE_3, CONT_AFTER_FIN], ids=["rsv2", "opcode3", "stray-cont"])
def test_message_before_a_protocol_error_is_answered_before_the_close(compression: bool, violation: bytes) -> None:
    frames, _ = run_in_loop(lambda: nbws.start_server(app=echo_app(), compression=compression, ping_interval=None),
                            lambda url: exchange(url, compression, violation))
    assert summary(frames) == [("TEXT", b"hello"), ("close", 1002)]


def test_the_held_close_goes_out_after_close_timeout_when_nothing_handles_the_message() -> None:
    # no on_message callback and nobody calling receive(): the message is never handled
    frames, elapsed = run_in_loop(
        lambda: nbws.start_server(app={"on_ws_open": lambda ws: None}, ping_interval=None, close_timeout=0.5),
        lambda url: exchange(url, False, RSV2_TEXT))
    assert summary(frames) == [("close", 1002)]
    assert 0.3 < elapsed < 5


def run_in_loop(start: Callable[[], nbws.Server], peer: Callable[[str], T]) -> T:
    """Start a server on this thread's running loop (its handler plane), and
    run the blocking ``peer(ws_url)`` in a thread meanwhile."""

    async def main() -> T:
        server = start()
        return await asyncio.to_thread(peer, server.ws_url)

    return asyncio.run(asyncio.wait_for(main(), 30))
