"""Real headless Chromium (Debian's package) driven by Playwright's async API
on the test's own event loop, which is also the nbws handler loop."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import pytest
from playwright.async_api import Browser, async_playwright

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Chromium is missing: install Debian's package (apt-get install chromium); .ci/run does")
    return path


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


T = TypeVar("T")


def drive(env: tuple[asyncio.AbstractEventLoop, Browser], main: Callable[[Browser], Awaitable[T]],
          timeout: float = 90) -> T:
    loop, browser = env
    return loop.run_until_complete(asyncio.wait_for(main(browser), timeout))
