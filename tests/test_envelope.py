"""The JSON envelope (topic, call, reply) as plain functions: no sockets.

``decode`` parses what any peer sends, so it is fed arbitrary text too.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbws.envelope import Call, Topic, decode, encode_error, encode_reply, encode_topic

# JSON values as a browser's JSON.stringify produces them (finite numbers only)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=20,
)


def strict_loads(text: str) -> Any:
    """Parse as a browser's JSON.parse does: NaN and Infinity are not JSON."""

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


@given(topic=st.text(), data=json_values)
def test_a_topic_message_round_trips(topic: str, data: Any) -> None:
    text = encode_topic(topic, data)
    assert strict_loads(text) == {"topic": topic, "data": data}
    assert decode(text) == Topic(topic, data)


@given(name=st.text(), call_id=st.integers(0, 2**53), data=json_values)
def test_a_call_decodes_to_name_id_and_data(name: str, call_id: int, data: Any) -> None:
    assert decode(json.dumps({"call": name, "id": call_id, "data": data})) == Call(name, call_id, data)


def test_missing_data_decodes_as_none() -> None:
    assert decode('{"topic": "ping"}') == Topic("ping", None)
    assert decode('{"call": "now", "id": 1}') == Call("now", 1, None)


@given(call_id=st.integers(0, 2**53), data=json_values)
def test_replies_and_errors_are_compact_strict_json(call_id: int, data: Any) -> None:
    reply = encode_reply(call_id, data)
    assert strict_loads(reply) == {"reply": call_id, "data": data}
    assert strict_loads(encode_error(call_id, "ValueError: no")) == {"reply": call_id, "error": "ValueError: no"}
    assert ", " not in encode_reply(1, [1, 2]) and ": " not in encode_reply(1, {"a": 1})


def test_a_reply_that_is_not_json_raises_type_error() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        encode_reply(3, object())


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_travel_as_null_like_json_stringify(value: float) -> None:
    # Python's json writes NaN/Infinity, which a browser's JSON.parse refuses:
    # the page would see a plain text message and an RPC would never settle
    assert strict_loads(encode_topic("loss", {"y": [1.0, value]})) == {"topic": "loss", "data": {"y": [1.0, None]}}
    assert strict_loads(encode_reply(4, value)) == {"reply": 4, "data": None}


@pytest.mark.parametrize("text", [
    "", "not json", "{", "[1, 2]", '"a string"', "42", "null", "true",
    "{}", '{"data": 1}', '{"topic": 7, "data": 1}', '{"topic": null}',
    '{"call": "fit"}', '{"call": "fit", "id": "7"}', '{"call": "fit", "id": 1.5}', '{"call": 3, "id": 1}',
    '{"reply": 1, "data": 2}',
])
def test_text_that_is_not_an_envelope_decodes_as_none(text: str) -> None:
    assert decode(text) is None


@settings(max_examples=300)
@given(st.text())
def test_decode_never_raises_on_any_text(text: str) -> None:
    assert decode(text) is None or isinstance(decode(text), (Topic, Call))


@settings(max_examples=300)
@given(json_values)
def test_decode_of_any_json_value_follows_the_documented_rules(value: Any) -> None:
    decoded = decode(json.dumps(value))
    if isinstance(value, dict) and isinstance(value.get("topic"), str):
        assert decoded == Topic(value["topic"], value.get("data"))
    elif isinstance(value, dict) and isinstance(value.get("call"), str) and isinstance(value.get("id"), int):
        assert decoded == Call(value["call"], value["id"], value.get("data"))
    else:
        assert decoded is None
