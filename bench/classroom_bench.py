"""A lecture of 500 students against ``nbws.Classroom`` in a real kernel.

The room runs in a real IPython kernel (jupyter_client; the instructor's
cells executed as a user would). The students are ``websockets`` asyncio
clients speaking the documented protocol (README, "The student protocol"),
spread over ``--workers`` processes. Phases:

1. **join spike** — every student connects and joins by name at the same
   instant; the time until the last welcome.
2. **answers at once** — every student answers a ``number`` question at the
   same instant with its send time (``time.time()``); the page's wait for the
   ack, and the answer-to-notebook latency measured in the kernel by
   ``@q.on_answer`` (``time.time() - answer``: same clock, same machine).
3. **answers paced** — the same, spread evenly over 5 s (100 answers/s).
3b. **shared, with a figure** — the instructor asks a ``code`` question,
   shares it (every student sees the others' answers) and shows a matplotlib
   figure; every student answers with 1 KB of code, spread over 5 s. The
   bytes the students received (views and the figure) are reported.
4. **reconnect storm** — every socket is aborted (no closing handshake, like a
   dropped Wi-Fi), then all come back at once with their key, resend their
   first answer (it must be acknowledged and counted once) and answer again.
   The kernel then checks: roster of exactly N, every student connected once,
   every answer there once (0 lost, 0 doubled).

Every student sends the page's heartbeat every 5 s, as the student page does.
The kernel's CPU time (user + system, all its threads, from
``/proc/<pid>/stat``) is reported per phase. By default the kernel is pinned
to core 0 and the student processes to core 1, so on a 2-core machine they
do not steal each other's CPU; their CPU is reported too.

    python bench/classroom_bench.py                   # 500 students, 4 processes
    python bench/classroom_bench.py --students 100 --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing
import os
import random
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.sync.client import connect as connect_sync

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACED_SECONDS = 5.0
HEARTBEAT = 5.0  # seconds, as the student page sends them

SETUP = """
import json, os, time, nbws
if {pin} and (os.cpu_count() or 1) > 1:
    for tid in os.listdir("/proc/self/task"):  # every thread of the kernel, and so the ones it starts
        os.sched_setaffinity(int(tid), {{0}})
room = nbws.Classroom("lecture", host="127.0.0.1")
q = room.ask("What time is it?", kind="number")
latency = []

@q.on_answer
def _(row):
    latency.append(time.time() - row["answer"])

print(json.dumps({{"join": room.join_url, "key": room._instructor_key, "question": q.id, "pid": os.getpid(), "nbws": nbws.__file__}}))
"""

# the kernel's view of a phase: every answer's latency, once all callbacks ran (bounded wait)
COLLECT = """
for _ in range(400):
    if len(latency) >= {expected}:
        break
    nbws.service(0.05)
print(json.dumps(latency))
latency.clear()
"""

# a shared code question and a figure on every page
SHARE = """
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
c = room.ask("Reverse a list", kind="code")

@c.on_answer
def _(row):
    latency.append(time.time() - float(row["answer"].split()[0]))

c.share()
fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(range(200), [i * i for i in range(200)])
room.show(fig)
print(json.dumps({{"activity": c.id}}))
"""

CHECK = """
for _ in range(400):
    roster = room.students
    sockets = room._io.call(lambda: len(room.service.students))  # the aborted ones noticed and gone
    if int(roster["connected"].sum()) == {n} and sockets == {n}:
        break
    nbws.service(0.05)
rows = q.responses
print(json.dumps({{"students": len(roster), "names": int(roster["name"].nunique()),
                   "connected": int(roster["connected"].sum()), "sockets": sockets, "answers": sorted(set(roster["answers"])),
                   "responses": len(rows), "per_student": sorted(set(rows.groupby("name").size()))}}))
room.close()
"""


# ----------------------------------------------------------------- students (worker processes)


class Student:
    """One student's socket; a reader task resolves what the student waits for
    (its welcome, the ack of an answer id); views are read and ignored."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.ws: ClientConnection | None = None
        self.me: dict[str, Any] | None = None
        self.waiting: dict[str, asyncio.Future[Any]] = {}
        self.reader: asyncio.Task[None] | None = None
        self.beats: asyncio.Task[None] | None = None
        self.received = 0  # bytes of messages received (views, shown content, acks)

    async def open(self, url: str) -> None:
        self.ws = await connect(url, open_timeout=60, ping_interval=None, max_size=2**22)
        self.reader = asyncio.create_task(self._read(self.ws))
        self.beats = asyncio.create_task(self._beat(self.ws))

    async def _beat(self, ws: ClientConnection) -> None:
        """The page's heartbeat: every 5 s (the first at a random point, as pages
        opened at different times), until the socket goes."""
        await asyncio.sleep(HEARTBEAT * random.random())
        for beat in itertools.count():
            try:
                await ws.send(f'{{"hb":{beat}}}')
            except ConnectionClosed:
                return
            await asyncio.sleep(HEARTBEAT)

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                self.received += len(raw)
                message = json.loads(raw)
                topic, data = message.get("topic"), message.get("data") or {}
                if topic == "welcome":
                    key = "welcome"
                elif topic in ("ack", "refused"):
                    key = data.get("id") or "welcome"
                else:
                    continue
                future = self.waiting.pop(key, None)
                if future is not None and not future.done():
                    if topic == "refused":
                        future.set_exception(RuntimeError(data.get("reason")))
                    else:
                        future.set_result(data)
        except ConnectionClosed:
            pass
        finally:
            for future in self.waiting.values():
                if not future.done():
                    future.set_exception(ConnectionError("the room closed this student's socket"))
            self.waiting.clear()

    async def request(self, topic: str, data: dict[str, Any], key: str) -> Any:
        assert self.ws is not None
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiting[key] = future
        await self.ws.send(json.dumps({"topic": topic, "data": data}))
        return await asyncio.wait_for(future, 60)

    def abort(self) -> None:
        """The Wi-Fi goes: the socket dies without a closing handshake."""
        if self.beats is not None:
            self.beats.cancel()
        if self.ws is not None:
            self.ws.transport.abort()


async def at(t0: float) -> None:
    """Wait for the phase's common start instant (all processes share the clock)."""
    await asyncio.sleep(max(0.0, t0 - time.time()))


async def phase_join(students: list[Student], url: str, arg: dict[str, Any]) -> dict[str, Any]:
    async def one(s: Student) -> float:
        await s.open(url)
        s.me = await s.request("join", {"name": f"student {s.index}"}, "welcome")
        return time.time() - arg["t0"]

    await at(arg["t0"])
    return {"times": await asyncio.gather(*(one(s) for s in students))}


async def phase_answer(students: list[Student], url: str, arg: dict[str, Any]) -> dict[str, Any]:
    async def one(s: Student) -> float:
        await at(arg["t0"] + arg["spread"] * s.index / arg["n"])
        sent = time.time()
        answer_id = f"{s.index}-{arg['round']}"
        value: Any = sent if not arg.get("size") else f"{sent:.6f} " + "x" * arg["size"]  # code, its time first
        await s.request("answer", {"activity": arg["activity"], "value": value, "id": answer_id}, answer_id)
        return time.time() - sent

    return {"times": await asyncio.gather(*(one(s) for s in students))}


async def phase_received(students: list[Student], url: str, arg: dict[str, Any]) -> dict[str, Any]:
    """The bytes the students received since the last call (then reset)."""
    total = sum(s.received for s in students)
    for s in students:
        s.received = 0
    return {"bytes": total}


async def phase_drop(students: list[Student], url: str, arg: dict[str, Any]) -> dict[str, Any]:
    for s in students:
        s.abort()
    await asyncio.gather(*(s.reader for s in students if s.reader is not None))
    return {}


async def phase_rejoin(students: list[Student], url: str, arg: dict[str, Any]) -> dict[str, Any]:
    async def one(s: Student) -> tuple[float, float]:
        assert s.me is not None
        await s.open(url)
        again = await s.request("join", {"student": s.me["student"], "key": s.me["key"]}, "welcome")
        if again["student"] != s.me["student"]:
            raise RuntimeError("came back as someone else")
        rejoined = time.time() - arg["t0"]
        first = f"{s.index}-1"  # the page resends what it had not seen acknowledged: counted once
        await s.request("answer", {"activity": arg["activity"], "value": time.time(), "id": first}, first)
        sent = time.time()
        answer_id = f"{s.index}-{arg['round']}"
        await s.request("answer", {"activity": arg["activity"], "value": sent, "id": answer_id}, answer_id)
        return rejoined, time.time() - sent

    await at(arg["t0"])
    results = await asyncio.gather(*(one(s) for s in students))
    return {"times": [r[0] for r in results], "acks": [r[1] for r in results]}


async def phase_close(students: list[Student], url: str, arg: dict[str, Any]) -> dict[str, Any]:
    for s in students:
        if s.beats is not None:
            s.beats.cancel()
    await asyncio.gather(*(s.ws.close() for s in students if s.ws is not None))
    return {}


PHASES = {"join": phase_join, "answer": phase_answer, "drop": phase_drop, "rejoin": phase_rejoin,
          "close": phase_close, "received": phase_received}


def worker(pipe: Connection, url: str, indices: list[int], pin: bool) -> None:
    """A student process: runs the phases the parent sends, answers with results."""
    if pin and hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})

    async def main() -> None:
        students = [Student(i) for i in indices]
        while True:
            command, arg = await asyncio.to_thread(pipe.recv)
            if command == "stop":
                return
            cpu = time.process_time()
            try:
                result = await PHASES[command](students, url, arg)
            except (OSError, RuntimeError, TimeoutError, WebSocketException) as exc:  # the parent stops the run
                result = {"error": f"{type(exc).__name__}: {exc}"}
            result["cpu"] = time.process_time() - cpu
            pipe.send(result)

    asyncio.run(main())


# ----------------------------------------------------------------- the instructor (this process)


class Panel:
    """The instructor's panel, as the notebook shows it: an instructor view
    socket that receives the room (roster, counts) while the class runs.
    Read on a thread of this process; counts updates and bytes."""

    def __init__(self, url: str, key: str) -> None:
        self.ws = connect_sync(url, open_timeout=30, max_size=2**24).__enter__()  # closed by close()
        self.ws.send(json.dumps({"topic": "hello", "data": {"key": key}}))
        self.updates = 0
        self.bytes = 0
        self.thread = threading.Thread(target=self._read, name="panel", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for message in self.ws:
                self.updates += 1
                self.bytes += len(message)
        except ConnectionClosed:
            pass

    def close(self) -> None:
        self.ws.close()
        self.thread.join(10)



class Kernel:
    """A real ipykernel running the room, driven cell by cell."""

    def __init__(self) -> None:
        from jupyter_client.manager import KernelManager

        env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
        env.pop("NBWS_DEBUG_THREADS", None)  # measure the shipped configuration
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(cwd=ROOT, env=env)
        self.kc = self.km.blocking_client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def run(self, code: str, timeout: float = 120) -> Any:
        """Execute a cell; the JSON it printed."""
        out: list[str] = []
        reply = self.kc.execute_interactive(
            code, timeout=timeout,
            output_hook=lambda m: out.append(m["content"].get("text", "") if m["msg_type"] == "stream" else ""))
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"the instructor's cell failed: {reply['content'].get('evalue')}")
        return json.loads("".join(out))

    def stop(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(value: float) -> str:
    return f"{value * 1000:,.1f}"


class Run:
    def __init__(self, n: int, workers: int, pin: bool) -> None:
        self.n = n
        self.kernel = Kernel()
        info = self.kernel.run(SETUP.format(pin=pin))
        if not info["nbws"].startswith(ROOT):
            raise RuntimeError(f"the kernel imported nbws from {info['nbws']}, not from {ROOT}")
        self.pid = int(info["pid"])
        self.activity = info["question"]
        base, _, query = info["join"].partition("?")
        url = "ws" + base[4:] + "_room/ws?" + query
        self.panel = Panel("ws" + base[4:] + "_room/view?" + query, info["key"])
        context = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.procs = []
        for w in range(workers):
            parent, child = context.Pipe()
            proc = context.Process(target=worker, args=(child, url, list(range(w, n, workers)), pin), daemon=True)
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)
        self.rows: list[tuple[str, ...]] = []
        self.check: dict[str, Any] = {}
        self.ok = False
        self.total_cpu = self.wall = 0.0

    def phase(self, command: str, **arg: Any) -> tuple[list[dict[str, Any]], float, float, float]:
        """Run a phase in every worker: their results, wall seconds, kernel and clients' CPU seconds."""
        cpu = cpu_seconds(self.pid)
        start = time.time()
        for pipe in self.pipes:
            pipe.send((command, {**arg, "n": self.n}))
        results = []
        for pipe in self.pipes:
            if not pipe.poll(180):
                raise RuntimeError(f"phase {command}: a student process did not answer in 180 s")
            results.append(pipe.recv())
        errors = [r["error"] for r in results if "error" in r]
        if errors:
            raise RuntimeError(f"phase {command}: {errors[0]}")
        return results, time.time() - start, cpu_seconds(self.pid) - cpu, sum(r["cpu"] for r in results)

    def measure(self) -> None:
        n = self.n
        t0 = time.time() + 1.0
        results, _, kcpu, ccpu = self.phase("join", t0=t0)
        joins = [t for r in results for t in r["times"]]
        self.rows.append((f"join spike ({n} at once)", f"all welcomed in {ms(max(joins))} ms",
                          f"p50 {ms(pct(joins, 0.5))} / p99 {ms(pct(joins, 0.99))}", "", f"{kcpu:.2f}", f"{ccpu:.2f}"))

        cpu = cpu_seconds(self.pid)
        time.sleep(PACED_SECONDS)  # the room at rest with everyone connected: the kernel's baseline
        self.rows.append((f"idle, {n} connected ({PACED_SECONDS:.0f} s)", "", "", "",
                          f"{cpu_seconds(self.pid) - cpu:.2f}", ""))

        for label, spread, rnd in ((f"answers at once ({n})", 0.0, 1),
                                   (f"answers paced ({n / PACED_SECONDS:.0f}/s)", PACED_SECONDS, 2)):
            results, _, kcpu, ccpu = self.phase("answer", t0=time.time() + 0.5, spread=spread, round=rnd,
                                                   activity=self.activity)
            acks = [t for r in results for t in r["times"]]
            notebook = self.kernel.run(COLLECT.format(expected=n))
            if len(notebook) != n:
                raise RuntimeError(f"{label}: the notebook saw {len(notebook)} answers, not {n}")
            self.rows.append((label, f"slowest ack {ms(max(acks))} ms",
                              f"p50 {ms(pct(acks, 0.5))} / p99 {ms(pct(acks, 0.99))}",
                              f"p50 {ms(pct(notebook, 0.5))} / p99 {ms(pct(notebook, 0.99))}",
                              f"{kcpu:.2f}", f"{ccpu:.2f}"))

        self.phase("received")
        cpu = cpu_seconds(self.pid)
        shared = self.kernel.run(SHARE.format())["activity"]
        results, _, kcpu, ccpu = self.phase("answer", t0=time.time() + 0.5, spread=PACED_SECONDS, round=4,
                                               activity=shared, size=1000)
        acks = [t for r in results for t in r["times"]]
        notebook = self.kernel.run(COLLECT.format(expected=n))
        received = sum(r["bytes"] for r in self.phase("received")[0])
        if len(notebook) != n:
            raise RuntimeError(f"shared: the notebook saw {len(notebook)} answers, not {n}")
        self.rows.append((f"shared code question + figure, {n} answers of 1 KB over {PACED_SECONDS:.0f} s",
                          f"students received {received / 1e6:.1f} MB",
                          f"p50 {ms(pct(acks, 0.5))} / p99 {ms(pct(acks, 0.99))}",
                          f"p50 {ms(pct(notebook, 0.5))} / p99 {ms(pct(notebook, 0.99))}",
                          f"{cpu_seconds(self.pid) - cpu:.2f}", f"{ccpu:.2f}"))

        self.phase("drop")
        t0 = time.time() + 0.5
        results, _, kcpu, ccpu = self.phase("rejoin", t0=t0, round=3, activity=self.activity)
        rejoins = [t for r in results for t in r["times"]]
        acks = [t for r in results for t in r["acks"]]
        notebook = self.kernel.run(COLLECT.format(expected=n))
        self.rows.append((f"reconnect storm ({n} drop, rejoin, resend, answer)",
                          f"all rejoined in {ms(max(rejoins))} ms",
                          f"p50 {ms(pct(acks, 0.5))} / p99 {ms(pct(acks, 0.99))}",
                          f"p50 {ms(pct(notebook, 0.5))} / p99 {ms(pct(notebook, 0.99))}" if notebook else "",
                          f"{kcpu:.2f}", f"{ccpu:.2f}"))
        check = self.kernel.run(CHECK.format(n=n))
        self.phase("close")
        expected = {"students": n, "names": n, "connected": n, "sockets": n, "answers": [4], "responses": 3 * n,
                    "per_student": [3]}
        self.check = check
        self.ok = check == expected and len(notebook) == n
        if not self.ok:
            print(f"MISMATCH: the room holds {check}, expected {expected} (notebook saw {len(notebook)} round-3 answers)")

    def stop(self) -> None:
        for pipe in self.pipes:
            try:
                pipe.send(("stop", None))
            except OSError:
                pass
        self.panel.close()
        for proc in self.procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
        self.kernel.stop()

    def report(self) -> None:
        print("| phase | wall | page: answer → ack (ms) | answer → notebook (ms) | kernel CPU (s) | clients CPU (s) |")
        print("|---|---|---|---|---|---|")
        for row in self.rows:
            print("| " + " | ".join(row) + " |")
        c = self.check
        print(f"\nroster: {c['students']} students ({c['names']} names), {c['connected']} connected; "
              f"{c['responses']} answers, {c['per_student']} per student: "
              + ("0 lost, 0 doubled" if self.ok else "MISMATCH"))
        print(f"the instructor's panel got {self.panel.updates} updates ({self.panel.bytes / 1e6:.1f} MB) meanwhile")
        print(f"kernel CPU over the run: {self.total_cpu:.2f} s in {self.wall:.1f} s wall "
              f"({os.cpu_count()} cores on this machine)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--workers", type=int, default=4, help="student processes")
    parser.add_argument("--no-pin", action="store_true", help="let the OS place the kernel and the students")
    args = parser.parse_args()
    run = Run(args.students, args.workers, not args.no_pin)
    try:
        cpu, start = cpu_seconds(run.pid), time.time()
        run.measure()
        run.total_cpu, run.wall = cpu_seconds(run.pid) - cpu, time.time() - start
        run.report()
    finally:
        run.stop()
    sys.exit(0 if run.ok else 1)


if __name__ == "__main__":
    main()
