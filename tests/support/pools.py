"""What an engine's HTTP pool still holds, on either transport."""

from __future__ import annotations

import allm


def pool_busy(engine: allm.Engine, *, asynchronous: bool = False) -> int:
    """Connections of the engine's pool that are checked out or mid-request: for httpx,
    from its pool; for the native transport, the responses it still counts in flight."""
    clients = engine.instance.clients
    if clients.transport == "native":
        return int(clients.native().in_flight)
    client = clients.own_async if asynchronous else clients.own_sync
    if client is None:
        return 0
    pool = client._transport._pool  # type: ignore[union-attr]
    return sum(1 for c in pool.connections if not (c.is_idle() or c.is_closed())) + len(pool._requests)
