"""The JSON envelope spoken by ``nbws.js`` (and any other client):

    {"topic": "price", "data": ...}              a topic message, either direction
    {"call": "fit", "id": 7, "data": ...}        a request to the handler "fit"
    {"reply": 7, "data": ...}                    its result
    {"reply": 7, "error": "ValueError: ..."}     or its error

A page that opens a resumable session (:mod:`nbws.session`) speaks a few
more messages on the same connection, and each envelope above then carries
``"seq"`` as its first member (``{"seq": 5, "topic": ...}``). They begin
with ``{"nbws":``, a member name reserved for them (an app's own
``{"ack": 5}`` stays the app's message)::

    {"nbws": "hello", "protocol": "nbws/1", "session": id | null, "epoch": e, "ack": n}   page → server, first
    {"nbws": "welcome", "session": id, "resumed": bool, "ack": n, "from": n}           server → page
    {"nbws": "ack", "ack": n}          either direction: every message up to n arrived
    {"nbws": "hb", "hb": k, "ack": n}  a heartbeat (page → server) and its answer

The I/O thread handles those (:mod:`nbws.io.resumption`); :func:`decode` and the
handlers never see them, and ignore ``"seq"``. A connection whose first
message is not the hello is an ordinary one.

Encoding and decoding are plain functions; :func:`dispatch` runs on the
handler loop and calls the app's ``@app.on`` / ``@app.rpc`` handlers
(through :func:`nbws.boundary.invoke`, like every handler).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .boundary import invoke

if TYPE_CHECKING:
    from .websocket import Message, WebSocket

__all__ = ["encode_topic", "encode_reply", "encode_error", "decode", "Topic", "Call", "dispatch"]

log = logging.getLogger("nbws")


def encode_topic(topic: str, data: Any) -> str:
    """A topic message."""
    return _dumps({"topic": topic, "data": data})


def encode_reply(call_id: int, data: Any) -> str:
    """The result of a call (raises TypeError when ``data`` is not JSON-serialisable)."""
    return _dumps({"reply": call_id, "data": data})


def encode_error(call_id: int, error: str) -> str:
    """The error of a call."""
    return _dumps({"reply": call_id, "error": error})


def _dumps(envelope: dict[str, Any]) -> str:
    """Compact, strict JSON that a browser's ``JSON.parse`` accepts: NaN and
    ±Infinity become null, as ``JSON.stringify`` writes them (Python's json
    would write ``NaN``, which makes the page see plain text, not a topic)."""
    try:
        return json.dumps(envelope, separators=(",", ":"), allow_nan=False)
    except ValueError as exc:
        if "Out of range float" not in str(exc):
            raise
    return json.dumps(_finite(envelope), separators=(",", ":"), allow_nan=False)


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


@dataclass(frozen=True)
class Topic:
    """A decoded topic message."""

    topic: str
    data: Any


@dataclass(frozen=True)
class Call:
    """A decoded call."""

    name: str
    id: int
    data: Any


def decode(text: str) -> Topic | Call | None:
    """Decode a text frame; None when it is not an envelope."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("topic"), str):
        return Topic(value["topic"], value.get("data"))
    if isinstance(value.get("call"), str) and isinstance(value.get("id"), int):
        return Call(value["call"], value["id"], value.get("data"))
    return None


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def dispatch(
    ws: WebSocket,
    message: Message,
    topics: Mapping[str, Callable[..., Any]],
    rpcs: Mapping[str, Callable[..., Any]],
) -> None:
    """Route one message to a topic handler ``fn(ws, data)`` or an RPC
    ``fn(data)``; plain text goes to the ``"message"`` topic and binary frames
    to ``"binary"``. Runs on the handler loop."""
    if isinstance(message, bytes):
        handler = topics.get("binary")
        if handler is not None:
            ws._run_callback(handler, ws, message)
        return
    decoded = decode(message)
    if isinstance(decoded, Topic):
        handler = topics.get(decoded.topic)
        if handler is None:
            log.warning("nbws: no handler for topic %r (register one with @app.on(%r))", decoded.topic, decoded.topic)
            return
        ws._run_callback(handler, ws, decoded.data)
    elif isinstance(decoded, Call):
        _call(ws, decoded, rpcs)
    else:
        handler = topics.get("message")
        if handler is not None:
            ws._run_callback(handler, ws, message)


def _call(ws: WebSocket, call: Call, rpcs: Mapping[str, Callable[..., Any]]) -> None:
    fn = rpcs.get(call.name)
    if fn is None:
        _send(ws, encode_error(call.id, f"LookupError: no rpc named {call.name!r}"))
        return

    def reply(value: Any) -> None:
        try:
            text = encode_reply(call.id, value)
        except (TypeError, ValueError) as exc:
            text = encode_error(call.id, _describe(exc))
        _send(ws, text)

    def failed(exc: BaseException) -> None:
        if isinstance(exc, asyncio.CancelledError):
            exc = RuntimeError("cancelled")
        log.info("nbws: rpc %r raised %s", call.name, _describe(exc))
        _send(ws, encode_error(call.id, _describe(exc)))

    invoke(ws._plane, fn, call.data, on_result=reply, on_error=failed)


def _send(ws: WebSocket, text: str) -> None:
    """Send a reply: on the page's session when it has one (the reply then
    reaches it after a reconnect too), else on the socket if still open."""
    if ws.session is not None:
        ws.session.send(text)
    elif not ws.closed:
        ws.send(text)
