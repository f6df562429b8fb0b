"""The 64-byte p50 round trip of several echo servers, measured in turns.

``echo_bench.py`` measures one server after another, each for a fraction of a
second; on a shared machine the load changes between them, and one run's
ratio says little. Here every server is alive at once (each in its own
process pinned to core 0, as in ``echo_bench.py``; the picows client on core
1) and the client rotates between them in blocks of round trips, so each
round's ratio to the first server compares moments a second apart.

Servers are ``NAME=KIND[@TREE][,ENV=VALUE...]``: KIND is one of
``echo_bench.py``'s subprocess servers (nbws, tornado, websockets), TREE a
checkout whose ``nbws`` and ``bench/echo_bench.py`` to run (default: this one),
ENV settings for that server's process (``NBWS_POLL_US=0``, ...).

    python bench/interleave_bench.py tornado=tornado nbws=nbws
    python bench/interleave_bench.py tornado=tornado before=nbws@/tmp/main nbws=nbws
    python bench/interleave_bench.py tornado=tornado off=nbws,NBWS_IO_POLL_US=0 nbws=nbws
    python bench/interleave_bench.py --fresh ...   # a new process per block, as echo_bench does
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

import echo_bench as eb

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class Spec:
    name: str
    kind: str
    tree: str = ROOT
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Spec:
        name, _, rest = text.partition("=")
        server, *settings = rest.split(",")
        kind, _, tree = server.partition("@")
        env = dict(s.split("=", 1) for s in settings)
        return cls(name, kind, os.path.abspath(tree) if tree else ROOT, env)

    def start(self, port: int) -> subprocess.Popen[str]:
        env = {**os.environ, "PYTHONPATH": self.tree, **self.env}
        proc = subprocess.Popen([sys.executable, os.path.join(self.tree, "bench", "echo_bench.py"), "--serve",
                                 self.kind, "--port", str(port)], stdout=subprocess.PIPE, text=True, env=env)
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            proc.kill()
            raise RuntimeError(f"{self.name} did not start")
        return proc


async def p50(client: eb.Client, count: int) -> float:
    """The median of ``count`` round trips, one 64-byte message in flight (µs)."""
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        client.send(b"x" * 64)
        await client.expect(1)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1e6


async def measure(specs: list[Spec], rounds: int, count: int, fresh: bool) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {s.name: [] for s in specs}
    running: dict[str, tuple[subprocess.Popen[str], eb.Client]] = {}

    async def open_one(spec: Spec) -> tuple[subprocess.Popen[str], eb.Client]:
        port = eb.free_port()
        proc = spec.start(port)
        client = eb.Client()
        await client.connect(f"ws://127.0.0.1:{port}/")
        await p50(client, 500)  # warm-up, as echo_bench.py does
        return proc, client

    try:
        for r in range(rounds):
            turn = r % len(specs)
            for spec in specs[turn:] + specs[:turn]:  # rotate who goes first
                if spec.name not in running:
                    running[spec.name] = await open_one(spec)
                results[spec.name].append(await p50(running[spec.name][1], count))
                if fresh:
                    proc, client = running.pop(spec.name)
                    client.close()
                    proc.kill()
                    proc.wait()
    finally:
        for proc, _ in running.values():
            proc.kill()
            proc.wait()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("servers", nargs="+", type=Spec.parse, help="NAME=KIND[@TREE][,ENV=VALUE...]; the first is the reference")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--count", type=int, default=1000, help="round trips per block")
    parser.add_argument("--fresh", action="store_true", help="a new server process for every block")
    args = parser.parse_args()
    eb.pin(1)
    try:
        import uvloop

        results = uvloop.run(measure(args.servers, args.rounds, args.count, args.fresh))
    except ImportError:  # pragma: no cover
        results = asyncio.run(measure(args.servers, args.rounds, args.count, args.fresh))
    reference = results[args.servers[0].name]
    print(f"| server | p50 (µs), median of {args.rounds} blocks | / {args.servers[0].name}, median | range |")
    print("|---|---|---|---|")
    for name, values in results.items():
        ratios = [v / ref for v, ref in zip(values, reference, strict=True)]
        print(f"| {name} | {statistics.median(values):.1f} | {statistics.median(ratios):.2f}× "
              f"| {min(ratios):.2f}–{max(ratios):.2f}× |")


if __name__ == "__main__":
    main()
