"""Static paths, served by the I/O thread: httpuv's options, HTTP caching and
ranges, and containment (a test per escape variant)."""

from __future__ import annotations

import asyncio
import os
import pathlib
import subprocess
import sys
import threading
import time

import pytest

import nbws
from tests.conftest import http_request, raw_http, run


@pytest.fixture
def site(tmp_path: pathlib.Path) -> pathlib.Path:
    root = tmp_path / "site"
    (root / "sub").mkdir(parents=True)
    (root / "index.html").write_text("<h1>home</h1>")
    (root / "app.js").write_text("export const x = 1;")
    (root / "data.bin").write_bytes(bytes(range(256)) * 4)
    (root / "sub" / "index.html").write_text("<p>sub</p>")
    (root / "sub" / "note.txt").write_text("note")
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    return root


def serve(app: dict[str, object], **traits: object) -> nbws.Server:
    return nbws.start_server(app=app, **traits)


def test_files_have_type_validators_and_cache_control(site: pathlib.Path) -> None:
    async def main() -> None:
        server = serve({"static_paths": {"/": str(site)}})
        status, headers, body = await http_request(server.port, path="/app.js")
        assert (status, body) == (200, b"export const x = 1;")
        assert headers["content-type"] == "text/javascript; charset=utf-8"
        assert headers["etag"].startswith('"') and "last-modified" in headers
        assert headers["cache-control"] == "no-cache" and headers["accept-ranges"] == "bytes"
        status, headers, body = await http_request(server.port, path="/")
        assert (status, body, headers["content-type"]) == (200, b"<h1>home</h1>", "text/html; charset=utf-8")

    run(main)


def test_conditional_requests_get_304(site: pathlib.Path) -> None:
    async def main() -> None:
        server = serve({"static_paths": {"/": str(site)}})
        _, headers, _ = await http_request(server.port, path="/data.bin")
        status, _, body = await http_request(server.port, path="/data.bin", headers={"If-None-Match": headers["etag"]})
        assert (status, body) == (304, b"")
        status, _, _ = await http_request(server.port, path="/data.bin",
                                          headers={"If-Modified-Since": headers["last-modified"]})
        assert status == 304
        status, _, _ = await http_request(server.port, path="/data.bin", headers={"If-None-Match": '"other"'})
        assert status == 200

    run(main)


def test_head_sends_headers_only(site: pathlib.Path) -> None:
    async def main() -> None:
        server = serve({"static_paths": {"/": str(site)}})
        status, headers, body = await http_request(server.port, "HEAD", "/data.bin")
        assert (status, headers["content-length"], body) == (200, "1024", b"")

    run(main)


def test_range_requests(site: pathlib.Path) -> None:
    data = (site / "data.bin").read_bytes()

    async def main() -> None:
        server = serve({"static_paths": {"/": str(site)}})
        status, headers, body = await http_request(server.port, path="/data.bin", headers={"Range": "bytes=10-19"})
        assert (status, body, headers["content-range"]) == (206, data[10:20], "bytes 10-19/1024")
        status, _, body = await http_request(server.port, path="/data.bin", headers={"Range": "bytes=-4"})
        assert (status, body) == (206, data[-4:])
        status, _, body = await http_request(server.port, path="/data.bin", headers={"Range": "bytes=1000-"})
        assert (status, body) == (206, data[1000:])
        status, headers, _ = await http_request(server.port, path="/data.bin", headers={"Range": "bytes=5000-"})
        assert (status, headers["content-range"]) == (416, "bytes */1024")

    run(main)


def test_directory_without_slash_redirects_and_index_html(site: pathlib.Path) -> None:
    async def main() -> None:
        server = serve({"static_paths": {"/files": str(site), "/plain": nbws.static_path(site, indexhtml=False)}})
        status, headers, _ = await http_request(server.port, path="/files/sub?x=1")
        assert (status, headers["location"]) == (301, "/files/sub/?x=1")
        assert (await http_request(server.port, path="/files"))[1]["location"] == "/files/"
        assert (await http_request(server.port, path="/files/sub/"))[2] == b"<p>sub</p>"
        assert (await http_request(server.port, path="/plain/sub/"))[0] == 404
        assert (await http_request(server.port, path="/plain/sub/note.txt"))[2] == b"note"

    run(main)


def test_fallthrough_sends_missing_files_to_the_app(site: pathlib.Path) -> None:
    async def main() -> None:
        app = {"call": lambda req: "from the app " + req.path,
               "static_paths": {"/a": str(site), "/b": nbws.static_path(site, fallthrough=True)}}
        server = serve(app)
        assert (await http_request(server.port, path="/a/nope.txt"))[0] == 404
        assert (await http_request(server.port, path="/b/nope.txt"))[2] == b"from the app /b/nope.txt"
        assert (await http_request(server.port, path="/elsewhere"))[2] == b"from the app /elsewhere"

    run(main)


def test_app_wide_options_are_inherited(site: pathlib.Path) -> None:
    async def main() -> None:
        app = {"static_paths": {"/a": str(site), "/b": nbws.static_path(site, html_charset="latin-1")},
               "static_path_options": nbws.static_path_options(html_charset="", headers={"X-Site": "1"},
                                                               cache_control="max-age=60")}
        server = serve(app)
        _, headers, _ = await http_request(server.port, path="/a/index.html")
        assert headers["content-type"] == "text/html" and headers["x-site"] == "1"
        assert headers["cache-control"] == "max-age=60"
        _, headers, _ = await http_request(server.port, path="/b/index.html")
        assert headers["content-type"] == "text/html; charset=latin-1"

    run(main)


def test_validation_header_is_required(site: pathlib.Path) -> None:
    async def main() -> None:
        server = serve({"static_paths": {"/": nbws.static_path(site, validation='"X-Key" == "s3"')}})
        assert (await http_request(server.port, path="/app.js"))[0] == 403
        assert (await http_request(server.port, path="/app.js", headers={"X-Key": "s3"}))[0] == 200

    run(main)


def test_excluded_prefix_goes_to_the_app(site: pathlib.Path) -> None:
    async def main() -> None:
        app = {"call": lambda req: "dynamic", "static_paths": {"/": str(site), "/sub": nbws.exclude_static_path()}}
        server = serve(app)
        assert (await http_request(server.port, path="/sub/note.txt"))[2] == b"dynamic"
        assert (await http_request(server.port, path="/app.js"))[0] == 200

    run(main)


@pytest.mark.parametrize("target", [
    "/files/../secret.txt",            # plain dot-dot
    "/files/%2e%2e/secret.txt",        # percent-encoded dots
    "/files/%252e%252e/secret.txt",    # double-encoded dots
    "/files/..%2fsecret.txt",          # encoded slash
    "/files/..%5csecret.txt",          # backslash
    "/files/sub/..%5c..%5csecret.txt",
    "/files//etc/passwd",              # absolute path
    "/files/%2fetc%2fpasswd",
])
def test_paths_outside_the_root_are_never_served(site: pathlib.Path, target: str) -> None:
    async def main() -> None:
        server = serve({"static_paths": {"/files": str(site)}})
        raw = await raw_http(server.port, f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        status = int(raw.split()[1])
        # a 200 here would mean a file outside the root was served
        assert status in (400, 403, 404), raw[:200]
        assert b"TOP SECRET" not in raw and b"root:" not in raw

    run(main)


def test_nul_byte_in_static_path_is_400(site: pathlib.Path) -> None:
    async def main() -> None:
        server = serve({"static_paths": {"/files": str(site)}})
        raw = await raw_http(server.port, b"GET /files/app.js%00.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert raw.startswith(b"HTTP/1.1 400")

    run(main)


def test_symlinks_outside_are_refused_unless_allowed(site: pathlib.Path) -> None:
    (site / "escape.txt").symlink_to(site.parent / "secret.txt")
    (site / "inside.txt").symlink_to(site / "sub" / "note.txt")
    (site / "outdir").symlink_to(site.parent, target_is_directory=True)

    async def main() -> None:
        server = serve({"static_paths": {"/": str(site), "/open": nbws.static_path(site, symlinks_outside=True)}})
        status, _, body = await http_request(server.port, path="/escape.txt")
        assert status == 403 and b"SECRET" not in body
        assert (await http_request(server.port, path="/outdir/secret.txt"))[0] == 403
        assert (await http_request(server.port, path="/inside.txt"))[2] == b"note"
        assert (await http_request(server.port, path="/open/escape.txt"))[2] == b"TOP SECRET"

    run(main)


def test_static_file_is_reread_when_it_changes(tmp_path: pathlib.Path) -> None:
    page = tmp_path / "page.html"
    page.write_text("v1")

    async def main() -> None:
        server = serve({"static_paths": {"/page": nbws.static_file(page), "/hello": nbws.static_text("<b>hi</b>")}})
        assert (await http_request(server.port, path="/page"))[2] == b"v1"
        page.write_text("version two")
        os.utime(page, (time.time() + 5, time.time() + 5))
        assert (await http_request(server.port, path="/page"))[2] == b"version two"
        status, headers, body = await http_request(server.port, path="/hello")
        assert (status, body, headers["content-type"]) == (200, b"<b>hi</b>", "text/html; charset=utf-8")
        assert (await http_request(server.port, path="/hello", headers={"If-None-Match": headers["etag"]}))[0] == 304
        assert (await http_request(server.port, path="/hello/x"))[0] == 404

    run(main)


def test_missing_static_directory_is_a_clear_error(tmp_path: pathlib.Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        serve({"static_paths": {"/x": str(tmp_path / "nope")}})


def test_files_flow_while_the_handler_thread_is_blocked(site: pathlib.Path) -> None:
    (site / "big.bin").write_bytes(os.urandom(1024 * 1024))
    server = serve({"call": lambda req: "app", "static_paths": {"/": str(site)}})
    got: list[tuple[int, float]] = []

    def download() -> None:
        start = time.monotonic()
        status, _, body = asyncio.run(http_request(server.port, path="/big.bin"))
        got.append((len(body) if status == 200 else -1, time.monotonic() - start))

    worker = threading.Thread(target=download)
    worker.start()
    worker.join(timeout=20)  # this (handler) thread is blocked meanwhile: nothing here services handlers
    assert got and got[0][0] == 1024 * 1024 and got[0][1] < 1.0, got


LARGE_FILE_SERVER = """
import sys, nbws, asyncio
async def main():
    server = nbws.start_server(app={"static_paths": {"/": sys.argv[1]}})
    print(server.port, flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


@pytest.mark.slow
def test_a_200_mib_file_is_streamed_not_loaded(tmp_path: pathlib.Path) -> None:
    big = tmp_path / "huge.bin"
    with open(big, "wb") as f:
        f.truncate(200 * 1024 * 1024)  # sparse: costs no disk
    proc = subprocess.Popen([sys.executable, "-c", LARGE_FILE_SERVER, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=os.getcwd()))
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())

        def peak_rss_kib() -> int:
            with open(f"/proc/{proc.pid}/status") as status:
                return next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))

        before = peak_rss_kib()

        async def download() -> int:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /huge.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            total = 0
            while chunk := await reader.read(1 << 20):
                total += len(chunk)
            writer.close()
            return total

        total = asyncio.run(asyncio.wait_for(download(), 120))
        assert total > 200 * 1024 * 1024
        grew_mib = (peak_rss_kib() - before) / 1024
        assert grew_mib < 32, f"server peak memory grew by {grew_mib:.0f} MiB"
    finally:
        proc.kill()
        proc.wait()
