"""``nbws.Classroom``: one notebook, a room of student browsers.

The instructor's side. The room's state lives on the I/O thread
(:mod:`.service`); these methods run on the instructor's thread (the kernel's
loop) and read or change it with :meth:`IOThread.call`, which waits a few
microseconds for the I/O thread. ``@poll.on_answer`` callbacks run on the
handler plane like every handler.
"""

from __future__ import annotations

import csv
import html
import json
import secrets
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ..app import App
from ..boundary import deliver, invoke
from ..errors import ClassroomClosedError
from ..live import FigureStream, LivePlot
from ..reach import frame_html, link_html
from ..server import Server, start_server
from .content import render
from .join import join_host, join_url, qr_svg
from .model import Activity, Answer, Room
from .pages import student_page, view_page
from .service import RoomService
from .tables import Table, table

__all__ = ["Classroom", "Poll", "Question"]

T = TypeVar("T")
CSV_COLUMNS = ["activity", "prompt", "kind", "name", "student", "answer", "time", "round", "attempt"]
"""The columns of a session saved as CSV (:meth:`Classroom.save`)."""


class Classroom:
    """A class session served from this kernel (see the README's "Classroom").

    Args:
        name: the class's name (the page title, and the key under which a
            browser keeps its student identity).
        host: the address to bind; default: the LAN (``0.0.0.0``, joined at
            this machine's LAN address), but loopback on a JupyterHub / Binder
            server, with ``NBWS_EXTERNAL_URL`` and in Colab, whose proxies the
            students come through.
        port: the port (default: a free one).
        students: names to invite: each gets a personal link
            (:attr:`student_links`) that joins as them without typing a name.
        anonymous: never show names to the class (projector, shared results).
        rate, burst: messages a student may send per second on average, and
            at once; past it the student is disconnected (close 1008).
        max_answer: longest text or code answer in characters (close 1009 past it).
        max_name: longest display name.
        join_timeout: seconds a new socket has to join (a panel: to say
            hello); then it is closed (1008), so idle sockets cannot hold the
            server's ``max_connections`` slots.
        max_sockets_per_student: open pages per student; one more closes the
            oldest (1008).
        max_unjoined_per_address: sockets one address may have waiting to
            join; more are closed at once (1008). A class behind one NAT
            joins from one address: keep it above the class size.
        max_students: most students in the room (a new name is refused past it).
        join_rate, join_burst: new students one address may add per second,
            and at once (a class behind one NAT joins in a spike).
        max_attempts: most attempts kept per student per question (more are refused).
        max_stored: most characters of answers kept per student (more are refused).
        public_url: the URL students open, when it is not this server's: an
            ``nbws relay`` the students can reach (its URL with its token,
            e.g. ``"http://hall.example.edu:8000/?token=..."``). The join
            link, QR code, personal links and projector URL point there. The
            room's student page and sockets are served by the app's relays
            when the server shares a backplane with them (``backplane=``,
            ``app_name=`` and ``relay_secret=`` traits, as for any server;
            the README's "A classroom through relays").
        traits: server traits (``ssl``, ``max_connections`` …); a classroom
            sets ``token`` (the student token), ``max_message_size`` (from
            ``max_answer``) and ``max_pending_per_address`` (1024: a class
            behind one NAT joins at once) unless given.
    """

    def __init__(self, name: str, *, host: str | None = None, port: int | None = None,
                 students: Sequence[str] | None = None, anonymous: bool = False, rate: float = 2.0,
                 burst: int = 20, max_answer: int = 20_000, max_name: int = 40, join_timeout: float = 10.0,
                 max_sockets_per_student: int = 4, max_unjoined_per_address: int = 512, max_students: int = 1000,
                 join_rate: float = 20.0, join_burst: int = 600, max_attempts: int = 50,
                 max_stored: int = 1_000_000, public_url: str | None = None, **traits: Any) -> None:
        self.name = name
        self._instructor_key = secrets.token_urlsafe(24)
        self.room = Room(anonymous=anonymous, max_name=max_name, max_answer=max_answer, rate=rate, burst=burst,
                         max_students=max_students, max_attempts=max_attempts, max_stored=max_stored)
        traits.setdefault("token", secrets.token_urlsafe(12))
        traits.setdefault("max_message_size", max(64 * 1024, 8 * max_answer))
        # a whole class behind one NAT joins at once: many pending handshakes from one address
        traits.setdefault("max_pending_per_address", 1024)
        self.server: Server = start_server(join_host(host), port, App(), name=f"classroom:{name}", **traits)
        endpoint = self.server._endpoint
        assert endpoint is not None
        self._io = endpoint.io
        self._plane = endpoint.plane
        # replaced whole (copy on write) by on_answer on the instructor's thread, read by the I/O thread
        self._callbacks: dict[str, tuple[Callable[[dict[str, Any]], Any], ...]] = {}
        self._closed = False
        self.service = RoomService(self.room, self._instructor_key, self._io.loop, self._answered,
                                   join_timeout, max_sockets_per_student, max_unjoined_per_address,
                                   join_rate, join_burst)
        self.join_url = public_url or join_url(self.server)
        """The URL students open (token included)."""
        self.qr = qr_svg(self.join_url)
        """The join URL's QR code, as SVG markup."""
        routes = endpoint.routes
        student = student_page(name, name, max_name)
        panel = view_page(name, "panel", self.qr, self.join_url)
        projector = view_page(name, "projector", self.qr, self.join_url)

        def install() -> None:  # I/O thread
            routes.add_page("/", student, "text/html; charset=utf-8")
            routes.add_page("/_room/panel", panel, "text/html; charset=utf-8", relayed=False)  # the instructor's
            routes.add_page("/_room/projector", projector, "text/html; charset=utf-8")
            # relays (nbws relay, on a shared backplane) serve these too: their sockets come through the backplane
            routes.add_socket("/_room/ws", self.service.student_opened, relayed=True)
            routes.add_socket("/_room/view", self.service.view_opened, relayed=True)

        self._io.call(install)
        now = time.time()
        self.student_links: dict[str, str] = {}
        """Per-student join links (``students=``): name -> URL."""
        for invited in students or ():
            record = self._io.call(_bind(self.room.invite, invited, now))
            self.student_links[invited] = f"{self.join_url}#invite={record.id}.{record.key}"

    # -- URLs --

    def _view(self, path: str) -> str:
        return f"{path}#key={self._instructor_key}"

    @property
    def projector_url(self) -> str:
        """The projector page (large QR code and live results, no names):
        open it on the classroom screen. It carries a projector key, which
        shows what the class may see (counts, shared answers without names)
        and nothing else; the page drops it from the address bar once read."""
        base, _, query = self.join_url.partition("#")[0].partition("?")
        token = f"?{query}" if query else (f"?token={self.server.token}" if self.server.token else "")
        return f"{base.rstrip('/')}/_room/projector{token}#key={self.service.projector_key}"

    # -- activities --

    def poll(self, question: str, options: Sequence[str]) -> Poll:
        """Ask the class a multiple-choice question with a live bar chart;
        opens it now (the students' pages switch to it)."""
        return Poll(self, self._open(question, "choice", tuple(str(o) for o in options), True))

    def ask(self, prompt: str, kind: str = "text", options: Sequence[str] | None = None) -> Question:
        """Ask a question: ``kind`` is ``"text"``, ``"code"``, ``"number"`` or
        ``"choice"`` (with ``options``). Every attempt is kept."""
        return Question(self, self._open(prompt, kind, tuple(str(o) for o in options or ()), False))

    def _open(self, prompt: str, kind: str, options: tuple[str, ...], poll: bool) -> Activity:
        self._check_open()
        now = time.time()
        activity = self._io.call(lambda: self.room.open_activity(prompt, kind, options, poll, now))
        self._changed()
        return activity

    def show(self, obj: Any) -> None:
        """Show ``obj`` on every student's page ("follow the instructor"): a
        matplotlib figure, anything with ``_repr_html_`` (a DataFrame), an
        IPython display object (HTML, Markdown, Image), PNG bytes, a string
        (plain text), or a live view — a :class:`~nbws.LivePlot` or
        :class:`~nbws.FigureStream` created on this room's server
        (``server=room.server``), which keeps updating on the students' pages.
        ``None`` clears it."""
        self._check_open()
        if isinstance(obj, (LivePlot, FigureStream)):
            if obj.server is not self.server:
                raise ValueError(
                    f"the students cannot reach this {type(obj).__name__}'s server; create it on the room's "
                    f"server: nbws.{type(obj).__name__}({obj.name!r}, ..., server=room.server)")
            content: dict[str, Any] | None = {"kind": "frame", "path": f"live/{obj.name}/",
                                              "id": secrets.token_hex(6)}
        else:
            content = None if obj is None else render(obj)
        self._io.call(lambda: self.room.show(content))
        self._changed()

    def _changed(self) -> None:
        self._io.call(self.service.changed)

    def _check_open(self) -> None:
        """Raise when the class is over: nobody would see a new question or content."""
        if self._closed:
            raise ClassroomClosedError(self.name)

    # -- reading --

    @property
    def students(self) -> Table:
        """The roster: name, student id, connected, last seen, answers given (a pandas
        DataFrame when pandas is installed, else a list of dicts)."""
        return table(self._io.call(self.room.roster), ["name", "student", "connected", "last_seen", "answers", "hand"])

    def _snapshot(self) -> dict[str, Any]:
        return self._io.call(self.service.instructor_view)

    def save(self, path: str) -> None:
        """Write the session: as JSON (roster, activities, every answer; times
        as Unix seconds), or, when ``path`` ends with ``.csv``, one CSV row per
        answer (activity, prompt, kind, name, student id, answer, time as ISO
        8601, round, attempt)."""
        record = self._io.call(lambda: _record(self.name, self.room))
        if path.lower().endswith(".csv"):
            with open(path, "w", encoding="utf-8", newline="") as f:
                writer = csv.DictWriter(f, CSV_COLUMNS)
                writer.writeheader()
                for activity in record["activities"]:
                    for row in activity["responses"]:
                        writer.writerow({**row, "activity": activity["id"], "prompt": activity["prompt"],
                                         "kind": activity["kind"],
                                         "time": datetime.fromtimestamp(row["time"]).isoformat()})
            return
        with open(path, "w", encoding="utf-8") as f:
            json.dump(record, f, indent=1)

    @staticmethod
    def load(path: str) -> dict[str, Any]:
        """Read a session written by :meth:`save`: from JSON a dict with
        ``name``, ``students`` and ``activities`` (each with its
        ``responses``); from CSV a dict with ``responses``, the rows as
        written (strings)."""
        with open(path, encoding="utf-8", newline="") as f:
            if path.lower().endswith(".csv"):
                return {"responses": list(csv.DictReader(f))}
            record: dict[str, Any] = json.load(f)
        return record

    def close(self) -> None:
        """End the class: every student's page says so, then the server stops.
        The results stay readable; asking or showing anything raises."""
        self._closed = True
        if self.server.running:
            self._io.call(self.service.end)
        self.server.stop()

    # -- callbacks (I/O thread → handler plane) --

    def _answered(self, answer: Answer) -> None:  # I/O thread
        callbacks = self._callbacks.get(answer.activity)
        if not callbacks:
            return
        row = _row(answer, self.room.activities[answer.activity])
        for fn in callbacks:
            deliver(self._plane, _bind(invoke, self._plane, fn, row, on_error=_log_callback_error))

    # -- display --

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        url = self.join_url
        warn = ""
        if urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1"):
            warn = ("⚠ This join URL is a loopback address: no other machine can open it. Pass host='0.0.0.0' "
                    "(or a LAN address) for students on other devices.")
        elif not url.startswith(("http://", "https://")):
            warn = ("⚠ This join URL goes through the Jupyter server's proxy: students need access to this "
                    "Jupyter server to open it.")
        note = f"<p style='color:#b45309'>{html.escape(warn)}</p>" if warn else ""
        link = (f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener">{html.escape(url)}</a>'
                if url.startswith(("http://", "https://")) else link_html(self.server, "/"))
        html_ = (f"<div style='font:13px system-ui,sans-serif'><b>Classroom {html.escape(self.name)}</b> · "
                 f"students join at {link}{note}"
                 + frame_html(self.server, "/_room/panel", 420, f"#key={self._instructor_key}")
                 + "</div>")
        snap = self._snapshot()
        return {"text/plain": f"Classroom {self.name!r}: {snap['connected']} connected; join at {url}"
                              + (f"\n{warn}" if warn else ""),
                "text/html": html_}


class _Activity:
    """What a poll and a question share."""

    def __init__(self, room: Classroom, activity: Activity) -> None:
        self.room = room
        self.activity = activity
        self.id = activity.id

    def close(self) -> None:
        """Stop accepting answers."""
        self.room._check_open()
        self.room._io.call(lambda: self.room.room.close(self.activity))
        self.room._changed()

    def reopen(self) -> None:
        """Accept answers again; a poll starts a new round and keeps the earlier ones."""
        self.room._check_open()
        now = time.time()
        self.room._io.call(lambda: self.room.room.reopen(self.activity, now))
        self.room._changed()

    def share(self, shared: bool = True) -> None:
        """Show the results to the students (and hide them with ``False``)."""
        self.room._check_open()
        self.room._io.call(lambda: self.room.room.share(self.activity, shared))
        self.room._changed()

    @property
    def responses(self) -> Table:
        """One row per answer: name, student id, answer, time, round, attempt (a pandas
        DataFrame when pandas is installed, else a list of dicts)."""
        activity = self.activity
        rows = self.room._io.call(lambda: [_row(a, activity) for a in _answers(activity)])
        return table(rows, ["name", "student", "answer", "time", "round", "attempt"])

    def on_answer(self, fn: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
        """Decorator: call ``fn(row)`` on the kernel's loop for each new answer."""
        callbacks = self.room._callbacks  # a new dict swapped in: the I/O thread never sees one change
        self.room._callbacks = {**callbacks, self.id: (*callbacks.get(self.id, ()), fn)}
        return fn


class Poll(_Activity):
    """A live poll (``room.poll(...)``); displays as a live bar chart."""

    @property
    def results(self) -> dict[str, int]:
        """Votes per option in the current round."""
        activity = self.activity
        counts = self.room._io.call(lambda: activity.counts())
        return dict(zip(activity.options, counts, strict=True))

    @property
    def rounds(self) -> list[dict[str, int]]:
        """Votes per option in every round, oldest first (``reopen()`` starts one)."""
        activity = self.activity
        rounds = self.room._io.call(lambda: [activity.counts(i) for i in range(len(activity.rounds))])
        return [dict(zip(activity.options, r, strict=True)) for r in rounds]

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        page = view_page(self.activity.prompt, "poll", "", "", self.id, root="../../")
        path = f"/_room/poll/{self.id}"
        routes = self.room.server._endpoint.routes  # type: ignore[union-attr]
        self.room._io.call(lambda: routes.add_page(path, page, "text/html; charset=utf-8", relayed=False))
        frame = frame_html(self.room.server, path, 260, f"#key={self.room._instructor_key}")
        return {"text/plain": f"Poll {self.activity.prompt!r}: {self.results}", "text/html": frame}


class Question(_Activity):
    """An open question (``room.ask(...)``)."""

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        rows = self.room._io.call(lambda: len({a.student for a in self.activity.attempts}))
        return {"text/plain": f"Question {self.activity.prompt!r}: {rows} student(s) answered"}


def _bind(fn: Callable[..., T], *args: Any, **kwargs: Any) -> Callable[[], T]:
    """``fn`` with its arguments bound now (a loop's variable, not its last value)."""
    return lambda: fn(*args, **kwargs)


def _answers(activity: Activity) -> list[Answer]:
    if activity.poll:
        return [a for r in activity.rounds for a in r.values()]
    return list(activity.attempts)


def _row(answer: Answer, activity: Activity) -> dict[str, Any]:
    value = activity.options[answer.answer] if activity.kind == "choice" else answer.answer
    return {"name": answer.name, "student": answer.student, "answer": value, "time": answer.time, "round": answer.round,
            "attempt": answer.attempt}


def _record(name: str, room: Room) -> dict[str, Any]:
    """The session as plain JSON data (I/O thread)."""
    return {
        "name": name,
        "saved": time.time(),
        "students": room.roster(),
        "activities": [{"id": a.id, "kind": a.kind, "prompt": a.prompt, "options": list(a.options), "poll": a.poll,
                        "responses": [_row(x, a) for x in _answers(a)]} for a in room.activities.values()],
    }


def _log_callback_error(exc: BaseException) -> None:
    import logging

    logging.getLogger("nbws").error("nbws: a classroom on_answer callback raised", exc_info=exc)
