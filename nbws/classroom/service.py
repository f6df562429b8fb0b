"""The classroom's sockets on the I/O thread: students and instructor views.

Students speak the JSON envelope (``{"topic", "data"}``) at ``/_room/ws``;
the instructor's views (the notebook panel, poll charts, the projector) at
``/_room/view`` after a ``hello`` with the instructor key (the projector's
key: public results only). Every message is
handled here, on the I/O thread, so joining and answering are recorded at
once while the instructor's cell is busy; views are refreshed at most
``1 / REFRESH`` times a second, and each student only gets a view when what
they see changed.

Wire protocol (students):

    → {"topic": "join", "data": {"name": "Ada"}}                      a new student
    → {"topic": "join", "data": {"student": ID, "key": KEY}}          the same student again
    ← {"topic": "welcome", "data": {"student": ID, "key": KEY, "name": "Ada"}}
    ← {"topic": "shown", "data": {"id", "kind", ...} | null}           what is shown, sent when it changes
    ← {"topic": "view", "data": {"you": {...}, "activity": {...} | null, "shown": ID | null}}
    → {"topic": "answer", "data": {"activity": ID, "value": ..., "id": ANSWER_ID, "round": N}}
    ← {"topic": "ack", "data": {"id": ANSWER_ID}}                    recorded (once, even if resent)
    → {"topic": "hand", "data": {"raised": true}}
    ← {"topic": "refused", "data": {"reason": "...", "id": ANSWER_ID | null}}
    ← {"topic": "ended", "data": {}}                                   the class is over (room.close())
    → {"hb": 7}   ← {"hb": 7}                                        a heartbeat, answered at once

Close codes: 1008 for a message that is not JSON of this protocol, a second
join on one socket, no join within ``join_timeout``, too many sockets, or
more messages or heartbeats than the rate limits allow; 1009 for a message
or answer over its size limit; 1003 for binary frames.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..boundary import on_io_thread
from ..envelope import encode_topic
from .join import qr_svg
from .model import Activity, Answer, Refusal, Room, Student
from .wire import dumps, offer, own_part, parse, splice, summary

if TYPE_CHECKING:
    from ..io.wsconn import WsConnection

__all__ = ["RoomService", "REFRESH", "SHARED_EVERY"]

log = logging.getLogger("nbws")
MAX_JOIN_TRIES = 10
"""Messages a socket may send before it has joined; past it, close 1008."""
REFRESH = 0.05
"""Seconds between view refreshes (at most), so a burst of answers costs one."""
VIEW_RATE, VIEW_BURST = 2.0, 20.0
"""Messages an instructor view or projector may send per second, and at once (heartbeats included)."""
BEAT_RATE, BEAT_BURST = 1.0, 5.0
"""Heartbeats a socket may send per second, and at once (the page sends one every 5 s)."""
RETRY = 0.5
"""Seconds before a view dropped by a full send buffer (``send_buffer_policy``) is offered again."""
SHARED_EVERY = 1.0
"""Seconds between the class-wide refreshes that new answers to a shared question cause (at most)."""


class RoomService:
    """Owns a :class:`Room` on the I/O thread and its sockets.

    ``on_answer(answer)`` is called on the I/O thread for each new answer (the
    Classroom hands it to the handler plane)."""

    def __init__(self, room: Room, instructor_key: str, loop: Any,
                 on_answer: Callable[[Answer], None] | None = None, join_timeout: float = 10.0,
                 max_sockets_per_student: int = 4, max_unjoined_per_address: int = 512,
                 join_rate: float = 20.0, join_burst: int = 600, projector_key: str | None = None) -> None:
        self.room = room
        self._students_listener = _Listener(self.handle_student, self.student_lost)
        self._views_listener = _Listener(self.handle_view, self.view_lost)
        self.projector_key = projector_key or secrets.token_urlsafe(24)
        self.projectors: set[WsConnection] = set()  # views with the projector key: public results only
        self._view_allowance: dict[WsConnection, tuple[float, float]] = {}  # each view's rate limit
        self._beats: dict[WsConnection, tuple[float, float]] = {}  # each socket's heartbeat allowance
        self.join_rate = join_rate
        self.join_burst = join_burst
        self._new_names: dict[str, tuple[float, float]] = {}  # address -> (allowance, when): new students per address
        self.join_timeout = join_timeout
        self.max_sockets_per_student = max_sockets_per_student
        self.max_unjoined_per_address = max_unjoined_per_address
        self._waiting: dict[WsConnection, str] = {}  # sockets that have not joined (or said hello): their address
        self._unjoined: dict[str, int] = {}  # how many of those per address
        self._sockets: dict[str, list[WsConnection]] = {}  # each student's sockets, oldest first
        self.instructor_key = instructor_key
        self.loop = loop
        self.on_answer = on_answer
        self.students: dict[WsConnection, Student | None] = {}
        self._tries: dict[WsConnection, int] = {}  # join attempts of sockets that have not joined
        self.views: set[WsConnection] = set()
        self._last: dict[WsConnection, tuple[int, str]] = {}  # the view last sent: (shared part's serial, own part)
        self._shared: tuple[str, str] = ("", "")  # the shared part last serialized, and its serial
        self._shared_serial = 0
        self._shown: dict[WsConnection, str | None] = {}  # the id of the content last sent to each socket
        self._unsent: set[WsConnection] = set()  # sockets whose last view was dropped (send_buffer_policy): retried
        self._sent_version = -1
        self._sent_everyone = -1
        self._shared_at = 0.0  # when new shared answers last went to the class (time.monotonic())
        self._timer = False
        self.closed = False

    # -- sockets (I/O thread) --

    @on_io_thread
    def student_opened(self, conn: WsConnection) -> None:
        conn.listener = self._students_listener
        self.students[conn] = None
        self._wait(conn)

    @on_io_thread
    def view_opened(self, conn: WsConnection) -> None:
        conn.listener = self._views_listener
        self._wait(conn)

    def _wait(self, conn: WsConnection) -> None:
        """A new socket must join (or say hello) within ``join_timeout``
        seconds, and one address may have at most ``max_unjoined_per_address``
        such sockets: idle sockets cannot hold the class's connection slots."""
        address = conn.peer_address[0]
        if self._unjoined.get(address, 0) >= self.max_unjoined_per_address:
            conn.start_close(1008, "too many sockets waiting to join from this address")
            return
        self._waiting[conn] = address
        self._unjoined[address] = self._unjoined.get(address, 0) + 1
        self.loop.call_later(self.join_timeout, self._late, conn)

    def _late(self, conn: WsConnection) -> None:
        if conn in self._waiting:
            self._done_waiting(conn)
            conn.start_close(1008, f"join within {self.join_timeout:g} s")

    def _done_waiting(self, conn: WsConnection) -> None:
        address = self._waiting.pop(conn, None)
        if address is not None:
            left = self._unjoined[address] - 1
            if left:
                self._unjoined[address] = left
            else:
                del self._unjoined[address]

    def _send(self, conn: WsConnection, topic: str, data: Any) -> None:
        if not conn.lost:
            conn.send_message(encode_topic(topic, data))

    def handle_student(self, conn: WsConnection, message: str | bytes) -> None:
        if isinstance(message, bytes):
            conn.start_close(1003, "the classroom speaks JSON text messages")
            return
        if message.startswith('{"hb":') and len(message) <= 64:
            self._heartbeat(conn, message)
            return
        now = time.time()
        student = self.students.get(conn)
        data: dict[str, Any] = {}
        try:
            if student is not None:
                self.room.spend(student, now)
            else:
                tries = self._tries[conn] = self._tries.get(conn, 0) + 1
                if tries > MAX_JOIN_TRIES:
                    raise Refusal("too many join attempts", 1008)
            topic, data = parse(message)
            if topic == "join":
                self._join(conn, student, data, now)
            elif student is None:
                raise Refusal("join first", 1008)
            elif topic == "answer":
                self._answer(conn, student, data, now)
            elif topic == "hand":
                self.room.raise_hand(student, data.get("raised"))
            else:
                raise Refusal(f"unknown topic {topic!r}", 1008)
        except Refusal as refusal:
            if refusal.code is not None:
                conn.start_close(refusal.code, refusal.reason)  # cut to 123 UTF-8 bytes there
            else:
                answer_id = data.get("id")
                self._send(conn, "refused", {"reason": refusal.reason,
                                             "id": answer_id if isinstance(answer_id, str) else None})
        self.changed()

    def _heartbeat(self, conn: WsConnection, message: str) -> None:
        """nbws.js's heartbeat (``heartbeat: true``): answered here, so a page
        can tell a live socket from a silently dead one (phones, Wi-Fi). At
        most ``BEAT_BURST`` at once and ``BEAT_RATE`` a second (close 1008)."""
        now = time.monotonic()
        allowance, then = self._beats.get(conn, (BEAT_BURST, now))
        allowance = min(BEAT_BURST, allowance + (now - then) * BEAT_RATE)
        if allowance < 1.0:
            conn.start_close(1008, "too many heartbeats")
            return
        self._beats[conn] = (allowance - 1.0, now)
        try:
            beat = json.loads(message).get("hb")
        except (ValueError, AttributeError):
            beat = None
        if not isinstance(beat, int) or isinstance(beat, bool):
            conn.start_close(1008, "a heartbeat is {\"hb\": <integer>}")
            return
        conn.send_message(f'{{"hb":{beat}}}')

    def _join(self, conn: WsConnection, current: Student | None, data: dict[str, Any], now: float) -> None:
        if current is not None:
            raise Refusal("this socket has already joined", 1008)
        if data.get("student") is None and data.get("key") is None:
            self._spend_new_name(conn.peer_address[0], now)
        student = self.room.join(data.get("name"), data.get("student"), data.get("key"), now)
        self.students[conn] = student
        self._tries.pop(conn, None)
        self._done_waiting(conn)
        self.room.connected(student, now)
        sockets = self._sockets.setdefault(student.id, [])
        sockets.append(conn)
        if len(sockets) > self.max_sockets_per_student:  # the oldest is most likely a dead page
            sockets.pop(0).start_close(1008, f"at most {self.max_sockets_per_student} pages per student")
        self._send(conn, "welcome", {"student": student.id, "key": student.key, "name": student.name})
        self._last.pop(conn, None)  # its first view (and what is shown) go out at the next refresh
        self._shown.pop(conn, None)

    def _spend_new_name(self, address: str, now: float) -> None:
        """A token bucket per address for new students (``join_rate`` a
        second, ``join_burst`` at once): one client cannot fill the room."""
        if len(self._new_names) > 10_000:  # forget the addresses whose bucket is full again
            self._new_names = {a: (allowance, then) for a, (allowance, then) in self._new_names.items()
                               if allowance + (now - then) * self.join_rate < self.join_burst}
        allowance, then = self._new_names.get(address, (float(self.join_burst), now))
        allowance = min(float(self.join_burst), allowance + (now - then) * self.join_rate)
        if allowance < 1.0:
            self._new_names[address] = (allowance, now)
            raise Refusal("too many new students from this address: try again in a moment")
        self._new_names[address] = (allowance - 1.0, now)

    def _answer(self, conn: WsConnection, student: Student, data: dict[str, Any], now: float) -> None:
        answer_id = data.get("id")
        new = self.room.answer(student, data.get("activity"), data.get("value"), answer_id, now, data.get("round"))
        self._send(conn, "ack", {"id": answer_id})
        if new and self.on_answer is not None:
            activity = self.room.activities[data["activity"]]
            latest = activity.current()[student.id] if activity.poll else activity.attempts[-1]
            self.on_answer(latest)

    @on_io_thread
    def end(self) -> None:
        """The class is over: tell every student's page, before the server stops
        (it closes the sockets after what was sent)."""
        self.closed = True
        for conn in list(self.students):
            self._send(conn, "ended", {})

    def student_lost(self, conn: WsConnection) -> None:
        student = self.students.pop(conn, None)
        self._last.pop(conn, None)
        self._shown.pop(conn, None)
        self._beats.pop(conn, None)
        self._unsent.discard(conn)
        self._tries.pop(conn, None)
        self._done_waiting(conn)
        if student is not None:
            sockets = self._sockets.get(student.id, [])
            if conn in sockets:
                sockets.remove(conn)
            if not sockets:
                self._sockets.pop(student.id, None)
            self.room.left(student, time.time())
            self.changed()

    def handle_view(self, conn: WsConnection, message: str | bytes) -> None:
        now = time.monotonic()
        allowance, then = self._view_allowance.get(conn, (VIEW_BURST, now))
        allowance = min(VIEW_BURST, allowance + (now - then) * VIEW_RATE)
        if allowance < 1.0:
            conn.start_close(1008, "too many messages: slow down")
            return
        self._view_allowance[conn] = (allowance - 1.0, now)
        if isinstance(message, str) and message.startswith('{"hb":') and len(message) <= 64:
            self._heartbeat(conn, message)
            return
        try:
            topic, data = parse(message if isinstance(message, str) else "")
        except Refusal:
            conn.start_close(1008, "not a classroom message")
            return
        if conn in self.views or conn in self.projectors:
            url = data.get("url")
            if topic == "qr" and isinstance(url, str) and len(url) <= 2048:
                # the panel behind a proxy: only the browser knows the absolute join URL
                self._send(conn, "qr", {"url": url, "svg": qr_svg(url)})
            return
        key = data.get("key")
        if topic != "hello" or not isinstance(key, str):
            conn.start_close(1008, "say hello with a key first")
        elif secrets.compare_digest(key.encode(), self.instructor_key.encode()):
            if getattr(conn, "remote", False):  # a relay's socket: the instructor's capability stays off relays
                conn.start_close(1008, "the instructor's views open on the kernel's own server, not a relay")
                return
            self.views.add(conn)
            self._done_waiting(conn)
            self._send(conn, "room", self.instructor_view())
        elif secrets.compare_digest(key.encode(), self.projector_key.encode()):
            self.projectors.add(conn)
            self._done_waiting(conn)
            self._send(conn, "room", self.projector_view())
        else:
            conn.start_close(1008, "the instructor key is wrong")

    def view_lost(self, conn: WsConnection) -> None:
        self.views.discard(conn)
        self.projectors.discard(conn)
        self._view_allowance.pop(conn, None)
        self._beats.pop(conn, None)
        self._done_waiting(conn)

    # -- refresh --

    @on_io_thread
    def changed(self) -> None:
        """Something may have changed: refresh the views soon (coalesced)."""
        if self._timer or self.room.version == self._sent_version:
            return
        self._timer = True
        self.loop.call_later(REFRESH, self._refresh)

    def _refresh(self) -> None:
        room = self.room
        self._timer = False
        self._sent_version = room.version
        everyone = room.everyone != self._sent_everyone
        self._sent_everyone = room.everyone
        if room.shared_changed:  # new answers to a shared question: to the whole class at most every SHARED_EVERY s
            wait = self._shared_at + SHARED_EVERY - time.monotonic()
            if everyone or wait <= 0:
                everyone = True
            elif not self._timer:
                self._timer = True
                self.loop.call_later(wait, self._refresh)
        if everyone:
            room.shared_changed = False
            self._shared_at = time.monotonic()
        touched = room.take_touched()  # an unshared answer changes one student's view, not 500
        retry, self._unsent = self._unsent, set()
        shared: tuple[str, Activity | None, str] | None = None
        shown_id, shown = room.shown_id(), ""
        for conn, student in list(self.students.items()):
            if student is None or conn.lost or not (everyone or student.id in touched or conn not in self._last
                                                     or conn in retry):
                continue
            if shared is None:  # what every student sees, serialized once per refresh
                shared = self._shared_part()
                if (shared[0], shared[2]) != self._shared:
                    self._shared = (shared[0], shared[2])
                    self._shared_serial += 1
            if self._shown.get(conn, "") != shown_id:  # the content itself: once per socket and change
                shown = shown or encode_topic("shown", room.shown)
                if not offer(conn, shown):
                    self._unsent.add(conn)
                    continue
                self._shown[conn] = shown_id
            own = own_part(room, student, shared[1])
            if self._last.get(conn) != (self._shared_serial, own):  # compared without the shared part's bytes
                if offer(conn, '{"topic":"view","data":' + splice(room, student, *shared) + "}"):
                    self._last[conn] = (self._shared_serial, own)  # recorded only when sent
                else:
                    self._unsent.add(conn)
        if self._unsent and not self._timer:  # a full send buffer dropped them: try again later
            self._timer = True
            self.loop.call_later(RETRY, self._refresh)
        if self.views:
            panel = encode_topic("room", self.instructor_view())
            for conn in list(self.views):
                if not conn.lost:
                    conn.send_message(panel)
        if self.projectors:
            public = encode_topic("room", self.projector_view())
            for conn in list(self.projectors):
                if not conn.lost:
                    conn.send_message(public)

    def _shared_part(self) -> tuple[str, Activity | None, str]:
        """The JSON of what every student sees now: the shown content and the
        current activity (without the student's own answer)."""
        activity = self.room.current_activity()
        public = "null" if activity is None else dumps(activity.public(self.room.anonymous))
        return dumps(self.room.shown_id()), activity, public

    def instructor_view(self, projector: bool = False) -> dict[str, Any]:
        """What the instructor's panel and poll charts show; with ``projector``
        what the projector shows (the class sees it): results and counts,
        never a name."""
        room = self.room
        hands = [s.name for s in room.students.values() if s.hand]
        return {
            "roster": [] if projector else room.roster(),
            "connected": sum(1 for s in room.students.values() if s.connections > 0),
            "hands": [None] * len(hands) if projector else hands,
            "current": room.current,
            "activities": [summary(a, room, anonymous=True if projector else None) for a in room.activities.values()],
            "shown": None if room.shown is None else room.shown.get("kind"),
            "anonymous": True if projector else room.anonymous,
        }

    def projector_view(self) -> dict[str, Any]:
        """:meth:`instructor_view` for the projector."""
        return self.instructor_view(projector=True)


class _Listener:
    """Hands one kind of socket's messages and loss to the service (I/O thread)."""

    __slots__ = ("lost", "message")

    def __init__(self, message: Callable[[WsConnection, str | bytes], None],
                 lost: Callable[[WsConnection], None]) -> None:
        self.message = message
        self.lost = lost
