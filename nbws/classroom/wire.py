"""The classroom's JSON on the wire: parsing a student's envelope, building
the views, offering them to a socket; run on the I/O thread by the service."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..errors import SendBufferFullError
from .model import Activity, Refusal, Room, Student

if TYPE_CHECKING:
    from ..io.wsconn import WsConnection

__all__ = ["summary", "dumps", "own_part", "splice", "parse", "offer"]


def summary(activity: Activity, room: Room, anonymous: bool | None = None) -> dict[str, Any]:
    """An activity in the instructor's or the projector's view (every round's counts for a poll)."""
    result = room.public_results(activity, anonymous)
    if activity.kind == "choice":
        result["rounds"] = [activity.counts(i) for i in range(len(activity.rounds))] if activity.poll else None
    return result


def dumps(value: Any) -> str:
    """Compact JSON."""
    return json.dumps(value, separators=(",", ":"))


def own_part(room: Room, student: Student, activity: Activity | None) -> str:
    """The student's own part of their view, as JSON: them and their answer."""
    return dumps(room.you(student)) + ("" if activity is None else dumps(activity.mine(student)))


def splice(room: Room, student: Student, shown: str, activity: Activity | None, public: str) -> str:
    """One student's view as JSON (:meth:`Room.student_view`): their own small
    part spliced into the shared part serialized once per refresh."""
    mine = "null" if activity is None else public[:-1] + ',"mine":' + dumps(activity.mine(student)) + "}"
    return '{"you":' + dumps(room.you(student)) + ',"shown":' + shown + ',"activity":' + mine + "}"


def parse(message: str) -> tuple[str, dict[str, Any]]:
    """A student's envelope: (topic, data as a dict); Refusal(1008) otherwise."""
    try:
        envelope = json.loads(message)
    except ValueError:
        raise Refusal("not JSON: the classroom speaks {\"topic\", \"data\"} envelopes", 1008) from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("topic"), str):
        raise Refusal("not a classroom message: {\"topic\": ..., \"data\": {...}} expected", 1008)
    data = envelope.get("data", {})
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise Refusal("'data' must be an object", 1008)
    return envelope["topic"], data


def offer(conn: WsConnection, message: str) -> bool:
    """Send unless the peer's send buffer is full (``send_buffer_policy``
    ``"drop"`` or ``"error"``): False when the message did not go."""
    try:
        return conn.send_message(message)
    except SendBufferFullError:
        return False
