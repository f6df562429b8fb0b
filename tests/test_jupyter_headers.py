"""nbws.jupyter.headers: what reaches the kernel and the XSRF exception's
origin rule, as plain functions (the same rules through a real Jupyter
server are in test_jupyter_ext.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nbws.jupyter.headers import forwarded_fields, forwarded_query, same_origin

LOGIN = "username-127-0-0-1-8888"


@pytest.mark.parametrize(("origin", "host", "protocol"), [
    ("http://127.0.0.1:8888", "127.0.0.1:8888", "http"),
    ("https://hub.example.org", "hub.example.org", "https"),
    ("https://hub.example.org", "hub.example.org:443", "https"),
    ("https://Hub.Example.org:443", "hub.example.org", "https"),
    ("http://[::1]:8888", "[::1]:8888", "http"),
])
def test_same_origin_accepts_the_requests_own_origin(origin: str, host: str, protocol: str) -> None:
    assert same_origin(origin, host, protocol)


@pytest.mark.parametrize(("origin", "host", "protocol"), [
    ("http://evil.example", "127.0.0.1:8888", "http"),
    ("https://127.0.0.1:8888", "127.0.0.1:8888", "http"),  # another scheme
    ("http://hub.example.org", "hub.example.org", "https"),  # a plain-HTTP page on the same name
    ("http://127.0.0.1:8889", "127.0.0.1:8888", "http"),  # another port
    ("http://127.0.0.1", "127.0.0.1:8888", "http"),
    ("http://127.0.0.1:8888.evil.example", "127.0.0.1:8888", "http"),
    ("http://127.0.0.1:8888@evil.example", "127.0.0.1:8888", "http"),
    ("http://127.0.0.1:8888/", "127.0.0.1:8888", "http"),
    ("null", "127.0.0.1:8888", "http"),
    ("", "127.0.0.1:8888", "http"),
    ("http://127.0.0.1:8888", "", "http"),
    ("http://127.0.0.1:99999", "127.0.0.1:99999", "http"),
])
def test_same_origin_refuses_every_other_origin(origin: str, host: str, protocol: str) -> None:
    assert not same_origin(origin, host, protocol)


@given(st.text(max_size=40), st.text(max_size=40), st.sampled_from(["http", "https"]))
def test_same_origin_never_raises(origin: str, host: str, protocol: str) -> None:
    assert same_origin(origin, host, protocol) in (True, False)


def test_forwarded_query_drops_jupyters_token_and_keeps_the_rest_as_sent() -> None:
    assert forwarded_query("token=abc&x=1&_xsrf=2%7Cz&y=%20&tok%65n=q&token") == "x=1&y=%20"
    assert forwarded_query("tokens=1&my_token=2") == "tokens=1&my_token=2"
    assert forwarded_query("token=abc") == "" and forwarded_query("") == ""


def test_forwarded_fields_drop_jupyters_credentials() -> None:
    sent = [("Host", "h"), ("Authorization", "token abc"), ("Cookie", f"{LOGIN}=1; app=a; _xsrf=2"),
            ("Cookie", "jupyterhub-session-id=s; jupyterhub-user-ada=u"), ("X-XSRFToken", "2"),
            ("Referer", "http://h/p?token=abc&x=1#f"), ("Connection", "keep-alive"),
            ("X-Forwarded-Prefix", "/forged"), ("X-App", "mine")]
    assert forwarded_fields(sent, LOGIN) == [("Host", "h"), ("Cookie", "app=a"), ("Referer", "http://h/p?x=1#f"),
                                             ("X-App", "mine")]


@pytest.mark.parametrize("value", ["token abc", "Token abc", "bearer abc", "Bearer  abc"])
def test_jupyters_token_schemes_are_dropped(value: str) -> None:
    assert forwarded_fields([("authorization", value)], LOGIN) == []


@pytest.mark.parametrize("value", ["Basic YTpi", "Digest x", "tokenabc"])
def test_the_apps_own_authorization_passes(value: str) -> None:
    assert forwarded_fields([("Authorization", value)], LOGIN) == [("Authorization", value)]


def test_a_cookie_only_a_prefix_away_from_jupyters_passes() -> None:
    cookies = f"{LOGIN}x=1; x{LOGIN}=2; jupyterhub=3; _xsrfx=4"
    assert forwarded_fields([("Cookie", cookies)], LOGIN) == [("Cookie", cookies)]
