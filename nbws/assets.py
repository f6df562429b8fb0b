"""The browser helper, served by every server under ``/_nbws/``.

``js/nbws.js`` is the one copy. Wheels carry it as ``nbws/_static/nbws.js``
(see pyproject.toml); a source checkout reads it from ``js/``. The classic-
script form (global ``nbws``) is derived from it here, not kept by hand.
"""

from __future__ import annotations

import functools
import pathlib
import re

from .static import etag_for_bytes

__all__ = ["asset", "ASSET_PREFIX", "to_global_script"]

ASSET_PREFIX = "/_nbws/"
_HERE = pathlib.Path(__file__).resolve().parent


def _source(name: str) -> bytes | None:
    for candidate in (_HERE / "_static" / name, _HERE.parent / "js" / name):
        if candidate.is_file():
            return candidate.read_bytes()
    return None


def to_global_script(module_source: str) -> str:
    """Turn the ES module into a classic script that defines ``window.nbws``.

    ``export`` keywords are dropped, ``import.meta.url`` becomes the script's
    own URL, and the exported names are collected on the global object."""
    names = re.findall(r"^export (?:async )?(?:function|class|const|let) ([A-Za-z_$][\w$]*)", module_source, re.M)
    body = re.sub(r"^export ", "", module_source, flags=re.M)
    body = body.replace("import.meta.url", "_nbwsScriptUrl")
    head = ("(function () {\n\"use strict\";\n"
            "const _nbwsScriptUrl = (document.currentScript && document.currentScript.src) || location.href;\n")
    tail = "\nglobalThis.nbws = { " + ", ".join(names) + " };\n})();\n"
    return head + body.replace("// @ts-check\n", "", 1) + tail


@functools.cache
def asset(path: str) -> tuple[bytes, str, str] | None:
    """(body, content type, etag) of a helper file at ``/_nbws/<name>``, or None."""
    name = path[len(ASSET_PREFIX):] if path.startswith(ASSET_PREFIX) else ""
    if name == "nbws.js":
        data = _source("nbws.js")
        kind = "text/javascript; charset=utf-8"
    elif name == "nbws.global.js":
        module = _source("nbws.js")
        data = to_global_script(module.decode("utf-8")).encode("utf-8") if module is not None else None
        kind = "text/javascript; charset=utf-8"
    elif name == "nbws.d.ts":
        data = _source("nbws.d.ts")
        kind = "text/plain; charset=utf-8"
    else:
        return None
    if data is None:
        return None
    return data, kind, etag_for_bytes(data)
