"""The I/O thread's request checks, as plain functions."""

from __future__ import annotations

import re

import pytest

import nbws
from nbws.security import host_allowed, is_loopback, origin_allowed, request_token, target_problem, token_matches


@pytest.mark.parametrize("host", ["localhost:8000", "127.0.0.1:1", "[::1]:80", "127.8.9.1", "app.localhost:5"])
def test_loopback_hosts_are_allowed_by_default(host: str) -> None:
    assert host_allowed(host, [], "127.0.0.1", token_required=False)


def test_rebinding_host_is_refused_by_default() -> None:
    assert not host_allowed("evil.example:8000", [], "127.0.0.1", token_required=False)


def test_any_host_allowed_when_exposed_with_token() -> None:
    assert host_allowed("myhost.lan:8000", [], "0.0.0.0", token_required=True)
    assert not host_allowed("myhost.lan:8000", [], "0.0.0.0", token_required=False)


def test_configured_hosts_replace_the_default() -> None:
    assert host_allowed("notebook.example:443", ["notebook.example"], "127.0.0.1", False)
    assert not host_allowed("localhost:1", ["notebook.example"], "127.0.0.1", False)
    assert host_allowed("x:1", ["*"], "127.0.0.1", False)


def test_empty_host_is_refused() -> None:
    assert not host_allowed("", [], "127.0.0.1", False)


def test_same_origin_is_allowed() -> None:
    assert origin_allowed("http://127.0.0.1:8000", "127.0.0.1:8000", "http", [])
    assert origin_allowed("http://localhost", "localhost", "http", [])


def test_foreign_origin_is_refused() -> None:
    assert not origin_allowed("http://evil.example", "127.0.0.1:8000", "http", [])
    assert not origin_allowed("http://127.0.0.1:9000", "127.0.0.1:8000", "http", [])


def test_null_origin_is_refused_even_with_star() -> None:
    assert not origin_allowed("null", "127.0.0.1:8000", "http", ["*"])


def test_missing_origin_is_a_non_browser_client() -> None:
    assert origin_allowed(None, "127.0.0.1:8000", "http", [])


def test_configured_origins_and_patterns() -> None:
    rules: list[str | re.Pattern[str]] = ["http://localhost:8888", re.compile(r"https://.*\.example\.org")]
    assert origin_allowed("http://localhost:8888", "127.0.0.1:1", "http", rules)
    assert origin_allowed("https://hub.example.org", "127.0.0.1:1", "http", rules)
    assert not origin_allowed("https://example.org.evil", "127.0.0.1:1", "http", rules)


@pytest.mark.parametrize(
    "target", ["/a%00b", "/a\x00", "a/b", "/%ff", "/x\x7f"],
)
def test_malformed_targets_are_reported(target: str) -> None:
    assert target_problem(target) is not None


@pytest.mark.parametrize("target", ["/", "/a/b?x=%00", "/caf%C3%A9", "*"])
def test_wellformed_targets_pass(target: str) -> None:
    assert target_problem(target) is None


def test_token_sources() -> None:
    assert request_token(nbws.Request("GET", "/", query_string="token=abc")) == "abc"
    auth = nbws.Headers([("Authorization", "token xyz")])
    assert request_token(nbws.Request("GET", "/", headers=auth)) == "xyz"
    cookie = nbws.Headers([("Cookie", "nbws_token=c1")])
    assert request_token(nbws.Request("GET", "/", headers=cookie)) == "c1"
    assert request_token(nbws.Request("GET", "/")) is None


def test_token_comparison() -> None:
    assert token_matches("s3cret", "s3cret")
    assert not token_matches("s3cre", "s3cret")
    assert not token_matches(None, "s3cret")


def test_is_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.1")
