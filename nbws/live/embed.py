"""How live pages show in a notebook: an IFrame whose page follows the
notebook's theme.

An IFrame from another origin cannot read its embedding page's classes or CSS
variables, so the output itself (a small script next to the IFrame, running in
the notebook's page) reads what the notebook shows — Colab's ``theme="dark"`` /
``"light"`` on the output frame's ``<html>`` (the selector Colab's team gives
for outputs, googlecolab/colabtools#1214), JupyterLab's and Notebook 7's
``data-jp-theme-light`` on ``<body>``, VS Code's ``vscode-dark`` /
``vscode-light`` body classes — and passes it as ``?theme=`` on the IFrame's
address, again whenever it changes (the chart reloads). Without scripts (an
untrusted notebook) or any of these, the page follows the browser's
``prefers-color-scheme``. Runs on the caller's thread (pure).
"""

from __future__ import annotations

import json
import re
import secrets
from typing import TYPE_CHECKING

from ..reach import frame_html

if TYPE_CHECKING:
    from ..server import Server

__all__ = ["themed_frame_html", "THEME_SCRIPT"]

THEME_SCRIPT = """<script>(() => {
const f = document.getElementById(%s);
if (!f) return;
const theme = () => {
  const colab = document.documentElement.getAttribute("theme");
  if (colab === "dark" || colab === "light") return colab;
  const b = document.body, c = b.classList, light = b.dataset.jpThemeLight;
  return light === "false" ? "dark" : light === "true" ? "light"
    : c.contains("vscode-dark") || c.contains("vscode-high-contrast") ? "dark"
    : c.contains("vscode-light") || c.contains("vscode-high-contrast-light") ? "light" : null;
};
const apply = () => {
  const t = theme(), src = f.getAttribute("src");
  if (!t || !src) return;
  const u = new URL(src, location.href);
  if (u.searchParams.get("theme") !== t) { u.searchParams.set("theme", t); f.src = u.href; }
};
apply();
const watch = new MutationObserver(apply); // the address may come later (Colab's proxy); the theme may change
watch.observe(f, {attributes: true, attributeFilter: ["src"]});
watch.observe(document.documentElement, {attributes: true, attributeFilter: ["theme"]});
watch.observe(document.body, {attributes: true, attributeFilter: ["class", "data-jp-theme-light"]});
})();</script>"""


def themed_frame_html(server: Server, path: str, height: int = 320, theme: str = "auto") -> str:
    """:func:`nbws.reach.frame_html` for a live page, plus (with ``theme="auto"``)
    the script that passes the notebook's theme to it."""
    frame = frame_html(server, path, height)
    if theme != "auto":
        return frame  # the page has its theme already
    found = re.search(r'<iframe id="([^"]+)"', frame)
    if found:
        element = found.group(1)
    else:
        element = "nbws-" + secrets.token_hex(6)
        frame = frame.replace("<iframe ", f'<iframe id="{element}" ', 1)
    return frame + THEME_SCRIPT % json.dumps(element)
