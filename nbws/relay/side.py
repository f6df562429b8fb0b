"""Which side of ``nbws relay`` an endpoint runs: a relay's, or a kernel's
(a server with user code whose backplane is shared). Runs on the I/O thread."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..io.endpoint import Endpoint

__all__ = ["start_side"]


async def start_side(endpoint: Endpoint) -> None:
    """Start the endpoint's side (after its backplane started)."""
    if endpoint.role == "relay":
        from .node import RelaySide

        relay = RelaySide(endpoint)
        endpoint.sides.append(relay)
        if relay.bp.kind == "memory":  # no broker: the kernel dials in (nbws.relay.uplink)
            from .uplink import UplinkDoor

            relay.door = UplinkDoor(relay)
            relay.door.install()
        await relay.start()
        return
    from .kernel import KernelSide

    kernel = KernelSide(endpoint)
    endpoint.kernel = kernel
    endpoint.sides.append(kernel)
    await kernel.start()
