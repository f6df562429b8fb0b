"""The I/O plane: everything that runs on the "nbws-io" thread.

The request path, in file order: :mod:`.http` (h11, timers, the one response
writer) → :mod:`.head` (the head's checks) → :mod:`.routes` (the route table:
live pages, assets, :mod:`.static` paths) or the app's handlers on the
handler plane; :mod:`.body` reads bounded request bodies. The frame path:
:mod:`.upgrade` (the handshake, shared with the client's :mod:`.session`) →
:mod:`.wsconn` (protocol driver, timers) → :mod:`.assembler` (frames →
messages, pure) → the handler plane. :mod:`.endpoint` is one server's
I/O-side state, :mod:`.capacity` its connection table.
"""
