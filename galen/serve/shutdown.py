"""Graceful shutdown: on SIGTERM (or Ctrl+C) stop admitting, let in-flight work finish within
`--shutdown-timeout` seconds, stop what is still running, release the engine, exit 0.

uvicorn already stops accepting connections and waits for open ones; what it cannot know is
galen's own work. So before uvicorn's shutdown this server:

1. closes the limiter: new requests get 503 with Retry-After, `/health` answers 503 "draining";
2. waits up to the timeout for admitted choices to finish;
3. aborts the rest: running generations stop, a stream ends with an error event and `[DONE]`,
   a non-streamed request gets a 503; then uvicorn closes connections and the lifespan's end
   closes the engine.

uvicorn re-raises the signal once it has shut down, so that the process dies by it (exit 143).
A server that drained cleanly should exit 0, as systemd and Kubernetes expect from a clean stop,
so this class captures the signals without re-raising them.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from galen.serve.limits import Limiter

log = logging.getLogger("galen.serve")
ABORT_GRACE = 5.0  # seconds for aborted work to send its last event
CONNECTION_GRACE = 5  # seconds uvicorn then waits for connections before it cancels them


class GracefulServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, limiter: Limiter, timeout: float) -> None:
        super().__init__(config)
        self.limiter = limiter
        self.timeout = timeout

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        originals = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in originals.items():
                signal.signal(sig, handler)

    async def shutdown(self, sockets: list | None = None) -> None:
        await drain(self.limiter, self.timeout)
        await super().shutdown(sockets)


async def drain(limiter: Limiter, timeout: float) -> None:
    limiter.close()
    log.info("shutting down: waiting up to %.0fs for %d choices", timeout, limiter.reserved)
    if await limiter.wait_idle(timeout):
        return
    running, queued = limiter.active, limiter.waiting
    log.warning("shutdown timeout passed: stopping %d running and %d queued choices", running, queued)
    limiter.abort()
    await limiter.wait_idle(ABORT_GRACE)


def serve(app: FastAPI, limiter: Limiter, host: str, port: int, timeout: float) -> None:
    """Run `app` until SIGTERM or Ctrl+C, then shut down as described above."""
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=CONNECTION_GRACE
    )
    GracefulServer(config, limiter, timeout).run()
