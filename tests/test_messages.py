"""Plain values: headers, requests, responses, forms (no sockets)."""

from __future__ import annotations

import pytest

import nbws
from nbws.messages import parse_form, to_response


def test_headers_are_case_insensitive_and_keep_repeats() -> None:
    h = nbws.Headers([("Set-Cookie", "a=1"), ("set-cookie", "b=2"), ("X-One", "1")])
    assert h["SET-COOKIE"] == "b=2"
    assert h.get_all("Set-Cookie") == ["a=1", "b=2"]
    assert "x-one" in h and "x-two" not in h
    assert len(h) == 2


def test_str_response_is_utf8_text_by_default() -> None:
    r = nbws.Response(200, "héllo")
    assert r.body == "héllo".encode()
    assert r.headers["content-type"] == "text/plain; charset=utf-8"


def test_response_content_type_argument_wins() -> None:
    r = nbws.Response(200, "<h1>x</h1>", headers={"Content-Type": "text/plain"}, content_type="text/html")
    assert r.headers.get_all("content-type") == ["text/html"]


def test_dict_body_is_json() -> None:
    r = to_response({"a": [1, 2]})
    assert r.status == 200 and r.body == b'{"a": [1, 2]}'
    assert r.headers["content-type"] == "application/json"


def test_httpuv_style_dict_becomes_response() -> None:
    r = to_response({"status": 201, "headers": {"X-A": "1"}, "body": "made"})
    assert (r.status, r.body, r.headers["x-a"]) == (201, b"made", "1")


def test_bytes_body_is_octet_stream() -> None:
    r = to_response(b"\x00\x01")
    assert r.headers["content-type"] == "application/octet-stream"


def test_unknown_return_type_says_what_to_return() -> None:
    with pytest.raises(TypeError, match=r"return a nbws\.Response"):
        to_response(42)


def test_invalid_status_is_refused() -> None:
    with pytest.raises(ValueError, match="100-599"):
        nbws.Response(700)


def test_request_query_keeps_every_value() -> None:
    req = nbws.Request("GET", "/", query_string="a=1&a=2&b=&c=%20x")
    assert req.query == {"a": "2", "b": "", "c": " x"}
    assert req.query_all["a"] == ("1", "2")


def test_request_cookies_ignore_malformed_headers() -> None:
    req = nbws.Request("GET", "/", headers=nbws.Headers([("Cookie", "a=1; b=two"), ("Cookie", "\x00bad")]))
    assert req.cookies == {"a": "1", "b": "two"}


def test_urlencoded_form() -> None:
    form = parse_form("application/x-www-form-urlencoded", b"name=Ada+L&lang=py&lang=r")
    assert form["name"] == "Ada L"
    assert form.all_fields["lang"] == ("py", "r")


def test_multipart_form_with_file() -> None:
    body = (
        b"--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello\r\n"
        b"--XyZ\r\nContent-Disposition: form-data; name=\"up\"; filename=\"a.bin\"\r\n"
        b"Content-Type: application/octet-stream\r\n\r\n\x00\x01\x02\r\n--XyZ--\r\n"
    )
    form = parse_form("multipart/form-data; boundary=XyZ", body)
    assert form["title"] == "hello"
    assert form.files["up"].filename == "a.bin"
    assert form.files["up"].data == b"\x00\x01\x02"


def test_form_of_other_types_is_empty() -> None:
    assert parse_form("application/json", b"{}").fields == {}
