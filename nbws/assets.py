"""The browser helper, served by every server under ``/_nbws/``.

``js/nbws.js`` (the connection) and ``js/chart.js`` (the live-plot chart, with
its parts ``js/chart-*.js`` beside it) are the one copy; their declarations
are generated into ``js/types/``. The modules import each other relatively
(``./chart-math.js``), so they work under any prefix. Wheels carry them flat in
``nbws/_static/`` (see pyproject.toml); a source checkout reads them from
``js/``. The classic-script form (global ``nbws``, connection and chart) is
derived from the modules here, not kept by hand."""

from __future__ import annotations

import functools
import pathlib
import re

from .static import etag_for_bytes

__all__ = ["asset", "ASSET_PREFIX", "exported_names", "to_global_script"]

ASSET_PREFIX = "/_nbws/"
_HERE = pathlib.Path(__file__).resolve().parent


_JS = "text/javascript; charset=utf-8"
_TEXT = "text/plain; charset=utf-8"
# the modules, in dependency order (each after those it imports): the order of nbws.global.js
_MODULES = ("nbws-envelope.js", "nbws-errors.js", "nbws-session.js", "nbws-listeners.js", "nbws-queue.js",
            "nbws-link.js", "nbws.js", "chart-math.js", "chart-view.js", "chart-draw.js", "chart-controls.js",
            "chart-touch.js", "chart-live.js", "chart.js")
_PUBLIC = ("nbws.js", "chart.js")  # what pages import; their exports are the global nbws's names
_FILES = {  # asset name -> (path under js/, content type)
    **{name: (name, _JS) for name in _MODULES},
    **{name[:-3] + ".d.ts": ("types/" + name[:-3] + ".d.ts", _TEXT) for name in _MODULES},
}

_IMPORT = re.compile(r'^import \{[^}]*\} from "\./[\w.-]+\.js";\n', re.M)
_REEXPORT = re.compile(r'^export \{([^}]*)\} from "\./[\w.-]+\.js";\n', re.M)
_DECLARED = re.compile(r"^(export )?(?:async )?(?:function|class|const|let) ([A-Za-z_$][\w$]*)", re.M)


def _source(name: str) -> bytes | None:
    for candidate in (_HERE / "_static" / name, _HERE.parent / "js" / _FILES[name][0]):
        if candidate.is_file():
            return candidate.read_bytes()
    return None


def exported_names(source: str) -> list[str]:
    """The names an ES module exports: its ``export function|class|const|let``
    declarations and the names it re-exports (``export { a, b } from "./x.js"``).
    Pure, safe on any thread."""
    names = [m.group(2) for m in _DECLARED.finditer(source) if m.group(1)]
    for group in _REEXPORT.findall(source):
        for name in filter(None, (n.strip() for n in group.split(","))):
            if not re.fullmatch(r"[A-Za-z_$][\w$]*", name):  # "a as b": the classic script has no b
                raise ValueError(f"re-export {name!r}: re-export names as they are declared")
            names.append(name)
    return names


def to_global_script(*module_sources: str, exports: list[str] | None = None) -> str:
    """Turn the ES modules (in dependency order) into one classic script that
    defines ``window.nbws``.

    ``export`` keywords, the modules' imports of each other (``import ...
    from "./x.js"``) and their re-exports (``export { ... } from "./x.js"``)
    are dropped: the modules share one scope, so a name declared at the top
    level of two of them is a ValueError. ``import.meta.url`` becomes the
    script's own URL, and ``exports`` (default: every name the modules export)
    are collected on the global object. Pure, safe on any thread."""
    names: list[str] = []
    declared: set[str] = set()
    bodies: list[str] = []
    for source in module_sources:
        for match in _DECLARED.finditer(source):
            if match.group(2) in declared:
                raise ValueError(f"{match.group(2)!r} is declared by two modules of the classic script")
            declared.add(match.group(2))
        names += exported_names(source)
        body = _REEXPORT.sub("", _IMPORT.sub("", source))
        body = re.sub(r"^export ", "", body, flags=re.M)
        bodies.append(body.replace("import.meta.url", "_nbwsScriptUrl").replace("// @ts-check\n", "", 1))
    names = list(dict.fromkeys(names if exports is None else exports))
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
        parts = {part: _source(part) for part in _MODULES}
        if None in parts.values():
            return None
        sources = {part: body.decode("utf-8") for part, body in parts.items() if body is not None}
        exports = [n for part in _PUBLIC for n in exported_names(sources[part])]
        data = to_global_script(*sources.values(), exports=exports).encode("utf-8")
        kind = _JS
    elif name in _FILES:
        data = _source(name)
        kind = _FILES[name][1]
    else:
        return None
    if data is None:
        return None
    return data, kind, etag_for_bytes(data)
