"""The state of a classroom: students, activities and answers.

Pure and single-threaded: it runs on the I/O thread, where students' messages
arrive, so joining and answering are recorded at once while the instructor's
cell is busy. The notebook reads copies (:meth:`Room.snapshot`). Nothing here
does I/O; the clock is passed in.
"""

from __future__ import annotations

import json
import math
import secrets
import unicodedata
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Student", "Answer", "Activity", "Room", "Refusal", "KINDS", "SHARED_ANSWERS", "SHARED_BYTES"]

SHARED_ANSWERS = 500
"""Most answers a shared text, code or number question shows to the class."""
SHARED_BYTES = 64_000
"""Most bytes of JSON answers (and names) a shared question shows to the class (the rest are counted as ``omitted``)."""
KINDS = ("choice", "text", "number", "code")
"""What a question may ask for; a poll is a ``choice`` question with a live chart."""


class Refusal(Exception):
    """A student's message that the room refuses: ``code`` is the WebSocket
    close code when the student must be disconnected (1008 policy, 1009 too
    big), or None when an error reply is enough."""

    def __init__(self, reason: str, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


@dataclass
class Student:
    """One student of the room, stable across reconnects (same ``id`` and ``key``)."""

    id: str
    key: str
    name: str
    joined: float
    last_seen: float
    connections: int = 0
    hand: bool = False
    answers: int = 0
    allowance: float = 0.0  # the rate limit's token bucket
    refilled: float = 0.0
    seen_ids: set[str] = field(default_factory=set)  # answer ids already recorded (exactly once)
    stored: int = 0  # characters of answers kept (the max_stored cap)


@dataclass(frozen=True)
class Answer:
    """One recorded answer: who, to what, which round (polls) or attempt (questions), when."""

    student: str
    name: str
    activity: str
    round: int
    attempt: int
    answer: Any
    time: float


@dataclass
class Activity:
    """A poll or a question. A poll keeps one answer per student per round
    (a later answer in the same round replaces the earlier one); a question
    keeps every attempt."""

    id: str
    kind: str
    prompt: str
    options: tuple[str, ...]
    poll: bool
    opened: float
    open: bool = True
    shared: bool = False
    rounds: list[dict[str, Answer]] = field(default_factory=lambda: [{}])
    attempts: list[Answer] = field(default_factory=list)
    tries: dict[str, int] = field(default_factory=dict)  # attempts kept per student (questions)
    latest: dict[str, Answer] = field(default_factory=dict)  # each student's latest attempt, oldest first

    def current(self) -> dict[str, Answer]:
        return self.rounds[-1]

    def counts(self, round_index: int = -1) -> list[int]:
        """Votes per option in a round of a poll or choice question."""
        votes = [0] * len(self.options)
        answers = self.rounds[round_index].values() if self.poll else self._latest().values()
        for answer in answers:
            votes[answer.answer] += 1
        return votes

    def _latest(self) -> dict[str, Answer]:
        return self.latest

    def mine(self, student: Student) -> Any:
        """The student's answer to show on their page: this round's (polls) or their latest attempt."""
        mine = self.current().get(student.id) if self.poll else self.latest.get(student.id)
        return None if mine is None else mine.answer

    def public(self, anonymous: bool = False) -> dict[str, Any]:
        """What a student sees of it: never others' answers, unless shared;
        then the counts (choices) or each student's latest answer (text, code,
        numbers), with names unless ``anonymous``."""
        view: dict[str, Any] = {"id": self.id, "kind": self.kind, "prompt": self.prompt,
                                "options": list(self.options), "open": self.open, "round": len(self.rounds)}
        if self.shared and self.kind == "choice":
            view["results"] = self.counts()
        elif self.shared:  # the earliest latest answers, up to SHARED_ANSWERS and SHARED_BYTES
            answers: list[dict[str, Any]] = []
            size = 0
            for a in self.latest.values():
                size += len(json.dumps(a.answer)) + (0 if anonymous else len(json.dumps(a.name))) + 24
                if len(answers) >= SHARED_ANSWERS or size > SHARED_BYTES:
                    break
                answers.append({"name": None if anonymous else a.name, "answer": a.answer})
            view["answers"] = answers
            view["omitted"] = len(self.latest) - len(answers)
        return view


def display_name(name: Any) -> str:
    """A display name as shown: NFKC, without control, format (bidi,
    zero-width) or unassigned characters, whitespace collapsed; '' if none."""
    if not isinstance(name, str):
        return ""
    kept = "".join(ch for ch in unicodedata.normalize("NFKC", name)
                   if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    return " ".join(kept.split())


class Room:
    """The room's state. Runs on the I/O thread only (no locks).

    Args:
        anonymous: names are never shown to the class (shared answers on the
            students' pages and the projector); the instructor still sees them.
        max_name: longest display name, in characters.
        max_answer: longest text or code answer, in characters.
        rate: answers and other messages a student may send per second, on
            average; ``burst`` at once. Past it the student is disconnected.
        max_students: most students in the room (new names are refused past it).
        max_attempts: most attempts a student's answers to one question keep.
        max_stored: most characters of answers kept per student.
        max_seen: most answer ids a student may send (past it: disconnected).
    """

    def __init__(self, anonymous: bool = False, max_name: int = 40, max_answer: int = 20_000,
                 rate: float = 2.0, burst: int = 20, max_students: int = 1000, max_attempts: int = 50,
                 max_stored: int = 1_000_000, max_seen: int = 10_000) -> None:
        self.anonymous = anonymous
        self.max_students = max_students
        self.max_attempts = max_attempts
        self.max_stored = max_stored
        self.max_seen = max_seen
        self.max_name = max_name
        self.max_answer = max_answer
        self.rate = rate
        self.burst = burst
        self.students: dict[str, Student] = {}
        self.activities: dict[str, Activity] = {}
        self.current: str | None = None
        self.shown: dict[str, Any] | None = None
        self.version = 0  # bumped on every change the views should show
        self.everyone = 0  # bumped on every change to what all students see
        self.touched: set[str] = set()  # students whose own view changed since the last take_touched()
        self.names: set[str] = set()  # the students' names, casefolded (invited ones included: reserved)
        self.shared_changed = False  # a shared activity's results changed (the service coalesces these)

    # -- what changed (the service refreshes only the views that did) --

    def _touch(self, student: Student) -> None:
        self.version += 1
        self.touched.add(student.id)

    def _for_everyone(self) -> None:
        self.version += 1
        self.everyone += 1

    def take_touched(self) -> set[str]:
        """The students whose own view changed since the last call (cleared)."""
        touched, self.touched = self.touched, set()
        return touched

    # -- students --

    def join(self, name: Any, student_id: Any = None, key: Any = None, now: float = 0.0) -> Student:
        """A student joins, or comes back with the ``id`` and ``key`` the room gave them."""
        if student_id is not None or key is not None:
            known = self.students.get(student_id) if isinstance(student_id, str) else None
            if known is None or not isinstance(key, str) or not secrets.compare_digest(known.key.encode(), key.encode()):
                raise Refusal("unknown student or wrong key: join again with a name")
            known.last_seen = now
            self._touch(known)
            return known
        clean = display_name(name)
        if not clean:
            raise Refusal("a display name is required")
        if len(clean) > self.max_name:
            raise Refusal(f"a display name has at most {self.max_name} characters")
        if len(self.students) >= self.max_students:
            raise Refusal(f"the class is full ({self.max_students} students)")
        unique, n = clean, 1
        while unique.casefold() in self.names:  # names are unique in the room: a second Ada is "Ada (2)"
            n += 1
            suffix = f" ({n})"
            unique = clean[:self.max_name - len(suffix)] + suffix
        student = Student(secrets.token_urlsafe(6), secrets.token_urlsafe(18), unique, now, now,
                          allowance=float(self.burst), refilled=now)
        self.students[student.id] = student
        self.names.add(unique.casefold())
        self._touch(student)
        return student

    def connected(self, student: Student, now: float) -> None:
        """One more socket of ``student`` (the panel counts it)."""
        student.connections += 1
        student.last_seen = now
        self.version += 1

    def left(self, student: Student, now: float) -> None:
        """One socket of ``student`` is gone (the panel counts it)."""
        student.connections -= 1
        student.last_seen = now
        self.version += 1

    def invite(self, name: str, now: float) -> Student:
        """A student the instructor named in advance (a per-student link)."""
        return self.join(name, now=now)

    def spend(self, student: Student, now: float) -> None:
        """Charge one message to the student's rate limit (1008 past it)."""
        student.allowance = min(float(self.burst), student.allowance + (now - student.refilled) * self.rate)
        student.refilled = now
        if student.allowance < 1.0:
            raise Refusal("too many messages: slow down", 1008)
        student.allowance -= 1.0
        student.last_seen = now

    def raise_hand(self, student: Student, raised: Any) -> None:
        if not isinstance(raised, bool):
            raise Refusal("'raised' must be true or false")
        if student.hand != raised:
            student.hand = raised
            self._touch(student)

    # -- activities --

    def open_activity(self, prompt: str, kind: str, options: tuple[str, ...], poll: bool, now: float) -> Activity:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if kind == "choice" and len(options) < 2:
            raise ValueError("a choice question or poll needs at least two options")
        activity_id = f"a{secrets.token_hex(4)}"  # random: a page's pending answer never lands in another room's
        while activity_id in self.activities:
            activity_id = f"a{secrets.token_hex(4)}"
        activity = Activity(activity_id, kind, prompt, options, poll, now)
        self.activities[activity.id] = activity
        self.current = activity.id
        self._for_everyone()
        return activity

    def answer(self, student: Student, activity_id: Any, value: Any, answer_id: Any, now: float,
               round_seen: Any = None) -> bool:
        """Record an answer; False when ``answer_id`` was already recorded (a
        resend after a reconnect: acknowledged again, counted once). An
        answer given in another round than the open one (``round_seen``, the
        round the student's page showed) is refused."""
        if not isinstance(answer_id, str) or not 0 < len(answer_id) <= 64:
            raise Refusal("an answer needs an 'id' string (at most 64 characters)")
        if answer_id in student.seen_ids:
            return False
        activity = self.activities.get(activity_id) if isinstance(activity_id, str) else None
        if activity is None:
            raise Refusal("no such question")
        if not activity.open:
            raise Refusal("this question is closed")
        if round_seen is not None and (not isinstance(round_seen, int) or isinstance(round_seen, bool)
                                       or round_seen != len(activity.rounds)):
            raise Refusal(f"this answer was given in round {str(round_seen)[:12]}; round {len(activity.rounds)} "
                          "is open now: answer again")
        value = self._check(activity, value)
        # every cap is checked before anything is recorded: a refused answer is neither kept nor acknowledged
        if len(student.seen_ids) >= self.max_seen:
            raise Refusal("too many answers", 1008)
        if activity.poll:  # one choice per student per round: a new one replaces it
            round_answers = activity.current()
            previous = round_answers.get(student.id)
            attempt = previous.attempt + 1 if previous else 1
            round_answers[student.id] = Answer(student.id, student.name, activity.id, len(activity.rounds),
                                               attempt, value, now)
        else:
            attempt = activity.tries.get(student.id, 0) + 1
            if attempt > self.max_attempts:
                raise Refusal(f"at most {self.max_attempts} attempts per question")
            size = len(value) if isinstance(value, str) else 8
            if student.stored + size > self.max_stored:
                raise Refusal(f"your answers in this class may total {self.max_stored} characters")
            student.stored += size
            activity.tries[student.id] = attempt
            answer = Answer(student.id, student.name, activity.id, 1, attempt, value, now)
            activity.attempts.append(answer)
            activity.latest.pop(student.id, None)  # kept oldest first: the latest answer moves to the end
            activity.latest[student.id] = answer
        student.seen_ids.add(answer_id)
        student.answers += 1
        self._touch(student)
        if activity.shared:  # what every student sees changed: sent at most every SHARED_EVERY s
            self.shared_changed = True
        return True

    def _check(self, activity: Activity, value: Any) -> Any:
        kind = activity.kind
        if kind == "choice":
            if isinstance(value, str) and value in activity.options:
                return activity.options.index(value)
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(activity.options):
                return value
            raise Refusal("pick one of the options")
        if kind == "number":
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                return value
            raise Refusal("the answer must be a number")
        if not isinstance(value, str):
            raise Refusal("the answer must be text")
        if len(value) > self.max_answer:
            raise Refusal(f"an answer has at most {self.max_answer} characters", 1009)
        return value

    def close(self, activity: Activity) -> None:
        activity.open = False
        self._for_everyone()

    def reopen(self, activity: Activity, now: float) -> None:
        """Open again; a poll starts a new round and keeps the earlier ones."""
        if activity.poll:
            activity.rounds.append({})
        activity.open = True
        activity.opened = now
        activity.shared = False
        self.current = activity.id
        self._for_everyone()

    def share(self, activity: Activity, shared: bool = True) -> None:
        activity.shared = shared
        self._for_everyone()

    def show(self, content: dict[str, Any] | None) -> None:
        self.shown = content
        self._for_everyone()

    # -- views --

    def student_view(self, student: Student) -> dict[str, Any]:
        """What one student's page shows now."""
        view: dict[str, Any] = {"you": self.you(student), "shown": self.shown_id(), "activity": None}
        activity = self.current_activity()
        if activity is not None:
            view["activity"] = {**activity.public(self.anonymous), "mine": activity.mine(student)}
        return view

    def shown_id(self) -> str | None:
        """The id of what is shown (its content goes out under its own topic, once)."""
        return None if self.shown is None else str(self.shown["id"])

    def you(self, student: Student) -> dict[str, Any]:
        """The part of a student's view about them."""
        return {"id": student.id, "name": student.name, "hand": student.hand}

    def current_activity(self) -> Activity | None:
        return self.activities.get(self.current) if self.current else None

    def roster(self) -> list[dict[str, Any]]:
        """Name, student id, connected, last seen and answers given, per student (instructor only)."""
        return [{"name": s.name, "student": s.id, "connected": s.connections > 0, "last_seen": s.last_seen,
                 "answers": s.answers, "hand": s.hand} for s in self.students.values()]

    def public_results(self, activity: Activity, anonymous: bool | None = None) -> dict[str, Any]:
        """An activity's results: counts, and shared answers with names unless
        ``anonymous`` (default: the room's setting)."""
        result: dict[str, Any] = {**activity.public(self.anonymous if anonymous is None else anonymous),
                                  "answered": len(activity.current()) if activity.poll else len(activity.latest)}
        if activity.kind == "choice":
            result["results"] = activity.counts()
        return result
