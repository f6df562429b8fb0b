"""The app's kernel for the relay tests and bench: a plain publisher process
(a script starting ``nbws.start_server`` with an app, not a Jupyter kernel):
``python tests/relay_kernel.py APP BACKPLANE``.

Its app answers ``conn.send("answer", {"id": ...})`` with ``thanks`` and
counts every id it handles; it has a live plot ``loss``. It prints
``{"port": ..., "node": ...}`` on a line, then obeys one command per line on
stdin, answering each with one JSON line: ``emit N PREFIX`` (N emits on the
topic ``m``, data ``{"p": PREFIX, "i": i}``), ``broadcast TEXT``, ``stamp`` (a broadcast of ``t<time.time()>``), ``plot X
Y`` (pushed and flushed), ``channel VALUE`` (sent on the channel ``temp``, policy latest), ``stats``,
``quit``.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import sys
import time

import nbws


async def main(app_name: str, backplane: str) -> None:
    app = nbws.App()
    answers: collections.Counter[str] = collections.Counter()

    @app.on("answer")
    def answer(ws: nbws.WebSocket, data: dict[str, str]) -> None:
        answers[str(data["id"])] += 1
        ws.emit("thanks", data["id"])

    server = nbws.start_server(app=app, app_name=app_name, backplane=backplane, ping_interval=None,
                               relay_secret="s3cret")
    plot = nbws.LivePlot("loss", server=server, fps=100)
    channel = server.channel("temp")
    loop = asyncio.get_running_loop()

    def say(value: object) -> None:
        sys.stdout.write(json.dumps(value) + "\n")
        sys.stdout.flush()

    say({"port": server.port, "node": server.backplane_stats().node})
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line or line.strip() == "quit":
            break
        command, _, rest = line.rstrip("\n").partition(" ")
        if command == "emit":
            count, _, prefix = rest.partition(" ")
            start = time.process_time()
            for i in range(int(count)):
                server.emit("m", {"p": prefix, "i": i})
            say({"cpu": time.process_time() - start})
            continue
        if command == "stamp":  # the bench: a broadcast carrying its send time
            server.broadcast(f"t{time.time()}")
        elif command == "broadcast":
            server.broadcast(rest)
        elif command == "channel":
            channel.send(rest)
        elif command == "plot":
            x, y = rest.split()
            plot.push(float(x), y=float(y))
            plot.flush()
        elif command == "stats":
            await asyncio.sleep(0.05)  # let queued handlers run first
            kernel = server._endpoint.kernel if server._endpoint is not None else None
            say({"answers": sum(answers.values()), "unique": len(answers),
                 "twice": sorted(k for k, v in answers.items() if v > 1)[:20],
                 "kernel": kernel.stats() if kernel is not None else {},
                 "backplane": server.backplane_stats().dropped, "cpu": time.process_time(),
                 "stats": dataclasses.asdict(server.backplane_stats())})
            continue
        say({"ok": command})
    server.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
