"""Where nbws is reached from: the URL ladder, VS Code's webview origins, and
what a notebook shows in Colab (whose proxy cannot exist here: its one
browser call, ``google.colab.kernel.proxyPort``, is given by the test page).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

import nbws
from nbws.reach import frame_html, link_html
from tests.browser import chromium
from tests.conftest import echo_app, run, wait_for_condition
from tests.kernel import kernel

_ENV = ("NBWS_EXTERNAL_URL", "JUPYTERHUB_SERVICE_PREFIX", "VSCODE_PID", "VSCODE_CWD", "VSCODE_IPC_HOOK_CLI",
        "TERM_PROGRAM")


@pytest.fixture(autouse=True)
def _plain_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def colab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An importable ``google.colab`` package, which is all nbws detects Colab by."""
    package = tmp_path / "google" / "colab"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    # (not syspath_prepend: it trips over the pkg_resources shim other tests load)
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    for name in [m for m in sys.modules if m == "google" or m.startswith("google.")]:
        monkeypatch.delitem(sys.modules, name)
    importlib.invalidate_caches()
    yield
    for name in [m for m in sys.modules if m == "google" or m.startswith("google.")]:
        del sys.modules[name]


def test_the_ladder_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    assert nbws.where().chosen == "loopback"
    server = nbws.start_server(app=echo_app())
    shown = nbws.where()
    assert shown.url == server.url == f"http://127.0.0.1:{server.port}/"
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")  # jupyter-server-proxy is installed here
    shown = nbws.where(server)
    assert shown.chosen == "jupyter-server-proxy" and shown.url == f"/user/ada/proxy/{server.port}/"
    monkeypatch.setenv("NBWS_EXTERNAL_URL", "https://lab.example/p/{port}")
    shown = nbws.where(server)
    assert shown.chosen == "external_url" and shown.url == f"https://lab.example/p/{server.port}/"
    assert "NBWS_EXTERNAL_URL='https://lab.example/p/{port}'" in str(shown)
    assert "→ external_url" in str(shown) and "<table" in shown._repr_html_()


def test_colab_is_detected_and_its_links_ask_the_proxy(colab: None) -> None:
    server = nbws.start_server(app=echo_app())
    shown = nbws.where(server)
    assert shown.chosen == "colab" and shown.url is None and shown.any_host
    assert "google.colab is importable" in str(shown)
    page = link_html(server, "/live/x/")
    assert f"google.colab.kernel.proxyPort({server.port}, {{cache: true}})" in page
    assert f"http://127.0.0.1:{server.port}" not in page  # the loopback URL is useless to a Colab browser


def test_colab_accepts_its_proxys_origins_only(colab: None) -> None:
    async def main() -> None:
        server = nbws.start_server(app=echo_app())
        for origin in ("https://kdnx1f2d9q-496ff2e9c6d22116-8000-colab.googleusercontent.com",
                       "https://8000-m-s-1abc2def-b.us-west4-0.prod.colab.dev"):
            async with connect(server.ws_url, origin=origin) as ws:  # type: ignore[arg-type]
                await ws.send("through colab")
                assert await ws.recv() == "through colab"
        for origin in ("https://script.googleusercontent.com", "https://sites.googleusercontent.com",
                       "https://x.prod.colab.dev.evil.example", "http://abc-colab.googleusercontent.com"):
            with pytest.raises(InvalidStatus) as info:
                await connect(server.ws_url, origin=origin)  # type: ignore[arg-type]
            assert info.value.response.status_code == 403, origin

    run(main)


def test_colab_frame_loads_the_page_through_what_proxyport_returns(colab: None) -> None:
    """The script nbws writes into a Colab output runs in real Chromium: it
    asks ``proxyPort`` for the server's URL and the IFrame loads the live
    plot from there, whose WebSocket then opens (the page's own origin)."""

    async def main() -> None:
        plot = nbws.LivePlot("colab-test")
        output = frame_html(plot.server, f"/live/{plot.name}/")
        asked: list[str] = []
        async with chromium() as browser:
            page = await browser.new_page()
            await page.expose_function("asked", lambda port: asked.append(port))
            # Colab's output frame provides google.colab.kernel.proxyPort; its
            # proxy is the loopback here.
            await page.set_content(
                "<script>window.google = {colab: {kernel: {proxyPort: async (port, opts) => {"
                "window.asked(String(port)); return 'http://127.0.0.1:' + port; }}}};</script>"
                + output)
            await wait_for_condition(lambda: len(plot.pages) == 1, 20, what="the IFrame's plot page connected")
            assert asked == [str(plot.server.port)]
            src = await page.eval_on_selector("iframe", "f => f.src")
            assert src == f"http://127.0.0.1:{plot.server.port}/live/colab-test/"

    run(main, 60)


DARK_SHARE = """() => {
    const c = document.querySelector('canvas'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let dark = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] < 180) dark++;
    return dark / (d.length / 4);
}"""


def test_a_plot_in_colabs_dark_output_frame_is_dark_and_follows_a_theme_switch(colab: None) -> None:
    """Colab marks its output frame ``<html theme="dark">`` (or ``"light"``);
    the plot's output reads it, whatever the browser prefers, and reloads the
    chart in the new theme when it changes."""

    async def main() -> None:
        plot = nbws.LivePlot("colab-dark")
        plot.push_many(range(100), [i % 10 for i in range(100)])
        assert plot.flush(10)
        output = plot._repr_mimebundle_()["text/html"]
        async with chromium() as browser:
            page = await browser.new_page(color_scheme="light")
            await page.set_content(
                '<html theme="dark"><body><script>window.google = {colab: {kernel: {proxyPort: '
                "async (port) => 'http://127.0.0.1:' + port}}};</script>" + output + "</body></html>")
            await page.wait_for_function("document.querySelector('iframe').src.includes('theme=dark')", timeout=10000)
            inner = page.frame_locator("iframe")
            await inner.locator("canvas").wait_for(timeout=10000)
            chart = page.frames[1]
            await chart.wait_for_function("window.chart && window.chart.count() === 100", timeout=10000)
            await chart.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
            assert await chart.evaluate("window.chart.theme") == "dark"
            assert await chart.evaluate(DARK_SHARE) > 0.8
            await page.evaluate("document.documentElement.setAttribute('theme', 'light')")  # the user switches
            await page.wait_for_function("document.querySelector('iframe').src.includes('theme=light')", timeout=10000)
            # the new page's chart, not the old one's (the frame navigates some time after its src changed)
            await chart.wait_for_function("location.href.includes('theme=light') && window.chart && window.chart.count() === 100",
                                          timeout=10000)
            await chart.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
            assert await chart.evaluate("window.chart.theme") == "light"
            assert await chart.evaluate(DARK_SHARE) < 0.2

    run(main, 60)


def test_vscode_webview_origins_only_under_vscode(monkeypatch: pytest.MonkeyPatch) -> None:
    webview = "vscode-webview://1f0c2e7d9a8b4c5d"

    async def refused(url: str, origin: str) -> None:
        with pytest.raises(InvalidStatus) as info:
            await connect(url, origin=origin)  # type: ignore[arg-type]
        assert info.value.response.status_code == 403, origin

    async def main() -> None:
        plain = nbws.start_server(app=echo_app())
        await refused(plain.ws_url, webview)
        monkeypatch.setenv("VSCODE_PID", "4242")
        server = nbws.start_server(app=echo_app())
        async with connect(server.ws_url, origin=webview) as ws:  # type: ignore[arg-type]
            await ws.send("from the notebook webview")
            assert await ws.recv() == "from the notebook webview"
        for origin in ("http://evil.example", "null", "vscode-webview-x://1f0c", "https://vscode-webview.example"):
            await refused(server.ws_url, origin)
        assert "vscode" in str(nbws.where(server))

    run(main)


def test_colab_kernel_shows_proxy_links_and_opens_through_colab(tmp_path: Path) -> None:
    """In a real kernel where ``google.colab`` is importable (a stand-in
    package recording what Colab's Python API was asked), the server handle
    and %%wspage write proxyPort scripts, and ``%wsserve --open`` asks
    ``serve_kernel_port_as_window``."""
    package = tmp_path / "google" / "colab"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "output.py").write_text(
        "def serve_kernel_port_as_window(port, path='/', anchor_text=None):\n"
        "    print('serve_kernel_port_as_window', port, path)\n")
    with kernel(env={"PYTHONPATH": str(tmp_path)}) as k:
        k.run("import nbws\n%load_ext nbws\napp = {'call': lambda req: 'hi'}")
        out = k.run("s = %wsserve app --open\nprint(s.port)")
        port = out.strip().splitlines()[-1]
        assert f"serve_kernel_port_as_window {port} /" in out
        handle = k.result("s")
        assert f"google.colab.kernel.proxyPort({port}" in handle["text/html"]
        page = k.result("%%wspage /p\n<p>x</p>")
        assert "google.colab.kernel.proxyPort(" in page["text/html"]
        assert "colab" in k.run("print(nbws.where().chosen)")
