"""The classroom's pages: the student page, the instructor's panel, a poll's
live chart and the projector. Plain HTML + ES modules using ``nbws.js``, no
build step; served from memory by the I/O thread.

The instructor's pages carry the instructor key in the URL's fragment
(``#key=...``): browsers never send a fragment to the server, so it stays out
of logs and ``Referer`` headers; the page sends it in its ``hello``.
"""

from __future__ import annotations

import html
import json

__all__ = ["student_page", "view_page"]

_STYLE = """
:root{color-scheme:light dark;--fg:#1b1f24;--bg:#fff;--muted:#667;--accent:#2563eb;--bar:#60a5fa;--line:#dde}
@media (prefers-color-scheme:dark){:root{--fg:#e6e6e6;--bg:#16181c;--muted:#99a;--accent:#7aa2ff;--bar:#3b82f6;--line:#334}}
*{box-sizing:border-box}body{margin:0;font:16px/1.4 system-ui,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:40rem;margin:0 auto;padding:1rem}h1{font-size:1.2rem;margin:.2rem 0 1rem}
button,input,textarea{font:inherit;border-radius:.5rem;border:1px solid var(--line);padding:.7rem;width:100%;
background:var(--bg);color:var(--fg)}button{cursor:pointer;margin:.3rem 0;text-align:left}
button.chosen{border-color:var(--accent);outline:2px solid var(--accent)}button.primary{background:var(--accent);
color:#fff;text-align:center}textarea{min-height:8rem;font-family:ui-monospace,monospace}.muted{color:var(--muted)}
.status{font-size:.85rem;color:var(--muted);display:flex;justify-content:space-between;margin-bottom:.5rem}
.bar{display:flex;align-items:center;gap:.5rem;margin:.35rem 0}.bar .fill{background:var(--bar);height:1.6rem;
border-radius:.3rem;min-width:2px}.bar .label{width:35%;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
iframe.shown{width:100%;height:60vh;border:1px solid var(--line);border-radius:.5rem;background:#fff}
img.shown{max-width:100%}ul.answers{list-style:none;padding:0}ul.answers li{border-bottom:1px solid var(--line);
padding:.3rem 0}ul.answers pre{margin:.2rem 0;white-space:pre-wrap;font-size:.9rem}table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.2rem .4rem;
border-bottom:1px solid var(--line);font-size:.9rem}
"""

_BARS = """
function bars(options, counts) {
  const total = Math.max(1, counts.reduce((a, b) => a + b, 0));
  return options.map((o, i) => `<div class="bar"><span class="label">${esc(o)}</span>` +
    `<span class="fill" style="width:${(55 * counts[i] / total).toFixed(1)}%"></span><b>${counts[i]}</b></div>`).join("");
}
function answers(list) {
  return '<ul class="answers">' + list.map((x) => `<li>${x.name ? `<b>${esc(x.name)}</b>: ` : ""}` +
    `<pre>${esc(String(x.answer))}</pre></li>`).join("") + "</ul>";
}
function esc(s) { return String(s).replace(/[&<>"']/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"}[c])); }
"""

STUDENT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{style}</style></head>
<body><main>
<div class="status"><span id="who"></span><span id="state">connecting…</span></div>
<h1>{title}</h1>
<form id="join" hidden><p>Your name for this class:</p><input id="name" maxlength="{max_name}" autocomplete="nickname"
 required><button class="primary">Join</button></form>
<section id="activity"></section><section id="shown"></section>
<p id="note" class="muted"></p><button id="hand" hidden>Raise hand</button>
</main>
<script type="module">
import {{ connect }} from "./_nbws/nbws.js";
const ROOM = {room};
const store = "nbws-room:" + ROOM, pendingStore = store + ":pending";
let me = JSON.parse(localStorage.getItem(store) || "null");
const invite = new URLSearchParams(location.hash.slice(1)).get("invite");
if (invite) {{ const [student, key] = invite.split("."); me = {{student, key, name: ""}};
  localStorage.setItem(store, JSON.stringify(me)); history.replaceState(null, "", location.pathname + location.search); }}
let pending = JSON.parse(localStorage.getItem(pendingStore) || "{{}}");  // answer id -> message, until acked
let joined = false, view = null, typing = "";
const $ = (id) => document.getElementById(id);
let conn = null, name = "";
window.room = {{ get conn() {{ return conn; }}, get me() {{ return me; }}, get view() {{ return view; }},
  get pending() {{ return pending; }} }};
function join() {{
  if (me) conn.send("join", {{ student: me.student, key: me.key }});
  else if (name) conn.send("join", {{ name }});
  else $("join").hidden = false;
}}
$("join").onsubmit = (ev) => {{ ev.preventDefault(); name = $("name").value.trim();
  if (name) {{ $("join").hidden = true; if (conn) join(); else start(); }} }};
// the socket opens once there is someone to join as: the room closes a socket that does not join within 10 s
if (me) start(); else {{ $("join").hidden = false; $("state").textContent = ""; }}
function start() {{
// a phone whose Wi-Fi died is noticed within 10 s (heartbeats are answered on the I/O thread)
conn = connect({{ path: "_room/ws", heartbeat: true, heartbeatInterval: 5000, heartbeatTimeout: 5000 }});
conn.on("status", (s) => {{ $("state").textContent = s; if (s !== "open") joined = false; }});
conn.on("open", join);
conn.topic("welcome", (d) => {{
  me = d; joined = true; localStorage.setItem(store, JSON.stringify(d));
  $("who").textContent = d.name; $("hand").hidden = false;
  for (const msg of Object.values(pending)) conn.send("answer", msg);   // resent: counted once
}});
conn.topic("ack", (d) => {{ delete pending[d.id]; localStorage.setItem(pendingStore, JSON.stringify(pending));
  $("note").textContent = "Answer received ✓"; }});
conn.topic("refused", (d) => {{
  if (d.id) {{ delete pending[d.id]; localStorage.setItem(pendingStore, JSON.stringify(pending)); }}
  if (/unknown student/.test(d.reason)) {{ me = null; localStorage.removeItem(store); join(); }}
  else if (!me) {{ name = ""; $("join").hidden = false; }}  // a name refused: ask again
  $("note").textContent = d.reason;
}});
conn.topic("view", (v) => {{ view = v; render(v); }});
conn.topic("shown", (s) => show(s));  // sent only when what is shown changes (a view carries its id)
conn.topic("ended", () => {{
  conn.close(); $("join").hidden = true; $("hand").hidden = true; $("state").textContent = "ended";
  $("activity").innerHTML = '<p class="muted">The class has ended. Thank you!</p>';
}});
}}
// shown HTML runs in a sandboxed frame (no access to this page or its identity); it only reports its height
const FRAME = '<style>body{{font:15px/1.4 system-ui,sans-serif;margin:.6rem;color:#1b1f24}}table{{border-collapse:collapse;border:0}}' +
  'th,td{{padding:.25rem .6rem;border:0;border-bottom:1px solid #dde;text-align:right}}</style>';
const FRAME_END = '<script>' +
  'new ResizeObserver(() => parent.postMessage({{nbwsHeight: Math.ceil(document.body.getBoundingClientRect().bottom) + 12}}, "*"))' +
  '.observe(document.body)</scr' + 'ipt>';
addEventListener("message", (ev) => {{
  const frame = document.querySelector("#shown iframe.shown"), h = ev.data && ev.data.nbwsHeight;
  if (frame && ev.source === frame.contentWindow && typeof h === "number")
    frame.style.height = Math.min(Math.max(h + 4, 48), 4000) + "px";
}});
$("hand").onclick = () => {{ const up = !(view && view.you.hand); conn.send("hand", {{ raised: up }}); }};
function answer(activity, value) {{
  const id = crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2) + Date.now();
  const a = view && view.activity, msg = {{ activity, value, id }};
  if (a && a.id === activity) msg.round = a.round;  // the round this page showed: a stale answer is refused
  pending[id] = msg; localStorage.setItem(pendingStore, JSON.stringify(pending));
  if (joined) conn.send("answer", msg);
  $("note").textContent = "Sending…";
}}
window.room.answer = answer;
{bars}
function render(v) {{
  $("who").textContent = v.you.name; $("hand").textContent = v.you.hand ? "Lower hand" : "Raise hand";
  const a = v.activity, box = $("activity");
  if (!a) box.innerHTML = '<p class="muted">Waiting for the instructor…</p>';
  else if (a.kind === "choice") {{
    box.innerHTML = `<h2>${{esc(a.prompt)}}</h2>` + (a.results ? bars(a.options, a.results) :
      a.options.map((o, i) => `<button data-i="${{i}}" class="${{a.mine === i ? "chosen" : ""}}" ${{a.open ? "" : "disabled"}}>${{esc(o)}}</button>`).join(""))
      + (a.open ? "" : '<p class="muted">Closed.</p>');
    box.querySelectorAll("button[data-i]").forEach((b) => b.onclick = () => answer(a.id, Number(b.dataset.i)));
  }} else {{
    const field = a.kind === "number" ? '<input id="ans" type="number" step="any">' : '<textarea id="ans" spellcheck="false"></textarea>';
    if (!box.querySelector("#ans") || box.dataset.id !== a.id) {{
      box.dataset.id = a.id;
      box.innerHTML = `<h2>${{esc(a.prompt)}}</h2>${{field}}<button class="primary" id="send">Send</button><p id="mine" class="muted"></p>`;
      $("send").onclick = () => {{ const raw = $("ans").value; answer(a.id, a.kind === "number" ? Number(raw) : raw); }};
    }}
    $("send").disabled = !a.open;
    $("mine").textContent = a.mine == null ? "" : "Your last answer: " + String(a.mine).slice(0, 200);
    let shared = box.querySelector(".answers");
    if (!shared) {{ shared = document.createElement("div"); shared.className = "answers"; box.appendChild(shared); }}
    shared.innerHTML = a.answers ? answers(a.answers) + (a.omitted ? `<p>and ${{a.omitted}} more</p>` : "") : "";
  }}
}}
function show(s) {{
  const out = $("shown");
  if (!s) {{ out.innerHTML = ""; delete out.dataset.v; }}
  else if (out.dataset.v !== s.id) {{
    out.dataset.v = s.id;
    if (s.kind === "image") out.innerHTML = `<img class="shown" alt="" src="${{s.src}}">`;
    else if (s.kind === "text") out.innerHTML = `<pre>${{esc(s.text)}}</pre>`;
    else if (s.kind === "frame") out.innerHTML = `<iframe class="shown live" src="${{esc(s.path + location.search)}}"></iframe>`;
    else {{ out.innerHTML = '<iframe class="shown" sandbox="allow-scripts"></iframe>'; out.firstChild.srcdoc = FRAME + s.html + FRAME_END; }}
  }}
}}
</script></body></html>
"""

VIEW = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{style}
main{{max-width:none;display:flex;gap:2rem;align-items:flex-start}}body.projector{{font-size:1.6rem}}
.qr svg{{display:block;width:100%;height:auto;background:#fff;padding:.4rem;border-radius:.5rem}}
.qr{{width:11rem;flex:none}}body.projector .qr{{width:min(42vw,80vh)}}.join{{word-break:break-all;font-size:.8rem}}
body.projector .join{{font-size:1.1rem}}</style></head>
<body class="{mode}"><main>
<div class="qr" {qr_hidden}><div id="qr">{qr}</div><div class="join" id="join">{join}</div></div>
<div style="flex:1"><div class="status"><span id="count"></span><span id="state">connecting…</span></div>
<div id="body"></div></div>
</main>
<script type="module">
import {{ connect }} from "{root}_nbws/nbws.js";
const MODE = {mode_js}, ACTIVITY = {activity}, JOIN = {join_js};
// the key leaves the address bar once read (kept for a reload of this tab only)
const keyStore = "nbws-room-key:" + location.pathname;
const key = new URLSearchParams(location.hash.slice(1)).get("key") || sessionStorage.getItem(keyStore) || "";
sessionStorage.setItem(keyStore, key);
if (location.hash) history.replaceState(null, "", location.pathname + location.search);
const conn = connect({{ path: "_room/view", heartbeat: true }});
window.room = {{ conn, last: null }};
conn.on("open", () => {{
  conn.send("hello", {{ key }});
  if (JOIN && !/^https?:/.test(JOIN)) {{  // a proxy path: the absolute URL (and its QR code) is known here only
    const url = new URL(JOIN, location.href).href;
    document.getElementById("join").textContent = url;
    conn.send("qr", {{ url }});
  }}
}});
conn.topic("qr", (d) => {{ document.getElementById("qr").innerHTML = d.svg; }});
conn.on("status", (s) => document.getElementById("state").textContent = s);
{bars}
function results(a) {{
  if (!a) return '<p class="muted">No question yet.</p>';
  let body = `<h2>${{esc(a.prompt)}}</h2><p class="muted">${{a.answered}} answered · ${{a.open ? "open" : "closed"}}` +
    (a.round > 1 ? ` · round ${{a.round}}` : "") + "</p>";
  if (a.results) body += bars(a.options, a.results);
  if (a.answers) body += answers(a.answers);
  if (a.rounds && a.rounds.length > 1 && MODE !== "projector")
    body += a.rounds.slice(0, -1).map((r, i) => `<details><summary>round ${{i + 1}}</summary>${{bars(a.options, r)}}</details>`).join("");
  return body;
}}
conn.topic("room", (r) => {{
  window.room.last = r;
  document.getElementById("count").textContent = `${{r.connected}} connected` + (r.hands.length ? ` · ${{r.hands.length}} hand(s) up` : "");
  const current = r.activities.find((a) => a.id === (ACTIVITY || r.current));
  let body = results(current);
  if (MODE === "panel") {{
    if (r.hands.length) body += `<p><b>Hands up:</b> ${{r.hands.map(esc).join(", ")}}</p>`;
    body += "<table><tr><th>student</th><th>connected</th><th>answers</th></tr>" + r.roster.map((s) =>
      `<tr><td>${{esc(s.name)}}</td><td>${{s.connected ? "●" : "○"}}</td><td>${{s.answers}}</td></tr>`).join("") + "</table>";
  }}
  document.getElementById("body").innerHTML = body;
}});
</script></body></html>
"""


def student_page(room: str, title: str, max_name: int) -> bytes:
    """The page students open (the join URL)."""
    return STUDENT.format(title=html.escape(title), style=_STYLE, room=json.dumps(room), max_name=max_name,
                          bars=_BARS).encode()


def view_page(title: str, mode: str, qr_svg: str, join_url: str, activity: str | None = None,
              root: str = "../") -> bytes:
    """An instructor view: ``mode`` is ``panel`` (roster and current results),
    ``poll`` (one activity's live chart) or ``projector`` (large QR code and
    results, no names). ``root`` is the server root relative to the page's
    URL (``"../"`` at ``/_room/panel``, ``"../../"`` at ``/_room/poll/a1``)."""
    show_qr = mode in ("panel", "projector")
    return VIEW.format(title=html.escape(title), style=_STYLE, mode=mode, root=root, mode_js=json.dumps(mode),
                       activity=json.dumps(activity), join_js=json.dumps(join_url if show_qr else ""), bars=_BARS, qr=qr_svg if show_qr else "",
                       qr_hidden="" if show_qr else "hidden", join=html.escape(join_url) if show_qr else "").encode()
