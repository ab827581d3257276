"""Bounded concurrency: `max_active` generations at once, `max_queue` waiting, 429 beyond.

`admit()` decides at once (so a 429 is sent before any response starts); the returned
admission then waits for a slot and holds it for as long as the response streams.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

from galen.errors import Overloaded


class Admission:
    def __init__(self, limiter: Limiter) -> None:
        self.limiter = limiter

    async def __aenter__(self) -> None:
        limiter = self.limiter
        try:
            await limiter.slots.acquire()
        finally:
            limiter.waiting -= 1
        limiter.active += 1

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.limiter.active -= 1
        self.limiter.slots.release()


class Limiter:
    def __init__(self, max_active: int, max_queue: int) -> None:
        self.max_active = max_active
        self.max_queue = max_queue
        self.slots = asyncio.Semaphore(max_active)
        self.waiting = 0
        self.active = 0

    def admit(self) -> Admission:
        if self.active + self.waiting >= self.max_active + self.max_queue:
            raise Overloaded(
                f"server busy: {self.active} requests running and {self.waiting} queued "
                f"(limits {self.max_active} and {self.max_queue}); retry shortly",
                retry_after=1,
            )
        self.waiting += 1
        return Admission(self)
