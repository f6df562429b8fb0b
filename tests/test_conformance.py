"""RFC 6455 conformance: the Autobahn cases, run by kosoku, against an nbws
echo server with permessage-deflate enabled.

The fast cases (all but 12.* and 13.*, the compression-ratio suites) run
every time; the full suite runs when CI=true (about 4 minutes here).
"""

from __future__ import annotations

import asyncio
import collections
import os

import kosoku
import pytest

import nbws
from tests.conftest import echo_app, run

ACCEPTABLE = {"OK", "NON-STRICT", "INFORMATIONAL"}
CLEAN_CLOSE = {"OK", "INFORMATIONAL"}


def autobahn(exclude: list[str]) -> list[kosoku.CaseResult]:
    async def main() -> list[kosoku.CaseResult]:
        server = nbws.start_server(app=echo_app(), compression=True, ping_interval=None,
                                   max_message_size=64 * 1024 * 1024)
        try:
            return list(await kosoku.run_fuzzingclient(server.ws_url.rstrip("/"), exclude_cases=exclude,
                                                       concurrency=2))
        except kosoku.FailureError as exc:
            return list(exc.results)

    return run(main, timeout=1500)


def check(results: list[kosoku.CaseResult]) -> None:
    verdicts = collections.Counter(r.behavior.value for r in results)
    print("Autobahn verdicts:", dict(verdicts), "close:", dict(collections.Counter(r.behavior_close.value for r in results)))
    bad = [(r.case_id, r.behavior.value, r.behavior_close.value, r.result, r.result_close)
           for r in results if r.behavior.value not in ACCEPTABLE or r.behavior_close.value not in CLEAN_CLOSE]
    assert bad == []
    assert verdicts["FAILED"] == 0 and verdicts["UNIMPLEMENTED"] == 0


def test_autobahn_fast_cases_pass() -> None:
    results = autobahn(["12.*", "13.*"])
    assert len(results) > 290
    check(results)


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.skipif(os.environ.get("CI") != "true", reason="the full suite runs in CI (CI=true)")
def test_autobahn_full_suite_passes() -> None:
    results = autobahn(["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "9.*", "10.*"])
    assert len(results) == 216  # 12.* and 13.*: permessage-deflate
    check(results)


def autobahn_client(exclude: list[str]) -> list[kosoku.CaseResult]:
    """kosoku serves the cases; the nbws client echoes every message."""

    async def main() -> list[kosoku.CaseResult]:
        async with kosoku.run_fuzzingserver(port=0, exclude_cases=exclude) as fuzzer:
            base = f"ws://{fuzzer.address}:{fuzzer.port}"
            count = int(await nbws.connect(base + "/getCaseCount").areceive(timeout=10))
            for case in range(1, count + 1):
                closed = asyncio.get_running_loop().create_future()
                ws = nbws.connect(f"{base}/runCase?case={case}&agent=nbws", compression=True, max_message_size=None,
                                  send_buffer_size=1 << 30,  # the fuzzer sends whole batches before reading
                                  ping_interval=None,
                                  on_close=lambda code, reason, f=closed: f.done() or f.set_result(code))

                def echo(message: nbws.websocket.Message, ws: nbws.ClientWebSocket = ws) -> None:
                    if not ws.closed:
                        ws.send(message)

                ws.on_message(echo)
                await asyncio.wait_for(closed, 120)
            finished = asyncio.get_running_loop().create_future()
            nbws.connect(f"{base}/updateReports?agent=nbws",  # the fuzzer closes it at once
                         on_close=lambda code, reason: finished.done() or finished.set_result(code))
            await asyncio.wait_for(finished, 30)
            try:
                return list(await asyncio.wait_for(fuzzer.get_result(), 120))
            except kosoku.FailureError as exc:
                return list(exc.results)

    return run(main, timeout=1500)


def test_autobahn_client_fast_cases_pass() -> None:
    results = autobahn_client(["12.*", "13.*"])
    assert len(results) > 290
    check(results)


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.skipif(os.environ.get("CI") != "true", reason="the full suite runs in CI (CI=true)")
def test_autobahn_client_full_suite_passes() -> None:
    results = autobahn_client(["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "9.*", "10.*"])
    assert len(results) == 216
    check(results)
