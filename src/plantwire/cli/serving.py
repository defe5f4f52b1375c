"""How `plantwire serve` listens (one process, or N ingest processes sharing the port), and how a
worker on the bus runs system feeds (only while it leads).

With `--ingest-processes N` each process binds its own socket with SO_REUSEPORT, so the kernel
spreads connections over them, and validates on its own core; they append to the one journal in
turns (SqliteJournal's process lock, or PostgreSQL's head row), so sequence order stays commit
order. Delivery then runs in a child worker process, never in an ingest process.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket
from collections.abc import Callable, Coroutine
from typing import Any


def shared_port_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket that other processes may bind to the same port (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def run_http(app: Any, host: str, port: int, shared: bool) -> None:
    """Serve `app` with uvicorn until stopped; on a shared port when other processes serve it too."""
    import uvicorn

    gc.freeze()  # what start-up built lives as long as the process: no collection need look at it
    gc.set_threshold(20_000, 20, 50)  # an ingest batch allocates thousands of short-lived objects
    config = uvicorn.Config(app, host=host, port=port, loop="uvloop", http="httptools", access_log=False,
                            log_level="warning", timeout_graceful_shutdown=5)
    if not shared:
        uvicorn.Server(config).run()
        return
    sock = shared_port_socket(host, port)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


async def while_leading(run: Callable[[asyncio.Event], Coroutine[Any, Any, None]], lead: Callable[[], bool],
                        stop: asyncio.Event, every: float = 1.0) -> None:
    """Run `run` (a system feed's poll loop) only while this process leads, until `stop`: with
    several workers on the bus, one polls each feed, not all (a short overlap at a hand-over is
    harmless: ingest drops what was already journaled)."""
    while not stop.is_set():
        if not lead():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
            continue
        halt = asyncio.Event()
        task = asyncio.create_task(run(halt))
        while lead() and not stop.is_set() and not task.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
        halt.set()
        await task
