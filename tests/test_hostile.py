"""Hostile input: whatever a peer sends, the answer is a 4xx (or a close), never a 5xx or a traceback.

Real servers on 127.0.0.1 and raw sockets; the parsers as plain functions fed
arbitrary text by Hypothesis; a seeded mutation run from ``bench/hostile_bench.py``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import pathlib
import re
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nbws
from bench.hostile_bench import hammer, mutated_requests, nbws_app, static_dir
from nbws.io.head import transfer_codings
from nbws.messages import parse_form
from nbws.security import (
    host_allowed,
    host_problem,
    is_loopback,
    origin_allowed,
    request_token,
    split_host,
    target_problem,
    transfer_coding_status,
    websocket_handshake_problem,
)
from nbws.static import not_modified, parse_range
from tests.conftest import parse_response, run

KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def handshake(port: int, *extra: str, version: str = "1.1", drop: tuple[str, ...] = ()) -> bytes:
    fields = {"Host": f"127.0.0.1:{port}", "Upgrade": "websocket", "Connection": "Upgrade",
              "Sec-WebSocket-Key": KEY, "Sec-WebSocket-Version": "13"}
    lines = [f"{k}: {v}" for k, v in fields.items() if k not in drop] + list(extra)
    return (f"GET /ws HTTP/{version}\r\n" + "".join(f"{line}\r\n" for line in lines) + "\r\n").encode("latin-1")


async def exchange(port: int, data: bytes, eof: bool = True, timeout: float = 5.0) -> bytes:
    """Send raw bytes, half-close (unless ``eof`` is False), read until the server closes (bounded)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        if eof:
            writer.write_eof()
        return await asyncio.wait_for(reader.read(-1), timeout)
    finally:
        writer.close()


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing nbws logged says the server failed: no ERROR, no exc_info."""
    bad = [r for r in caplog.records if r.name.startswith("nbws") and (r.levelno >= logging.WARNING or r.exc_info)]
    assert not bad, [r.getMessage() for r in bad]


def app() -> dict[str, object]:
    def on_ws_open(ws: nbws.WebSocket) -> None:
        ws.on_message(ws.send)

    return {"call": lambda req: "hello", "on_ws_open": on_ws_open}


# ----------------------------------------------------------------- 1. malformed bodies


BAD_BODIES = {
    "chunk size not hex": b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    "chunked body cut short": b"Transfer-Encoding: chunked\r\n\r\n10\r\nabc",
    "LF-only line ends in a chunked body": b"Transfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n",
    "100-continue, short body, EOF": b"Expect: 100-continue\r\nContent-Length: 10\r\n\r\nabc",
    "Content-Length body cut short": b"Content-Length: 10\r\n\r\nabc",
}


@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_malformed_request_body_is_400_without_traceback(name: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="nbws")

    async def main() -> None:
        server = nbws.start_server(app={"call": lambda req: "never"})
        raw = await exchange(server.port, b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + BAD_BODIES[name])
        if raw.startswith(b"HTTP/1.1 100 "):
            raw = raw.split(b"\r\n\r\n", 1)[1]
        status, _, body = parse_response(raw)
        assert status == 400 and b"Bad Request" in body
        assert (await exchange(server.port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")).startswith(b"HTTP/1.1 200")

    run(main)
    no_tracebacks(caplog)
    debug = [r for r in caplog.records if r.name == "nbws"]
    assert len(debug) <= 1 and all(r.levelno == logging.DEBUG for r in debug)


def test_peer_gone_mid_body_is_a_quiet_close(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        server = nbws.start_server(app={"call": lambda req: "never"})
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nabc")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST
        # the server is still fine
        assert (await exchange(server.port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")).startswith(b"HTTP/1.1 200")

    run(main)
    no_tracebacks(caplog)


def test_bad_request_error_from_a_handler_is_400(caplog: pytest.LogCaptureFixture) -> None:
    def call(req: nbws.Request) -> str:
        if req.path == "/json":
            return str(req.json())
        return str(req.form().fields)

    async def main() -> None:
        server = nbws.start_server(app={"call": call})
        for head, body in [
            (b"Content-Type: multipart/form-data\r\n", b"--x\r\n\r\n"),  # no boundary
            (b"Content-Type: multipart/form-data; boundary=XyZ\r\n", b"--XyZ\r\nContent-Disposition: form-"),
        ]:
            raw = await exchange(server.port, b"POST /form HTTP/1.1\r\nHost: 127.0.0.1\r\n" + head
                                 + b"Content-Length: %d\r\n\r\n" % len(body) + body)
            status, _, text = parse_response(raw)
            assert status == 400 and b"multipart/form-data" in text, text
        raw = await exchange(server.port, b"POST /json HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\n{x}")
        status, _, text = parse_response(raw)
        assert status == 400 and b"not JSON" in text

    run(main)
    no_tracebacks(caplog)


# ----------------------------------------------------------------- 2. header values


@pytest.mark.parametrize("origin", ["http://127.0.0.1:abc", "http://127.0.0.1:99999", "http://[::1", "http://a@127.0.0.1"])
def test_malformed_origin_is_403_not_500(origin: str, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        server = nbws.start_server(app=app())
        raw = await exchange(server.port, handshake(server.port, f"Origin: {origin}"))
        assert raw.startswith(b"HTTP/1.1 403"), raw[:100]

    run(main)
    no_tracebacks(caplog)


@pytest.mark.parametrize("hosts", [["127.0.0.1:abc"], ["a b"], ["127.0.0.1:99999"], ["127.0.0.1", "127.0.0.1"]])
def test_malformed_or_repeated_host_is_400(hosts: list[str]) -> None:
    async def main() -> None:
        server = nbws.start_server(app=app())
        fields = "".join(f"Host: {h}\r\n" for h in hosts)
        raw = await exchange(server.port, f"GET / HTTP/1.1\r\n{fields}\r\n".encode())
        assert raw.startswith(b"HTTP/1.1 400") and b"Host" in raw

    run(main)


def test_bad_range_and_dates_serve_the_whole_file(tmp_path: pathlib.Path) -> None:
    root = tmp_path
    (root / "f.txt").write_text("hello world")

    async def main() -> None:
        server = nbws.start_server(app={"static_paths": {"/s": str(root)}})
        for header in ["Range: bytes=1-2-3", "Range: bytes=\xb2-", "Range: bytes=1_0-2", "Range: lines=1-2",
                       "If-Modified-Since: Mon, 99 Foo 99999 99:99:99 GMT", "If-Modified-Since: \xff",
                       "If-None-Match: \"", "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 -0000",
                       "If-Modified-Since: Sun, 06 Nov 99999999999999999999 08:49:37 GMT"]:
            raw = await exchange(server.port, f"GET /s/f.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n{header}\r\n\r\n"
                                 .encode("latin-1"))
            status, _, body = parse_response(raw)
            assert (status, body) == (200, b"hello world"), header
        raw = await exchange(server.port, b"GET /s/f.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=-3\r\n\r\n")
        assert parse_response(raw)[0::2] == (206, b"rld")

    run(main)


# ----------------------------------------------------------------- 3. HEAD


def head_answer(raw: bytes) -> tuple[int, dict[str, str]]:
    """A complete answer to HEAD: status and headers, and nothing after them."""
    assert raw, "no response at all"
    _, sep, rest = raw.partition(b"\r\n\r\n")
    assert sep and rest == b"", raw
    status, headers, _ = parse_response(raw)
    return status, headers


def test_head_rejections_get_a_response_without_body(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        server = nbws.start_server(app=app(), max_header_count=10, max_header_line=200, max_header_block=4000,
                                   max_body_size=100)
        port = server.port
        cases = {
            400: [b"HEAD /a%00b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",  # bad target
                  b"HEAD / HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n",
                  b"HEAD / HTTP/1.1\r\nHost: a b\r\n\r\n",
                  b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                  # heads h11 refuses whole (its buffer is empty by then)
                  b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n",
                  b"HEAD / HTTP/1.1\r\nHost : 127.0.0.1\r\n\r\n",
                  b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n",
                  b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"],
            501: [b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"],
            403: [b"HEAD / HTTP/1.1\r\nHost: evil.example\r\n\r\n"],  # foreign Host
            413: [b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n"],
            414: [b"HEAD /" + b"a" * 300 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"],
            431: [b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(11)) + b"\r\n",
                  b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Long: " + b"v" * 300 + b"\r\n\r\n",
                  b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"".join(b"X-%d: %s\r\n" % (i, b"v" * 150)
                                                                       for i in range(40)) + b"\r\n"],  # h11's block limit
        }
        for expected, requests in cases.items():
            for data in requests:
                status, headers = head_answer(await exchange(port, data))
                assert status == expected, data[:60]
                assert int(headers["content-length"]) > 0  # what a GET would get, without the bytes
        guarded = nbws.start_server(app=app(), token="s3cret")
        status, _ = head_answer(await exchange(guarded.port, b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
        assert status == 403  # missing token
        assert head_answer(await exchange(guarded.port, b"HEAD /?token=s3cret HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))[0] == 200

    run(main)
    no_tracebacks(caplog)


def test_head_timeouts_get_408_without_body(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        server = nbws.start_server(app=app(), handshake_timeout=0.3, body_timeout=0.3)
        partial_head = b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        assert head_answer(await exchange(server.port, partial_head, eof=False))[0] == 408
        short_body = b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n12345"
        assert head_answer(await exchange(server.port, short_body, eof=False))[0] == 408

    run(main)
    no_tracebacks(caplog)


def test_method_case_decides_head_framing_as_h11_does(caplog: pytest.LogCaptureFixture) -> None:
    """Methods are case-sensitive: 'hEAD' is not HEAD, so its answer has a body."""

    async def main() -> None:
        server = nbws.start_server(app=app())
        for method in (b"hEAD", b"HEAd"):
            raw = await exchange(server.port, method + b" / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            status, headers, body = parse_response(raw)
            assert status < 500 and len(body) == int(headers["content-length"]), raw

    run(main)
    no_tracebacks(caplog)


# ----------------------------------------------------------------- 4. requests once closed in silence


def test_connect_is_405_with_allow(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        server = nbws.start_server(app=app())
        raw = await exchange(server.port, b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n")
        status, headers, body = parse_response(raw)
        assert status == 405 and "GET" in headers["allow"] and b"CONNECT" in body

    run(main)
    no_tracebacks(caplog)


def test_refused_handshakes_are_answered(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        server = nbws.start_server(app=app())
        port = server.port
        cases = [
            (handshake(port, "Content-Length: 3") + b"abc", 400, b"body"),
            (handshake(port, "Transfer-Encoding: chunked") + b"0\r\n\r\n", 400, b"body"),
            (handshake(port, version="2.0"), 400, b"HTTP/2.0"),
            (handshake(port, version="1.0"), 400, b"HTTP/1.1"),
            (handshake(port, "Upgrade: websocket, foo bar", drop=("Upgrade",)), 426, b"Upgrade"),
            (handshake(port, "Sec-WebSocket-Key: short", drop=("Sec-WebSocket-Key",)), 400, b"Sec-WebSocket-Key"),
            (handshake(port, "Sec-WebSocket-Extensions: ;;;"), 400, b"Sec-WebSocket-Extensions"),
            (handshake(port, "Sec-WebSocket-Protocol: a b"), 400, b"Sec-WebSocket-Protocol"),
        ]
        for data, expected, words in cases:
            raw = await exchange(port, data)
            status, headers, body = parse_response(raw)
            assert status == expected and words in body, (data, raw)
            if status == 426:
                assert headers["upgrade"] == "websocket"
        raw = await exchange(port, handshake(port, "Sec-WebSocket-Version: 8", drop=("Sec-WebSocket-Version",)))
        status, headers, body = parse_response(raw)
        assert status == 426 and headers["sec-websocket-version"] == "13" and headers["upgrade"] == "websocket"
        assert b"version 13" in body

    run(main)
    no_tracebacks(caplog)


# ----------------------------------------------------------------- 5. body timeout


def test_stalled_body_gets_408_after_body_timeout(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        server = nbws.start_server(app={"call": lambda req: "never"}, body_timeout=0.5)
        for body in (b"12345", b""):
            start = time.monotonic()
            raw = await exchange(server.port, b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n" + body,
                                 eof=False)
            status, headers, text = parse_response(raw)
            assert status == 408 and headers["connection"] == "close" and b"body_timeout" in text
            assert 0.4 < time.monotonic() - start < 4

    run(main)
    no_tracebacks(caplog)


def test_body_timeout_is_between_reads_not_for_the_whole_upload() -> None:
    async def main() -> None:
        server = nbws.start_server(app={"call": lambda req: f"got {len(req.body)}"}, body_timeout=0.6)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 8\r\nConnection: close\r\n\r\n")
        start = time.monotonic()
        for _ in range(8):  # a slow upload: one byte every 0.2 s, 1.6 s in all
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.2)
        raw = await asyncio.wait_for(reader.read(-1), 5)
        writer.close()
        assert time.monotonic() - start > 0.6 * 2
        assert parse_response(raw)[0::2] == (200, b"got 8")

    run(main)


def test_body_timeout_is_a_documented_trait() -> None:
    trait = nbws.Server.class_traits()["body_timeout"]
    assert trait.default_value == 30.0 and "inactivity" in (trait.help or "")
    with pytest.raises(ValueError, match="body_timeout"):
        nbws.start_server(app=app(), body_timeout=0)


# ----------------------------------------------------------------- 6. Transfer-Encoding


@pytest.mark.parametrize(("value", "expected"), [
    ("gzip, chunked", 501),  # well-formed, a coding nbws does not decode
    ("chunked, chunked", 400),  # chunked twice: malformed
    ("chunked, gzip", 400),  # chunked not last: the length cannot be known
    ("gzip", 400),
    ("chunked;x=1", 400),
])
def test_transfer_encoding_400_or_501(value: str, expected: int, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        server = nbws.start_server(app=app())
        raw = await exchange(server.port, f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: {value}\r\n\r\n"
                             "0\r\n\r\n".encode())
        assert parse_response(raw)[0] == expected
        two_fields = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
        assert parse_response(await exchange(server.port, two_fields + b"0\r\n\r\n"))[0] == 501

    run(main)
    no_tracebacks(caplog)


def test_transfer_encoding_501_on_a_kept_alive_connection() -> None:
    async def main() -> None:
        server = nbws.start_server(app=app())
        first = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        second = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"
        raw = await exchange(server.port, first + second)
        statuses = [int(code) for code in re.findall(rb"HTTP/1\.1 (\d{3}) ", raw)]
        assert statuses == [200, 501]

    run(main)


def test_content_length_with_transfer_encoding_is_400() -> None:
    async def main() -> None:
        server = nbws.start_server(app=app())
        raw = await exchange(server.port, b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                             b"Content-Length: 5\r\n\r\n0\r\n\r\n")
        assert parse_response(raw)[0] == 400

    run(main)


# ----------------------------------------------------------------- parsers, fed anything

latin1 = st.text(st.characters(min_codepoint=0, max_codepoint=0xFF), max_size=80)
anything = st.text(max_size=80)
FAST = settings(max_examples=150, deadline=None)
# host[:port] with arbitrary (latin-1) ports, and URLs made of them: where the parsers' edge cases are
hosts = st.one_of(anything, st.builds(
    lambda h, p: f"{h}:{p}", st.sampled_from(["localhost", "127.0.0.1", "[::1]", "a_b", "", "[::1"]),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=6)))
origins = st.one_of(anything, st.builds(lambda s, h: f"{s}://{h}", st.sampled_from(["http", "https", "ws", ""]), hosts))
dates = st.one_of(latin1, st.builds(
    lambda d, y, h, z: f"Sun, {d} Nov {y} {h}:49:37 {z}", st.integers(0, 10**22), st.integers(0, 10**22),
    st.integers(0, 10**22), st.sampled_from(["GMT", "-0000", "+9999", "+99999999999999999999", "XYZ"])))


@FAST
@given(hosts, origins, st.sampled_from(["127.0.0.1", "0.0.0.0", "::1", "example.org"]), st.booleans())
def test_host_checks_take_any_text(host: str, origin: str, bound: str, token: bool) -> None:
    assert isinstance(host_allowed(host, [], bound, token), bool)
    assert isinstance(host_allowed(host, [host, "x"], bound, token), bool)
    assert isinstance(is_loopback(host), bool) and isinstance(split_host(host), str)
    problem = host_problem([host])
    assert problem is None or isinstance(problem, str)
    assert isinstance(origin_allowed(origin, host, "http", []), bool)
    assert isinstance(origin_allowed(origin, host, "https", ["*", origin[:5]]), bool)


@FAST
@given(st.from_regex(r"http://127\.0\.0\.1:[^/]*", fullmatch=True))
def test_origin_with_any_port_is_a_decision(origin: str) -> None:
    assert isinstance(origin_allowed(origin, "127.0.0.1:8000", "http", []), bool)


@FAST
@given(anything)
def test_target_check_covers_percent_decoding(target: str) -> None:
    if target_problem(target) is None and target != "*":
        unquote(target.partition("?")[0], errors="strict")  # what the request path does: never raises here


@FAST
@given(latin1, latin1, latin1)
def test_token_cookie_and_query_parsing_take_any_text(query: str, auth: str, cookie: str) -> None:
    req = nbws.Request("GET", "/", query_string=query,
                       headers=nbws.Headers([("Authorization", auth), ("Cookie", cookie), ("Cookie", query)]))
    token = request_token(req)
    assert token is None or isinstance(token, str)
    assert isinstance(req.cookies, dict) and isinstance(req.query, dict) and isinstance(req.query_all, dict)


boundaries = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=0, max_size=12)


@FAST
@given(st.one_of(latin1, boundaries.map(lambda b: f"multipart/form-data; boundary={b}"),
                 boundaries.map(lambda b: f'multipart/form-data; boundary="{b}"')),
       st.one_of(st.binary(max_size=200), boundaries.map(
           lambda b: f'--{b}\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n--{b}--\r\n'.encode())))
def test_form_parsing_raises_only_bad_request(content_type: str, body: bytes) -> None:
    try:
        form = parse_form(content_type, body)
    except nbws.BadRequestError as exc:
        assert exc.status == 400 and isinstance(exc, ValueError)
    else:
        assert isinstance(form, nbws.Form)


@FAST
@given(st.binary(max_size=100))
def test_json_raises_only_bad_request(body: bytes) -> None:
    try:
        nbws.Request("POST", "/", body=body).json()
    except nbws.BadRequestError as exc:
        assert exc.status == 400


@FAST
@given(st.one_of(latin1, st.from_regex(r"bytes=[0-9]{0,4}-[0-9]{0,4}", fullmatch=True)), st.integers(0, 5000))
def test_range_parsing_takes_any_text(value: str, size: int) -> None:
    got = parse_range(value, size)
    if isinstance(got, tuple):
        start, end = got
        assert 0 <= start <= end < size
    else:
        assert got in (None, False)


@FAST
@given(latin1, dates)
def test_conditional_headers_take_any_text(inm: str, ims: str) -> None:
    assert isinstance(not_modified(nbws.Headers([("If-None-Match", inm)]), '"e"', 1.0), bool)
    assert isinstance(not_modified(nbws.Headers([("If-Modified-Since", ims)]), '"e"', 1.0), bool)


WS_FIELDS = ["Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Extensions",
             "Sec-WebSocket-Protocol", "Content-Length", "Transfer-Encoding"]


@FAST
@given(st.sampled_from(WS_FIELDS), latin1, st.sampled_from(["1.1", "1.0", "2.0"]))
def test_handshake_check_takes_any_header_value(name: str, value: str, version: str) -> None:
    fields = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Key": KEY, "Sec-WebSocket-Version": "13"}
    fields[name] = value
    refused = websocket_handshake_problem(version, nbws.Headers(fields))
    assert refused is None or (400 <= refused.status < 500 and refused.text)


@FAST
@given(st.lists(latin1, min_size=1, max_size=3))
def test_transfer_coding_decision_takes_any_text(values: list[str]) -> None:
    assert transfer_coding_status(values) in (400, 501)


@FAST
@given(st.binary(max_size=300), st.lists(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20),
                                        max_size=3))
def test_transfer_codings_reads_any_head_and_finds_the_fields(noise: bytes, values: list[str]) -> None:
    assert all(isinstance(v, str) for v in transfer_codings(noise))  # any bytes: a list, never an error
    head = b"POST / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"Transfer-Encoding: %s\r\n" % v.encode() for v in values)
    assert transfer_codings(head + b"\r\n" + noise) == [v.strip() for v in values]


# ----------------------------------------------------------------- a live server, fed anything


@pytest.fixture
def threaded_server(tmp_path: pathlib.Path) -> Iterator[nbws.Server]:
    """A server whose handler loop runs in another thread (as a kernel's
    does), so that Hypothesis can drive it from this thread with plain sockets."""
    started: concurrent.futures.Future[tuple[nbws.Server, asyncio.AbstractEventLoop, asyncio.Event]] = (
        concurrent.futures.Future())

    async def serve() -> None:
        stop = asyncio.Event()
        server = nbws.start_server(app=nbws_app(static_dir(str(tmp_path))), handshake_timeout=2, body_timeout=2,
                                   compression=True)
        started.set_result((server, asyncio.get_running_loop(), stop))
        await stop.wait()
        server.stop()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    server, loop, stop = started.result(10)
    yield server
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)


def send(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        for _ in range(100):
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


HEADERS = ["Host", "Origin", "Cookie", "Authorization", "Range", "If-None-Match", "If-Modified-Since",
           "Content-Type", "Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Extensions",
           "Sec-WebSocket-Protocol", "Upgrade", "Connection", "Content-Length", "Transfer-Encoding", "Expect"]
value_bytes = st.binary(max_size=40).filter(lambda b: b"\r" not in b and b"\n" not in b)
path_text = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["GET", "HEAD", "POST"]), st.sampled_from(["/", "/ws", "/static/hello.txt", "/form", "/json"]),
       path_text, st.sampled_from(HEADERS), value_bytes, st.booleans())
def test_live_server_answers_any_path_and_header_below_500(
    threaded_server: nbws.Server, caplog: pytest.LogCaptureFixture, method: str, route: str, suffix: str,
    name: str, value: bytes, upgrade: bool,
) -> None:
    port = threaded_server.port
    fields = [b"Host: 127.0.0.1:%d" % port]
    if upgrade:
        fields += [b"Upgrade: websocket", b"Connection: Upgrade", b"Sec-WebSocket-Key: " + KEY.encode(),
                   b"Sec-WebSocket-Version: 13"]
    fields = [f for f in fields if not f.lower().startswith(name.lower().encode() + b":")]
    fields.append(name.encode() + b": " + value)
    request = b"%s %s%s HTTP/1.1\r\n" % (method.encode(), route.encode(), suffix.encode()) + b"\r\n".join(fields)
    raw = send(port, request + b"\r\n\r\n")
    assert raw, request  # never closed without an answer
    status = int(raw.split(b" ", 2)[1])
    assert status < 500 or (status == 501 and name == "Transfer-Encoding"), (request, raw[:200])
    no_tracebacks(caplog)


# ----------------------------------------------------------------- 7. the seeded mutation run


def _transfer_encodings(request: bytes) -> list[str]:
    head = request.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return [line.split(":", 1)[1].strip() for line in head.split("\r\n")[1:]
            if line.lower().startswith("transfer-encoding:")]


def test_mutated_requests_never_get_5xx_or_a_traceback(caplog: pytest.LogCaptureFixture, tmp_path: pathlib.Path) -> None:
    requests = list(mutated_requests(seed=10, n=1500, host="127.0.0.1"))

    async def main() -> None:
        server = nbws.start_server(app=nbws_app(static_dir(str(tmp_path))), handshake_timeout=3, body_timeout=3)
        tally = await hammer(server.port, requests, concurrency=8)
        # 501 is right only for a well-formed Transfer-Encoding naming a coding nbws does not decode
        unexpected = [(status, request) for status, request in tally.server_error_requests
                      if status != 501 or transfer_coding_status(_transfer_encodings(request)) != 501]
        assert not unexpected, unexpected
        assert tally.hangs == 0 and tally.garbled == 0
        assert sum(tally.statuses.values()) > 1400  # everything but empty requests got an answer
        assert sum(n for s, n in tally.statuses.items() if 400 <= s < 500) > 500

    run(main, timeout=120)
    no_tracebacks(caplog)


def test_empty_host_is_allowed_as_rfc_9112_says() -> None:
    assert host_problem([""]) is None and host_problem([]) is None
    assert host_problem(["localhost:8888"]) is None and host_problem(["[::1]:80"]) is None
    assert host_problem(["my_container:80"]) is None  # docker-style names
