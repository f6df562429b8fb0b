"""The I/O plane's route table, asked with plain Request values (no sockets)."""

from __future__ import annotations

import pathlib

from nbws.io.routes import FileResponse, Routes
from nbws.messages import Headers, Request, Response
from nbws.static import StaticRoutes


def request(path: str, method: str = "GET", headers: dict[str, str] | None = None) -> Request:
    return Request(method=method, path=path, query_string="", headers=Headers(list((headers or {}).items())),
                   raw_path=path)


def routes_with(tmp_path: pathlib.Path) -> Routes:
    (tmp_path / "a.txt").write_text("hello")
    return Routes(StaticRoutes({"/files": str(tmp_path)}))


def test_a_registered_page_is_answered_from_memory(tmp_path: pathlib.Path) -> None:
    routes = Routes(StaticRoutes({}))
    routes.pages["/live/p/"] = (b"<p>plot</p>", "text/html")
    answer = routes.answer(request("/live/p/"))
    assert isinstance(answer, Response) and answer.status == 200 and answer.body == b"<p>plot</p>"


def test_the_browser_helper_is_an_asset_with_a_validator() -> None:
    routes = Routes(StaticRoutes({}))
    answer = routes.answer(request("/_nbws/nbws.js"))
    assert isinstance(answer, Response) and answer.status == 200
    etag = answer.headers["etag"]
    again = routes.answer(request("/_nbws/nbws.js", headers={"If-None-Match": etag}))
    assert isinstance(again, Response) and again.status == 304


def test_a_static_file_is_a_file_region(tmp_path: pathlib.Path) -> None:
    answer = routes_with(tmp_path).answer(request("/files/a.txt"))
    assert isinstance(answer, FileResponse)
    assert (answer.status, answer.start, answer.length) == (200, 0, 5)
    assert answer.path == str((tmp_path / "a.txt").resolve())


def test_a_byte_range_is_a_206_region(tmp_path: pathlib.Path) -> None:
    answer = routes_with(tmp_path).answer(request("/files/a.txt", headers={"Range": "bytes=1-2"}))
    assert isinstance(answer, FileResponse)
    assert (answer.status, answer.start, answer.length) == (206, 1, 2)
    assert ("Content-Range", "bytes 1-2/5") in answer.headers


def test_a_path_outside_the_root_is_forbidden(tmp_path: pathlib.Path) -> None:
    answer = routes_with(tmp_path).answer(request("/files/../secret"))
    assert isinstance(answer, Response) and answer.status == 403


def test_other_paths_and_methods_are_left_to_the_app(tmp_path: pathlib.Path) -> None:
    routes = routes_with(tmp_path)
    assert routes.answer(request("/api/items")) is None
    assert routes.answer(request("/files/a.txt", method="POST")) is None
