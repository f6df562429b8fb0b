"""One nbws server process of an app, for the backplane tests and bench:
``python tests/backplane_node.py APP BACKPLANE [POLICY [TRAITS_JSON]]``.

It starts a server (``app_name=APP``, ``backplane=BACKPLANE``) with a channel
``prices`` (POLICY, default "all") and a live plot ``loss``, prints
``{"port": ...}`` on a line, then obeys one command per line on stdin,
answering each with one JSON line: ``broadcast TEXT``, ``emit TOPIC JSON``,
``channel TEXT``, ``plot X Y`` (pushed and flushed), ``many N PREFIX``
(N broadcasts ``PREFIX0`` … at once), ``stamp`` (a broadcast of ``t<time.time()>``), ``stats`` (with
the process's CPU seconds), ``quit``. Handlers run on
this process's main thread (its asyncio loop); commands are read on a
helper thread (stdin).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import time

import nbws


async def main(app_name: str, backplane: str, policy: str, traits: dict[str, object]) -> None:
    server = nbws.start_server(app=nbws.App(), app_name=app_name, backplane=backplane, ping_interval=None,
                               max_connections=20_000, backlog=4096, max_pending_per_address=None, **traits)
    channel = server.channel("prices", policy)
    plot = nbws.LivePlot("loss", server=server, fps=100)
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
        if command == "broadcast":
            server.broadcast(rest)
        elif command == "stamp":  # a broadcast carrying the time it was sent (the bench's latency)
            server.broadcast(f"t{time.time()}")
        elif command == "many":
            count, _, prefix = rest.partition(" ")
            for i in range(int(count)):
                server.broadcast(f"{prefix}{i}")
        elif command == "emit":
            topic, _, data = rest.partition(" ")
            server.emit(topic, json.loads(data))
        elif command == "channel":
            channel.send(rest)
        elif command == "plot":
            x, y = rest.split()
            plot.push(float(x), y=float(y))
            plot.flush()
        elif command == "stats":
            say({"stats": dataclasses.asdict(server.backplane_stats()), "sockets": len(server.connections),
                 "cpu": time.process_time(),
                 "channel_pages": len(channel.pages), "plot_pages": len(plot.pages)})
            continue
        say({"ok": command})
    server.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "all",
                     json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}))
