"""Other ways in: Unix domain sockets, IPv6, TLS (https and wss)."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import os
import pathlib
import ssl
import stat

import pytest
from websockets.asyncio.client import connect, unix_connect

import nbws
from tests.conftest import echo_app, parse_response, run


def test_pipe_server_serves_http_and_websockets(tmp_path: pathlib.Path) -> None:
    path = str(tmp_path / "nbws.sock")

    async def main() -> None:
        server = nbws.start_pipe_server(path, dict(echo_app(), call=lambda req: "over a pipe"))
        assert server.path == path and nbws.list_servers() == [server]
        reader, writer = await asyncio.open_unix_connection(path)
        writer.write(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        status, _, body = parse_response(await asyncio.wait_for(reader.read(-1), 5))
        writer.close()
        assert (status, body) == (200, b"over a pipe")
        async with unix_connect(path, uri="ws://localhost/") as ws:
            await ws.send("through the socket file")
            assert await ws.recv() == "through the socket file"
        server.stop()
        assert not os.path.exists(path)

    run(main)


def test_pipe_server_mask_sets_permissions(tmp_path: pathlib.Path) -> None:
    path = str(tmp_path / "private.sock")
    nbws.start_pipe_server(path, echo_app(), mask=0o077)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o700


def test_pipe_server_replaces_a_stale_socket_file(tmp_path: pathlib.Path) -> None:
    import socket

    path = str(tmp_path / "stale.sock")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()  # the file stays, nobody listens
    server = nbws.start_pipe_server(path, echo_app())
    assert server.running


def test_ipv6_loopback() -> None:
    async def main() -> None:
        server = nbws.start_server("::1", app=dict(echo_app(), call=lambda req: "v6 " + req.remote_addr[0]))
        assert server.local_url == f"http://[::1]:{server.port}/"
        reader, writer = await asyncio.open_connection("::1", server.port)
        writer.write(f"GET / HTTP/1.1\r\nHost: [::1]:{server.port}\r\nConnection: close\r\n\r\n".encode())
        status, _, body = parse_response(await asyncio.wait_for(reader.read(-1), 5))
        writer.close()
        assert (status, body) == (200, b"v6 ::1")
        async with connect(server.ws_url) as ws:
            await ws.send("six")
            assert await ws.recv() == "six"

    run(main)


def _self_signed(tmp_path: pathlib.Path) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def test_tls_serves_https_and_wss(tmp_path: pathlib.Path) -> None:
    cert, key = _self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=cert)

    async def main() -> None:
        server = nbws.start_server(app=dict(echo_app(), call=lambda req: req.scheme), ssl=server_ctx)
        assert server.url.startswith("https://")
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port, ssl=client_ctx)
        writer.write(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nConnection: close\r\n\r\n".encode())
        status, _, body = parse_response(await asyncio.wait_for(reader.read(-1), 5))
        writer.close()
        assert (status, body) == (200, b"https")
        async with connect(server.ws_url, ssl=client_ctx) as ws:
            await ws.send(b"\x00secure")
            assert await ws.recv() == b"\x00secure"
        with pytest.raises(ssl.SSLCertVerificationError):
            await connect(server.ws_url, ssl=ssl.create_default_context())

    run(main)


def test_run_static_server_in_the_background(tmp_path: pathlib.Path) -> None:
    (tmp_path / "index.html").write_text("bg")

    async def main() -> None:
        from tests.conftest import http_request

        server = nbws.run_static_server(str(tmp_path), background=True, browse=False)
        assert server is not None
        assert (await http_request(server.port))[2] == b"bg"

    run(main)
