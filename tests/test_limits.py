"""Safe defaults: every bound and check of the README's Security section."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from websockets.asyncio.client import connect
from websockets.client import ClientProtocol
from websockets.exceptions import InvalidStatus
from websockets.frames import Opcode
from websockets.uri import parse_uri

import nbws
from tests.conftest import echo_app, http_request, parse_response, raw_http, run, wait_for_condition


class RawWebSocket:
    """A WebSocket client made of a plain socket and websockets' Sans-I/O
    client protocol, so a test controls exactly when it reads."""

    def __init__(self, port: int, path: str = "/", rcvbuf: int | None = None) -> None:
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))
        self.proto = ClientProtocol(parse_uri(f"ws://127.0.0.1:{port}{path}"), max_size=None)
        self.proto.send_request(self.proto.connect())
        self._flush()
        for _ in range(100):  # bounded: each recv waits at most the socket's timeout
            if self.proto.handshake_exc or self.proto.state.name != "CONNECTING":
                break
            data = self.sock.recv(65536)
            if not data:
                break
            self.proto.receive_data(data)
            self.proto.events_received()
        assert self.proto.handshake_exc is None and self.proto.state.name == "OPEN"

    def _flush(self) -> None:
        for data in self.proto.data_to_send():
            if data:
                self.sock.sendall(data)

    def read_until_close(self, seconds: float = 10.0) -> tuple[int | None, int]:
        """Read everything; return (close code received, data frames received)."""
        deadline = time.monotonic() + seconds
        frames = 0
        while time.monotonic() < deadline:
            try:
                data = self.sock.recv(1 << 20)
            except (ConnectionResetError, TimeoutError):
                break
            if not data:
                break
            self.proto.receive_data(data)
            for event in self.proto.events_received():
                if event.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
                    frames += 1
                if event.opcode is Opcode.CLOSE:
                    rcvd = self.proto.close_rcvd
                    return (int(rcvd.code) if rcvd else None), frames
        return None, frames

    def close(self) -> None:
        self.sock.close()


def listening_addresses(port: int) -> list[str]:
    """The local addresses of every socket listening on ``port``, read from the
    kernel's own table (/proc/net/tcp and tcp6), as dotted or colon hex."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, _, hex_port = local.rpartition(":")
                if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    raw = bytes.fromhex(address)
                    # each 32-bit word is in host (little-endian) order
                    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                    found.append(socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, words))
    return found


def non_loopback_address() -> str | None:
    """An IPv4 address of this machine that is not loopback (the one its
    default route leaves from), or None. A UDP connect sends nothing."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = str(s.getsockname()[0])
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_binds_loopback_by_default() -> None:
    server = nbws.start_server(app=echo_app())
    assert server.token is None
    assert listening_addresses(server.port) == ["127.0.0.1"]
    other = non_loopback_address()
    if other is not None:  # another machine's view: nothing listens there
        with pytest.raises(ConnectionRefusedError), socket.create_connection((other, server.port), timeout=5):
            pass
    with socket.create_connection(("127.0.0.1", server.port), timeout=5):
        pass


def test_foreign_host_header_is_403() -> None:
    async def main() -> None:
        server = nbws.start_server(app=echo_app())
        status, _, body = await http_request(server.port, headers={"Host": f"evil.example:{server.port}"})
        assert status == 403 and b"allowed_hosts" in body
        assert (await http_request(server.port, headers={"Host": f"localhost:{server.port}"}))[0] == 200

    run(main)


def test_cross_origin_websocket_is_403_unless_allowed() -> None:
    async def main() -> None:
        server = nbws.start_server(app=echo_app())
        for origin in ("http://evil.example", "null", f"http://127.0.0.1:{server.port + 1}"):
            with pytest.raises(InvalidStatus) as info:
                await connect(server.ws_url, origin=origin)  # type: ignore[arg-type]
            assert info.value.response.status_code == 403, origin
        async with connect(server.ws_url, origin=f"http://127.0.0.1:{server.port}") as ws:  # type: ignore[arg-type]
            await ws.send("same origin")
            assert await ws.recv() == "same origin"
        allowed = nbws.start_server(app=echo_app(), allowed_origins=["http://localhost:8888"])
        async with connect(allowed.ws_url, origin="http://localhost:8888") as ws:  # type: ignore[arg-type]
            await ws.send("configured")
            assert await ws.recv() == "configured"

    run(main)


def test_non_loopback_bind_requires_a_token() -> None:
    async def main() -> None:
        server = nbws.start_server("0.0.0.0", app={"call": lambda req: "secret", "on_ws_open": print})
        token = server.token
        assert token and len(token) >= 24 and f"?token={token}" in server.url
        assert (await http_request(server.port))[0] == 403
        assert (await http_request(server.port, path="/?token=wrong"))[0] == 403
        status, headers, body = await http_request(server.port, path=f"/?token={token}")
        assert (status, body) == (200, b"secret")
        cookie = headers["set-cookie"].split(";")[0]
        assert (await http_request(server.port, headers={"Cookie": cookie}))[0] == 200
        assert (await http_request(server.port, headers={"Authorization": f"token {token}"}))[0] == 200
        with pytest.raises(InvalidStatus):
            await connect(server.ws_url)
        async with connect(f"{server.ws_url}?token={token}") as ws:
            await ws.close()

    run(main)


def test_token_can_be_disabled_explicitly() -> None:
    async def main() -> None:
        server = nbws.start_server("0.0.0.0", app={"call": lambda req: "open"}, token="")
        assert (await http_request(server.port, headers={"Host": f"127.0.0.1:{server.port}"}))[0] == 200

    run(main)


def test_slow_handshake_is_dropped_after_handshake_timeout() -> None:
    async def main() -> None:
        server = nbws.start_server(app=echo_app(), handshake_timeout=0.3)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers never finish
        start = time.monotonic()
        raw = await asyncio.wait_for(reader.read(-1), 5)
        assert raw.startswith(b"HTTP/1.1 408")
        assert 0.25 < time.monotonic() - start < 3
        writer.close()
        # a connection that sends nothing at all is closed too
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        assert await asyncio.wait_for(reader.read(-1), 5) == b""
        writer.close()

    run(main)


def test_max_connections_is_enforced() -> None:
    async def main() -> None:
        server = nbws.start_server(app=echo_app(), max_connections=2)
        a = await connect(server.ws_url)
        b = await connect(server.ws_url)
        with pytest.raises(InvalidStatus) as info:
            await connect(server.ws_url)
        assert info.value.response.status_code == 503
        await a.close()
        await wait_for_condition(lambda: server.connection_stats().open < 2)
        async with connect(server.ws_url) as c:
            await c.send("room again")
            assert await c.recv() == "room again"
        await b.close()

    run(main)


@pytest.mark.parametrize("target", ["/a%00b", "/%ff%fe", "/x%7f"])
def test_malformed_paths_get_400_not_500(target: str) -> None:
    async def main() -> None:
        server = nbws.start_server(app={"call": lambda req: "never"})
        raw = await raw_http(server.port, f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        assert raw.startswith(b"HTTP/1.1 400")

    run(main)


def test_raw_nul_byte_in_request_line_is_400() -> None:
    async def main() -> None:
        server = nbws.start_server(app={"call": lambda req: "never"})
        raw = await raw_http(server.port, b"GET /a\x00b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert raw.startswith(b"HTTP/1.1 400")

    run(main)


def test_header_limits_give_431() -> None:
    async def main() -> None:
        server = nbws.start_server(app={"call": lambda req: "ok"}, max_header_count=10, max_header_line=200,
                                   max_header_block=4000)
        many = "".join(f"X-{i}: v\r\n" for i in range(11))
        assert (await raw_http(server.port, f"GET / HTTP/1.1\r\nHost: a\r\n{many}\r\n".encode())).startswith(b"HTTP/1.1 431")
        long_line = f"GET / HTTP/1.1\r\nHost: a\r\nX-Long: {'v' * 300}\r\n\r\n".encode()
        assert (await raw_http(server.port, long_line)).startswith(b"HTTP/1.1 431")
        block = "".join(f"X-{i}: {'v' * 150}\r\n" for i in range(9)) * 4
        assert (await raw_http(server.port, f"GET / HTTP/1.1\r\nHost: a\r\n{block}\r\n".encode())).startswith(b"HTTP/1.1 431")
        uri = f"GET /{'a' * 300} HTTP/1.1\r\nHost: a\r\n\r\n".encode()
        assert (await raw_http(server.port, uri)).startswith(b"HTTP/1.1 414")
        assert (await http_request(server.port))[0] == 200

    run(main)


def test_body_over_max_body_size_is_413_before_reading() -> None:
    async def main() -> None:
        server = nbws.start_server(app={"call": lambda req: "never"}, max_body_size=1000)
        head = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n\r\n"
        raw = await raw_http(server.port, head)  # no body sent: the answer must not wait for it
        assert raw.startswith(b"HTTP/1.1 413")
        chunked = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                   + b"400\r\n" + b"x" * 1024 + b"\r\n" + b"400\r\n" + b"x" * 1024 + b"\r\n0\r\n\r\n")
        assert (await raw_http(server.port, chunked)).startswith(b"HTTP/1.1 413")

    run(main)


def test_slow_reader_cannot_grow_memory_error_policy() -> None:
    sockets: list[nbws.WebSocket] = []
    limit = 256 * 1024
    chunk = b"x" * 16384

    async def main() -> None:
        server = nbws.start_server(app={"on_ws_open": sockets.append}, send_buffer_size=limit,
                                   send_buffer_policy="error")
        peer = await asyncio.to_thread(RawWebSocket, server.port, "/", 4096)
        await wait_for_condition(lambda: bool(sockets))
        sent = 0
        with pytest.raises(nbws.SendBufferFullError) as info:
            for _ in range(10_000):
                sockets[0].send(chunk)
                sent += 1
                await asyncio.sleep(0)  # let the I/O thread write what the peer takes
        # refused once the limit is reached, and never more than one message past it
        assert info.value.limit == limit and limit <= info.value.buffered <= limit + len(chunk)
        assert 0 < sent * len(chunk) < 20 * limit  # the socket buffers absorbed some, not unbounded
        peer.close()

    run(main)


def test_slow_reader_is_closed_with_1008_by_default() -> None:
    sockets: list[nbws.WebSocket] = []

    async def main() -> None:
        server = nbws.start_server(app={"on_ws_open": sockets.append}, send_buffer_size=128 * 1024,
                                   close_timeout=10)
        assert server.send_buffer_policy == "close"
        peer = await asyncio.to_thread(RawWebSocket, server.port, "/", 4096)
        await wait_for_condition(lambda: bool(sockets))
        results = []
        for _ in range(10_000):
            results.append(sockets[0].send(b"y" * 16384))
            if not results[-1]:
                break
            await asyncio.sleep(0)
        assert results[-1] is False
        code, frames = await asyncio.to_thread(peer.read_until_close)
        assert code == 1008 and frames == len(results) - 1
        peer.close()

    run(main)


def test_peer_that_never_answers_pings_is_closed_1011() -> None:
    async def main() -> None:
        server = nbws.start_server(app=echo_app(), ping_interval=0.2, ping_timeout=0.3)
        peer = await asyncio.to_thread(RawWebSocket, server.port)
        start = time.monotonic()
        # read_until_close does not answer pings (it never flushes pongs)
        code, _ = await asyncio.to_thread(peer.read_until_close, 5.0)
        assert code == 1011 and time.monotonic() - start < 3
        peer.close()

    run(main)


def test_idle_timeout_closes_silent_websockets() -> None:
    async def main() -> None:
        server = nbws.start_server(app=echo_app(), idle_timeout=0.3, ping_interval=None)
        peer = await asyncio.to_thread(RawWebSocket, server.port)
        code, _ = await asyncio.to_thread(peer.read_until_close, 5.0)
        assert code == 1001
        peer.close()

    run(main)


def test_parse_response_helper_reads_status() -> None:
    assert parse_response(b"HTTP/1.1 204 No Content\r\nA: b\r\n\r\n") == (204, {"a": "b"}, b"")
