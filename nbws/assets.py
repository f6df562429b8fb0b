"""The browser helper, served by every server under ``/_nbws/``.

``js/nbws.js`` (the connection) and ``js/chart.js`` (the live-plot chart) are
the one copy; their declarations are generated into ``js/types/``. Wheels carry
them flat in ``nbws/_static/`` (see pyproject.toml); a source checkout reads
them from ``js/``. The classic-script form (global ``nbws``, connection and
chart) is derived from the two modules here, not kept by hand.
"""

from __future__ import annotations

import functools
import pathlib
import re

from .static import etag_for_bytes

__all__ = ["asset", "ASSET_PREFIX", "to_global_script"]

ASSET_PREFIX = "/_nbws/"
_HERE = pathlib.Path(__file__).resolve().parent


_JS = "text/javascript; charset=utf-8"
_TEXT = "text/plain; charset=utf-8"
_FILES = {  # asset name -> (path under js/, content type)
    "nbws.js": ("nbws.js", _JS),
    "chart.js": ("chart.js", _JS),
    "nbws.d.ts": ("types/nbws.d.ts", _TEXT),
    "chart.d.ts": ("types/chart.d.ts", _TEXT),
}
_GLOBAL_PARTS = ("nbws.js", "chart.js")  # concatenated, in this order, into nbws.global.js


def _source(name: str) -> bytes | None:
    for candidate in (_HERE / "_static" / name, _HERE.parent / "js" / _FILES[name][0]):
        if candidate.is_file():
            return candidate.read_bytes()
    return None


def to_global_script(*module_sources: str) -> str:
    """Turn the ES modules into one classic script that defines ``window.nbws``.

    ``export`` keywords and the modules' imports of each other (``import ...
    from "./x.js"``) are dropped, ``import.meta.url`` becomes the script's own
    URL, and the exported names are collected on the global object."""
    names: list[str] = []
    bodies: list[str] = []
    for source in module_sources:
        names += re.findall(r"^export (?:async )?(?:function|class|const|let) ([A-Za-z_$][\w$]*)", source, re.M)
        body = re.sub(r"^import \{[^}]*\} from \"\./[\w.-]+\.js\";\n", "", source, flags=re.M)
        body = re.sub(r"^export ", "", body, flags=re.M)
        bodies.append(body.replace("import.meta.url", "_nbwsScriptUrl").replace("// @ts-check\n", "", 1))
    head = ("(function () {\n\"use strict\";\n"
            "const _nbwsScriptUrl = (document.currentScript && document.currentScript.src) || location.href;\n")
    tail = "\nglobalThis.nbws = { " + ", ".join(names) + " };\n})();\n"
    return head + "\n".join(bodies) + tail


@functools.cache
def asset(path: str) -> tuple[bytes, str, str] | None:
    """(body, content type, etag) of a helper file at ``/_nbws/<name>``, or None.
    A pure lookup (cached), safe on any thread."""
    name = path[len(ASSET_PREFIX):] if path.startswith(ASSET_PREFIX) else ""
    data: bytes | None
    if name == "nbws.global.js":
        parts = [_source(part) for part in _GLOBAL_PARTS]
        data = None if None in parts else to_global_script(*(p.decode("utf-8") for p in parts if p)).encode("utf-8")
        kind = _JS
    elif name in _FILES:
        data = _source(name)
        kind = _FILES[name][1]
    else:
        return None
    if data is None:
        return None
    return data, kind, etag_for_bytes(data)
