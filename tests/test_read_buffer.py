"""Every socket of the I/O thread is read into one shared buffer
(``nbws.io.read_buffer``): what a peer gets back is still exactly what it
sent, when a message is larger than the buffer, when one read holds several
frames or part of one, and when many sockets are read in turn, so that each
read reuses the buffer the previous socket's bytes were in."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import time

from websockets.asyncio.client import connect
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri

import nbws
from nbws.io.read_buffer import READ_SIZE
from tests.conftest import echo_app, run


def test_messages_larger_than_the_read_buffer_arrive_whole() -> None:
    binary = os.urandom(3 * READ_SIZE + 17)
    text = "é" * (READ_SIZE + 1)  # two-byte characters across every read's edge

    async def main() -> None:
        server = nbws.start_server(app=echo_app(), max_message_size=8 * READ_SIZE, ping_interval=None)
        async with connect(server.ws_url, max_size=None, compression=None) as ws:
            await ws.send(binary)
            await ws.send(text)
            assert await asyncio.wait_for(ws.recv(), 20) == binary
            assert await asyncio.wait_for(ws.recv(), 20) == text

    run(main)


def test_the_client_reads_a_message_larger_than_the_read_buffer() -> None:
    payload = os.urandom(2 * READ_SIZE + 5)

    async def main() -> None:
        server = nbws.start_server(app=echo_app(), max_message_size=4 * READ_SIZE, ping_interval=None)
        async with nbws.connect(server.ws_url, max_message_size=4 * READ_SIZE) as ws:
            ws.send(payload)
            assert await ws.areceive(timeout=20) == payload

    run(main)


class Peer:
    """A WebSocket client over a plain socket (websockets' Sans-I/O client),
    so the test decides where its writes cut the frames."""

    def __init__(self, url: str, index: int, rng: random.Random) -> None:
        uri = parse_uri(url)
        self.sock = socket.create_connection((uri.host, uri.port), timeout=10)
        self.proto = ClientProtocol(uri, max_size=None)
        self.proto.send_request(self.proto.connect())
        self.sock.sendall(b"".join(self.proto.data_to_send()))
        for _ in range(100):  # bounded: each recv waits at most the socket's timeout
            if self.proto.state.name != "CONNECTING" or self.proto.handshake_exc is not None:
                break
            self.proto.receive_data(self.sock.recv(65536))
        assert self.proto.state.name == "OPEN", self.proto.handshake_exc
        self.proto.events_received()
        # this peer's own messages: lengths from 1 byte to past the buffer, its index in every one
        sizes = [1, 7, 125, 126, 1000 + index, 65536, READ_SIZE // 3, READ_SIZE + index]
        rng.shuffle(sizes)
        self.sent = [bytes([index]) * size for size in sizes]
        self.sent[0] = bytes([index, 255 - index]) * 50  # a pattern too: a shifted copy cannot pass
        for message in self.sent:
            self.proto.send_binary(message)
        stream = b"".join(self.proto.data_to_send())
        # cut everywhere, not at frame edges: a write holds several frames, or part of one
        cuts = sorted(rng.sample(range(1, len(stream)), 12))
        self.chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
        self.received: list[bytes] = []

    def read(self, deadline: float) -> None:
        """Read until every echo is back (or the deadline)."""
        while len(self.received) < len(self.sent) and time.monotonic() < deadline:
            data = self.sock.recv(1 << 20)
            if not data:
                break
            self.proto.receive_data(data)
            for event in self.proto.events_received():
                if isinstance(event, Frame) and event.opcode is Opcode.BINARY:
                    self.received.append(bytes(event.data))


def test_sockets_read_in_turn_get_back_only_their_own_bytes() -> None:
    rng = random.Random(11)

    def peers(url: str) -> list[tuple[list[bytes], list[bytes]]]:
        group = [Peer(url, index, rng) for index in range(16)]
        try:
            # round-robin writes: the I/O thread finds several sockets ready at
            # once and reads them one after another into the same buffer
            for step in range(max(len(p.chunks) for p in group)):
                for peer in group:
                    if step < len(peer.chunks):
                        peer.sock.sendall(peer.chunks[step])
            deadline = time.monotonic() + 30
            for peer in group:
                peer.read(deadline)
            return [(p.sent, p.received) for p in group]
        finally:
            for peer in group:
                peer.sock.close()

    async def main() -> list[tuple[list[bytes], list[bytes]]]:
        server = nbws.start_server(app=echo_app(), max_message_size=2 * READ_SIZE, ping_interval=None)
        return await asyncio.to_thread(peers, server.ws_url)

    for sent, received in run(main, timeout=60):
        assert received == sent


def answers(raw: bytes) -> list[bytes]:
    """The complete HTTP/1.1 responses in ``raw`` (each with a Content-Length), as "status body"."""
    out = []
    while b"\r\n\r\n" in raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        if len(rest) < length:
            break
        out.append(head[9:12] + b" " + rest[:length])
        raw = rest[length:]
    return out


def read_answers(sock: socket.socket, count: int) -> list[bytes]:
    """Read until ``count`` complete answers came, or EOF; every answer read."""
    raw = b""
    deadline = time.monotonic() + 20
    while len(answers(raw)) < count and time.monotonic() < deadline:
        data = sock.recv(65536)
        if not data:
            break
        raw += data
    return answers(raw)


def test_pipelined_requests_on_many_connections_get_their_own_answers() -> None:
    def app(req: nbws.Request) -> bytes:
        return req.path.encode() + b"|" + req.body

    def request(index: int, name: str, body: bytes, close: bool = False) -> bytes:
        return (b"POST /c%d/%s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sContent-Length: %d\r\n\r\n%s"
                % (index, name.encode(), b"Connection: close\r\n" if close else b"", len(body), body))

    def clients(port: int) -> list[tuple[list[bytes], list[bytes]]]:
        socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(12)]
        bodies = [bytes([65 + index]) * (100 * (index * 7 % 12) + 1) for index in range(12)]  # lengths up and down
        try:
            for index, sock in enumerate(socks):  # three requests in one write on each connection
                sock.sendall(b"".join(request(index, f"r{n}", bodies[index]) for n in range(3)))
            got = [read_answers(sock, 3) for sock in socks]
            for index, sock in enumerate(socks):  # and one more, after the others' reads
                sock.sendall(request(index, "end", b"", close=True))
            for answered, sock in zip(got, socks, strict=True):
                answered += read_answers(sock, 10)  # to EOF: nothing else may come
            expected = [[b"200 /c%d/r%d|%s" % (index, n, bodies[index]) for n in range(3)] + [b"200 /c%d/end|" % index]
                        for index in range(12)]
            return list(zip(got, expected, strict=True))
        finally:
            for sock in socks:
                sock.close()

    async def main() -> list[tuple[list[bytes], list[bytes]]]:
        server = nbws.start_server(app={"call": app})
        return await asyncio.to_thread(clients, server.port)

    for got, want in run(main, timeout=60):
        assert got == want
