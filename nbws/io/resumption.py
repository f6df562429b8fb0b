"""The I/O-thread half of resumable sessions: hello, heartbeats, sequence
numbers and acknowledgements on the envelope endpoint (``/_nbws/ws``).

A :class:`Gate` sits in front of each envelope connection's messages. Until
the page's first message it waits; a first message that is the helper's
hello (``{"nbws":"hello","protocol":"nbws/1",...}``) makes it a session
connection, anything else a plain one that it never looks at again (plain
clients work unchanged). Meanwhile it holds ``server.emit`` envelopes that a
session's log also took, so a page resuming that session gets each once,
numbered, in its replay. On a session connection it answers heartbeats and
records the page's acknowledgements itself, drops the page's replayed
duplicates, and acknowledges what arrived, so none of that waits for (or
reaches) the handler loop. The protocol's own messages begin with
``{"nbws":`` (:data:`CONTROL`), so an app's ``{"ack": 5}`` stays the app's. :class:`SessionTable` holds one server's sessions, replays,
expires and bounds them. The wire format is in :mod:`nbws.envelope`.

Everything here runs on the I/O thread.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from typing import TYPE_CHECKING, Any

from ..boundary import deliver, invoke, on_io_thread
from ..boundary.replay import ReplayBudget, ReplayLog
from ..session import Session

if TYPE_CHECKING:
    from ..app import AppSpec
    from ..boundary import HandlerPlane, IOThread
    from ..config import Settings
    from ..websocket import WebSocket
    from .wsconn import WsConnection

__all__ = ["Gate", "SessionTable", "PROTOCOL", "CONTROL", "REFUSED"]

log = logging.getLogger("nbws")
PROTOCOL = "nbws/1"
"""The session protocol's name in the page's hello."""
CONTROL = '{"nbws":'
"""How the session protocol's own messages begin (``{"nbws": kind, ...}``)."""
REFUSED = 1013
"""The close code (Try Again Later) of a page refused a new session at ``max_sessions``."""
_SEQ = re.compile(r'\{"seq":(\d{1,15})[,}]')
_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
ACK_EVERY = 64
"""Acknowledge at once after this many page messages (else after ACK_DELAY)."""
ACK_DELAY = 0.1
"""Seconds after a page message before the server acknowledges it."""


def _small_json(message: str, limit: int = 1024) -> dict[str, Any] | None:
    """A control message's object; None when it is not one (too long, not JSON)."""
    if len(message) > limit:
        return None
    try:
        value = json.loads(message)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**53 else None


class SessionState:
    """One session on the I/O thread: its log, the page's numbering, the
    current connection."""

    def __init__(self, session_id: str, log: ReplayLog, epoch: str) -> None:
        self.id = session_id
        self.log = log
        self.public = Session(session_id, log)
        self.epoch = epoch  # the page instance whose numbering ``rx`` follows
        self.rx = 0  # the page's messages received up to here
        self.conn: WsConnection | None = None
        self.away_since: float | None = None


class Gate:
    """The session protocol on one envelope connection. Runs on the I/O thread."""

    __slots__ = ("_ack_timer", "_wait_timer", "conn", "held", "held_bytes", "mode", "state", "table", "unacked",
                 "user")

    def __init__(self, table: SessionTable, conn: WsConnection, user: WebSocket) -> None:
        self.table = table
        self.conn = conn
        self.user = user
        self.mode = "first"  # "first" message not seen yet | "plain" | "session" | "refused"
        self.state: SessionState | None = None
        self.unacked = 0
        self.held: list[str] = []
        """``server.emit`` envelopes waiting for the first message to say what this connection is."""
        self.held_bytes = 0
        self._ack_timer: Any = None
        self._wait_timer: Any = None

    def __call__(self, message: str) -> bool:
        """Look at one received text message (under the connection's lock:
        nothing here takes another lock or writes; replies go out just
        after). True when it was consumed: a hello, heartbeat, acknowledgement
        or a duplicate."""
        if self.mode == "plain":
            return False
        if self.mode == "refused":
            return True
        if self.mode == "first":
            hello = _small_json(message) if message.startswith(CONTROL) else None
            if hello is None or hello.get("nbws") != "hello" or hello.get("protocol") != PROTOCOL:
                self.decide("plain")
                return False
            self.table.hello(self, hello)
            return True
        state = self.state
        assert state is not None
        if message.startswith('{"seq":'):
            m = _SEQ.match(message)
            if m is None:
                return False
            seq = int(m.group(1))
            if seq <= state.rx:
                return True  # a replay of a message already delivered
            state.rx = seq
            self.unacked += 1
            if self.unacked >= ACK_EVERY:
                self.table.io.loop.call_soon(self.send_ack)
            elif self._ack_timer is None:
                self._ack_timer = self.table.io.loop.call_later(ACK_DELAY, self.send_ack)
            return False
        if not message.startswith(CONTROL):
            return False
        control = _small_json(message)
        kind = control.get("nbws") if control is not None else None
        if control is None or kind not in ("hb", "ack"):
            return False
        self._note_ack(control.get("ack"))
        if kind == "hb":
            answer = {"nbws": "hb", "hb": _count(control.get("hb")), "ack": state.rx}
            self.table.io.loop.call_soon(self._reply, json.dumps(answer, separators=(",", ":")))
            self.unacked = 0
        return True

    def hold(self, envelope: str, logged: bool) -> bool:
        """``server.emit(...)`` while this connection's first message has not
        come: True when the gate takes ``envelope`` (held until the first
        message says what to do with it), False when it is to be sent now,
        unnumbered. It is held when a session's log also took it (``logged``:
        a hello resuming that session would get it twice, once here and once
        in the replay), and after something was held (order). Held
        envelopes go out unnumbered if the connection turns out plain or
        starts a new session, and are dropped if it resumes one (its replay
        has them)."""
        if self.mode == "refused" or self.mode == "session":
            return True
        if not self.held and (self.mode == "plain" or not logged):
            return False
        self.held.append(envelope)
        self.held_bytes += len(envelope)
        if self.mode == "first":
            if self.held_bytes > self.table.settings.send_buffer_size:
                self.decide("plain")  # too much to hold: a page's late hello starts over on a new socket
            elif self._wait_timer is None:
                self._wait_timer = self.table.io.loop.call_later(self.table.settings.handshake_timeout, self._waited)
        return True

    def _waited(self) -> None:
        """No first message within ``handshake_timeout`` (a client that only
        listens): an ordinary connection."""
        self._wait_timer = None
        if self.mode == "first":
            self.decide("plain")

    def decide(self, mode: str, drop_held: bool = False) -> None:
        """The first message said what this connection is (``drop_held``: a
        resumed session, whose replay has what was held). Under the
        connection's lock or not: what was held goes out just after."""
        self.mode = mode
        if self._wait_timer is not None:
            self._wait_timer.cancel()
            self._wait_timer = None
        if drop_held:
            self.held.clear()
            self.held_bytes = 0
        if self.held:
            self.table.io.loop.call_soon(self._release)

    def _release(self) -> None:
        """Send what was held, unnumbered and in order (before a new session's welcome)."""
        held, self.held, self.held_bytes = self.held, [], 0
        for envelope in held:
            self._reply(envelope)

    def _note_ack(self, value: object) -> None:
        seq = _count(value)
        state = self.state
        if seq is not None and state is not None:
            self.table.io.loop.call_soon(state.log.acknowledge, seq)  # the log's lock: not under the connection's

    def _reply(self, text: str) -> None:
        if not self.conn.lost:
            try:
                self.conn.send_message(text)
            except Exception:  # noqa: BLE001 - the 'error' policy on a full buffer: the page will ask again
                pass

    def send_ack(self) -> None:
        """Tell the page what arrived (``{"nbws":"ack","ack":n}``)."""
        if self._ack_timer is not None:
            self._ack_timer.cancel()
            self._ack_timer = None
        state = self.state
        if state is None or self.unacked == 0:
            return
        self.unacked = 0
        self._reply(f'{{"nbws":"ack","ack":{state.rx}}}')

    def refuse(self, code: int, reason: str) -> None:
        """Close this connection without a session (under the connection's
        lock: the Close goes out just after)."""
        self.decide("refused", drop_held=True)
        self.table.io.loop.call_soon(self.conn.start_close, code, reason)

    def lost(self) -> None:
        """The connection is gone."""
        for timer in (self._ack_timer, self._wait_timer):
            if timer is not None:
                timer.cancel()
        self._ack_timer = self._wait_timer = None
        self.held.clear()
        if self.state is not None:
            self.table.lost(self.state, self)


class SessionTable:
    """One server's sessions, by id. Runs on the I/O thread."""

    def __init__(self, settings: Settings, io: IOThread, plane: HandlerPlane, spec: AppSpec) -> None:
        self.settings = settings
        self.io = io
        self.plane = plane
        self.spec = spec
        self.sessions: dict[str, SessionState] = {}
        self.public: dict[str, Session] = {}
        """The live sessions as the handler loop sees them (changed only there)."""
        self.budget = ReplayBudget(settings.max_total_session_buffer)
        self._sweeper: Any = None

    def gate(self, conn: WsConnection, user: WebSocket) -> Gate:
        """A gate for a new connection to the envelope endpoint."""
        return Gate(self, conn, user)

    def hello(self, gate: Gate, hello: dict[str, Any]) -> None:
        """The page's hello: resume its session or start one. Under the
        connection's lock, so it takes no other lock (a log's, another
        connection's): the welcome, the replay, an eviction and the close of
        a replaced connection go out just after."""
        wanted = hello.get("session")
        epoch = str(hello.get("epoch"))[:64]
        acked = _count(hello.get("ack")) or 0
        state = self.sessions.get(wanted) if isinstance(wanted, str) and _ID.fullmatch(wanted) else None
        if state is not None and state.epoch != epoch and state.conn is not None and not state.conn.lost:
            # another page instance holds it (a tab the browser duplicated
            # copies sessionStorage): that one keeps it, this one gets its own
            state = None
        resumed = state is not None
        if state is None:
            state, acked = self._start(epoch), 0
            if state is None:
                gate.refuse(REFUSED, f"max_sessions={self.settings.max_sessions} reached: try again later")
                return
        elif state.epoch != epoch:  # the page reloaded: its numbering starts again
            state.epoch, state.rx = epoch, 0
        old = state.conn
        state.conn, state.away_since = gate.conn, None
        gate.state = state
        gate.decide("session", drop_held=resumed)  # before the welcome: a new session's held envelopes
        public, user = state.public, gate.user

        def attached() -> None:  # handler plane
            user.session = public
            if resumed:
                public.reconnects += 1
            public.ws = user
            if not resumed:
                self.public[public.id] = public
                for fn in list(self.spec.session_started):
                    invoke(self.plane, fn, public, on_error=_hook_failed)

        deliver(self.plane, attached)
        rx = state.rx

        def welcome(first: int) -> str:
            return json.dumps({"nbws": "welcome", "session": state.id, "resumed": resumed, "ack": rx, "from": first},
                              separators=(",", ":"))

        def replay() -> None:  # I/O thread, outside the connection's lock
            if state.conn is gate.conn and not gate.conn.lost:
                state.log.attach(gate.conn, acked, welcome)

        self.io.loop.call_soon(replay)
        if old is not None and old is not gate.conn and not old.lost:
            # the page gave up on it (a dead socket it could not close): drop it
            self.io.loop.call_soon(old.start_close, 4000, "replaced by a newer connection of this session")
        self._sweep_later()

    def _start(self, epoch: str) -> SessionState | None:
        """A new session; None when there are ``max_sessions`` and none is
        away (the page is refused: live pages keep theirs). At the bound the
        session away the longest ends to make room (its log is cleared just
        after: this runs under a connection's lock)."""
        s = self.settings
        if len(self.sessions) >= s.max_sessions:
            away = [st for st in self.sessions.values() if st.conn is None]
            if not away:
                return None
            victim = min(away, key=lambda st: st.away_since or 0.0)
            del self.sessions[victim.id]
            self.io.loop.call_soon(self._ended, victim, "max_sessions reached")
        log_ = ReplayLog(s.session_buffer_messages, s.session_buffer_bytes, s.session_buffer_age, self.budget)
        session_id = secrets.token_urlsafe(18)
        state = SessionState(session_id, log_, epoch)
        self.sessions[session_id] = state
        return state

    def lost(self, state: SessionState, gate: Gate) -> None:
        """A session's connection closed: keep the session for ``session_timeout``."""
        if state.conn is not gate.conn:
            return
        state.conn, state.away_since = None, time.monotonic()
        state.log.detach(gate.conn)
        public, user = state.public, gate.user

        def away() -> None:  # handler plane
            if public.ws is user:
                public.ws = None

        deliver(self.plane, away)
        self._sweep_later()

    def emit(self, envelope: str) -> int:
        """Number and send ``envelope`` on every session (kept for the ones
        that are away). Returns how many sessions got it."""
        for state in self.sessions.values():
            state.log.send(envelope)
        return len(self.sessions)

    def expire(self, state: SessionState, why: str) -> None:
        """End a session: forget its log, tell the handler loop."""
        if self.sessions.pop(state.id, None) is not None:
            self._ended(state, why)

    def _ended(self, state: SessionState, why: str) -> None:
        """A session left the table: forget its log, tell the handler loop."""
        state.log.clear()
        log.debug("nbws: session %s… ended: %s", state.id[:8], why)
        public = state.public

        def ended() -> None:  # handler plane
            public.expired = True
            self.public.pop(public.id, None)
            for fn in list(self.spec.session_ended):
                invoke(self.plane, fn, public, on_error=_hook_failed)

        deliver(self.plane, ended)

    def _sweep_later(self) -> None:
        if self._sweeper is None and self.sessions:
            period = max(0.05, min(5.0, self.settings.session_timeout / 4, self.settings.session_buffer_age / 4))
            self._sweeper = self.io.loop.call_later(period, self.sweep)

    @on_io_thread
    def sweep(self) -> None:
        """Trim logs past their age; expire sessions away past ``session_timeout``."""
        self._sweeper = None
        now = time.monotonic()
        timeout = self.settings.session_timeout
        for state in list(self.sessions.values()):
            if state.conn is None and state.away_since is not None and now - state.away_since >= timeout:
                self.expire(state, f"away for more than session_timeout={timeout:g} s")
            else:
                state.log.trim(now)
        self._sweep_later()

    def stop(self) -> None:
        """The server stops: acknowledge what the pages sent (so they do not
        send it again elsewhere), then end every session."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for state in list(self.sessions.values()):
            self.expire(state, "server stopping")


def _hook_failed(exc: BaseException) -> None:
    log.error("nbws: a session hook raised", exc_info=exc)
