"""One page's socket on a relay: its messages to the kernel, the kernel's
to it, and the resumable session protocol spoken with ``nbws.js``.

On the envelope endpoint (``/_nbws/ws``) a page whose first message is the
helper's hello gets a session whose numbered messages are the app's emit log
(the ``seq`` of each is its id in the log, the same on every relay). So the
page can resume on any relay: it says the last number it saw (the hello's
``ack``), and the relay replays what the log still has after it, then goes
on live, each message once and in order. Past the log's bound the welcome's
``from`` tells the page how many it missed (``conn.on("resync")``, reason
``"gap"``); if the log itself was lost (Redis restarted without
persistence), the welcome says ``resumed: false`` (reason ``"unknown"``).
A log lost and grown again past the page's number is told apart by its
*epoch* (:attr:`LogSlice.epoch`): a relay's session id begins with the epoch
of the log its numbers come from (:func:`session_id`), so the page's hello
carries it back, and a page whose epoch is not the log's now starts over
(``resumed: false``) with a session id of the new epoch.

What the page sends carries its own numbering (``{"seq": n, ...}``): each
message goes to the kernel's queue with the idempotency key
``<session>:<instance>`` (the session id without its log epoch, the page
instance's own ``epoch``) and ``n``, and is acknowledged to the page once it is
in the queue (so a page whose relay dies sends the unacknowledged ones again
through the next relay, and the kernel skips the repeats). Other sockets'
messages get the relay's own key and numbering. Runs on the I/O thread.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import TYPE_CHECKING, Any

from ..boundary import on_io_thread
from ..boundary.replay import sequenced
from ..errors import BackplaneUnavailableError
from .wire import CLOSE, EMIT_LOG, SEND, Inbound, sequenced_number

if TYPE_CHECKING:
    from ..io.wsconn import WsConnection
    from .node import RelaySide

__all__ = ["RelayPage", "PROTOCOL", "CONTROL", "LOG_RESTARTED", "EPOCH_TAG", "session_id"]

PROTOCOL = "nbws/1"
CONTROL = '{"nbws":'
LOG_RESTARTED = 1012
"""Close code of session pages when the app's emit log restarted (they come back and are told)."""
READ_BATCH = 1000
EARLY_LIMIT = 256
"""Emits held for a socket whose first message has not come (past it: a plain socket)."""
_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
_HEADERS = ("origin", "user-agent", "accept-language", "cookie")
EPOCH_TAG = 12
"""Characters of the log's epoch a relay's session id begins with."""
NO_EPOCH = "0" * EPOCH_TAG
"""The tag of a session made while the relay knew no epoch (the page's number alone decides)."""


def session_id(epoch: str, rest: str | None = None) -> str:
    """A session id of the emit log's ``epoch``: its tag, then ``rest`` (default: new random). Pure."""
    tag = epoch[:EPOCH_TAG] if len(epoch) >= EPOCH_TAG else NO_EPOCH
    return tag + (rest if rest is not None else secrets.token_urlsafe(18))


def _control(message: str) -> dict[str, Any] | None:
    if len(message) > 1024 or not message.startswith(CONTROL):
        return None
    try:
        value = json.loads(message)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class RelayPage:
    """One socket on a relay (a ``Listener``). I/O thread."""

    def __init__(self, side: RelaySide, conn: WsConnection, conn_id: str, envelope: bool) -> None:
        self.side = side
        self.conn = conn
        self.id = conn_id
        self.mode = "first" if envelope else "plain"  # first | plain | replaying | live
        self.session = ""  # the log epoch's tag, then the session's own part (session_id)
        self.instance = ""  # the page instance's numbering (its hello's "epoch")
        self.last = 0  # the highest emit number sent to the page
        self.held: list[tuple[int, str]] = []  # live emits while replaying
        self.received = 0  # the page's messages: highest number taken
        self.enqueued = 0  # ... and in the kernel's queue
        self.count = 0  # messages of a socket without a session
        self._ack_soon = False
        self.gone = False
        self.early: list[str] = []  # emits before the first message said what this socket is
        self._early_timer: Any = None

    # -- Listener --

    def message(self, conn: WsConnection, message: str | bytes) -> None:
        """One message from the page."""
        if self.mode == "first":
            hello = _control(message) if isinstance(message, str) else None
            if hello is not None and hello.get("nbws") == "hello" and hello.get("protocol") == PROTOCOL:
                self._hello(hello)
                return
            self._plain()
        if self.mode != "plain" and isinstance(message, str):
            if message.startswith('{"seq":'):
                n = sequenced_number(message)
                if n is not None:
                    if n > self.received:
                        self.received = n
                        key = f"{self.session[EPOCH_TAG:]}:{self.instance}"  # the same in every log epoch
                        self.side.forward(self, self._record(message, key, n),
                                          lambda: self._enqueued(n))
                    return
            control = _control(message)
            if control is not None and control.get("nbws") in ("hb", "ack"):
                if control.get("nbws") == "hb":
                    hb = control.get("hb")
                    self._reply(json.dumps({"nbws": "hb", "hb": hb if isinstance(hb, int) else None,
                                            "ack": self.enqueued}, separators=(",", ":")))
                return
        self.count += 1
        self.side.forward(self, self._record(message, f"{self.side.node}:{self.id}", self.count), None)

    def lost(self, conn: WsConnection) -> None:
        """The page's socket is gone: the kernel hears of it."""
        if self._early_timer is not None:
            self._early_timer.cancel()
            self._early_timer = None
        if not self.gone:
            self.gone = True
            code, reason = getattr(conn, "_closed_with", None) or (1006, "")
            self.side.left(self, Inbound("close", self.side.node, self.id, code=code, reason=reason))

    # -- to the kernel --

    def opened(self) -> Inbound:
        """The record of this socket's open."""
        user = self.conn.user
        request = user.request if user is not None else None
        headers = tuple((k, v) for k, v in request.headers.items() if k.lower() in _HEADERS) if request else ()
        return Inbound("open", self.side.node, self.id, path=request.path if request else "/",
                       query=request.query_string if request else "", headers=headers, remote=self.conn.peer_address)

    def _record(self, message: str | bytes, key: str, n: int) -> Inbound:
        return Inbound("msg", self.side.node, self.id, key, n, data=message)

    def _enqueued(self, n: int) -> None:
        self.enqueued = max(self.enqueued, n)
        if not self._ack_soon:
            self._ack_soon = True
            self.side.io.loop.call_soon(self._send_ack)

    def _send_ack(self) -> None:
        self._ack_soon = False
        self._reply(f'{{"nbws":"ack","ack":{self.enqueued}}}')

    # -- from the kernel --

    def to_page(self, kind: str, data: str | bytes) -> None:
        """The kernel's message for this page, or its close."""
        if kind == SEND:
            self._reply(data)
        elif kind == CLOSE:
            text = data if isinstance(data, str) else data.decode("utf-8", "replace")
            code, _, reason = text.partition(" ")
            self.conn.start_close(int(code) if code.isdigit() else 1000, reason)

    def _reply(self, data: str | bytes) -> None:
        if not self.conn.lost:
            try:
                self.conn.send_message(data)
            except Exception:  # noqa: BLE001 - the 'error' policy on a full buffer: the page asks again
                pass

    # -- the session --

    def _hello(self, hello: dict[str, Any]) -> None:
        wanted = hello.get("session")
        ack = hello.get("ack")
        self.instance = str(hello.get("epoch"))[:64]
        if isinstance(wanted, str) and _ID.fullmatch(wanted) and isinstance(ack, int) and 0 <= ack < 2**53:
            self.session = wanted
            self.mode = "replaying"
            self.early = []  # the replay has them
            self.side.spawn(self._resume(ack))
            return
        self.session = session_id(self.side.epoch)
        self._release()  # before the welcome, unnumbered (as a server's own new session)
        self._welcome(False, self.side.offset + 1)
        self.last = self.side.offset
        self.mode = "live"

    def _welcome(self, resumed: bool, first: int) -> None:
        self._reply(json.dumps({"nbws": "welcome", "session": self.session, "resumed": resumed, "ack": 0,
                                "from": first}, separators=(",", ":")))

    async def _read(self, after: int) -> tuple[list[tuple[int, str]], bool, str]:
        """The emit log after ``after``, all of it: (entries, missed, the log's epoch)."""
        entries: list[tuple[int, str]] = []
        missed, epoch, mark = False, "", after
        async with self.side.reads:  # a relay's pages resume a few at a time (Redis's connection pool)
            while True:
                found = await self.side.bp.read(EMIT_LOG, f"0-{mark}", READ_BATCH)
                if mark == after:
                    missed, epoch = found.missed, found.epoch
                entries.extend((int(e.id.partition("-")[2] or 0), e.payload.decode("utf-8", "replace"))
                               for e in found.entries)
                if len(found.entries) < READ_BATCH:
                    return entries, missed, epoch
                mark = entries[-1][0]

    async def _resume(self, ack: int) -> None:
        """Replay the log after ``ack``, then what came live meanwhile; a page whose numbers
        belong to a log that was lost starts over with the new one (and is told)."""
        try:
            entries, missed, epoch = await self._read(ack)
            tag = self.session[:EPOCH_TAG]
            # another epoch: the log the page's numbers come from was lost, whatever its numbers now
            other = bool(epoch) and tag != NO_EPOCH and tag != epoch[:EPOCH_TAG]
            lost = ack > 0 and (other or (missed and not entries))  # (or older than the page: lost too)
            if lost:
                entries, _, epoch = await self._read(0)
        except BackplaneUnavailableError as exc:
            self.conn.start_close(1013, f"the app's log is unreachable: try again later ({exc})")
            return
        if self.conn.lost:
            return
        if epoch:
            self.session = session_id(epoch, self.session[EPOCH_TAG:])
        if lost:  # what the new log has: the page starts over with it (told: a "resync", reason "unknown")
            self._welcome(False, entries[0][0] if entries else 1)
            self.last = entries[0][0] - 1 if entries else 0
        else:
            self._welcome(True, entries[0][0] if entries else ack + 1)
            self.last = ack
        for n, text in entries:
            self._send_numbered(n, text)
        for n, text in self.held:
            self._send_numbered(n, text)
        self.held = []
        self.mode = "live"

    def _send_numbered(self, n: int, text: str) -> None:
        if n > self.last:
            self.last = n
            self._reply(text if text.startswith('{"seq":') else sequenced(n, text))

    def _waited(self) -> None:
        self._early_timer = None
        if self.mode == "first":
            self._plain()

    def _plain(self) -> None:
        """Not a session: what was held goes out unnumbered."""
        self.mode = "plain"
        self._release()

    def _release(self) -> None:
        if self._early_timer is not None:
            self._early_timer.cancel()
            self._early_timer = None
        early, self.early = self.early, []
        for text in early:
            self._reply(text)

    @on_io_thread
    def emitted(self, n: int, text: str, plain: str) -> bool:
        """A live emit (``plain``: without its number): True when the page
        takes the numbered ``text`` in the shared frame now."""
        if self.mode == "first":  # held until the first message says (a resumed session's replay has it)
            self.early.append(plain)
            if len(self.early) > EARLY_LIMIT:
                self._plain()
            elif self._early_timer is None:
                self._early_timer = self.side.io.loop.call_later(self.side.ep.settings.handshake_timeout,
                                                                 self._waited)
            return False
        if self.mode == "replaying":
            self.held.append((n, text))
            return False
        if n <= self.last:
            return False
        self.last = n
        return True
