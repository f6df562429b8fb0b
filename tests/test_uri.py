"""URI helpers with browser semantics (httpuv's encodeURI family)."""

from __future__ import annotations

import pytest

import nbws


def test_encode_uri_keeps_reserved_characters() -> None:
    assert nbws.encode_uri("http://x.org/a b?q=1&r=é#f") == "http://x.org/a%20b?q=1&r=%C3%A9#f"


def test_encode_uri_component_encodes_reserved_characters() -> None:
    assert nbws.encode_uri_component("a b/c?d=é&*'()") == "a%20b%2Fc%3Fd%3D%C3%A9%26*'()"


def test_decode_uri_refuses_to_decode_reserved_characters() -> None:
    assert nbws.decode_uri("a%20b%2Fc%3f%C3%A9%23") == "a b%2Fc%3fé%23"


def test_decode_uri_component_decodes_everything() -> None:
    assert nbws.decode_uri_component("a%20b%2Fc%3F%C3%A9") == "a b/c?é"


def test_round_trip() -> None:
    text = "päth/with spaces?&=#ünïcode☃"
    assert nbws.decode_uri_component(nbws.encode_uri_component(text)) == text
    assert nbws.decode_uri(nbws.encode_uri(text)) == text


def test_malformed_utf8_raises() -> None:
    with pytest.raises(ValueError, match="malformed"):
        nbws.decode_uri_component("%C3")
