"""Admission: every choice of every request is bounded, from the first byte to the last token.

A request asks for `choices` units of work (prompts x `n`; 1 for /tokenize). `Limiter.admit()`
decides at once, before any response starts:

- more choices than one request may ask for (`--max-choices`, and never more than the server
  could ever hold) is a 400 naming the parameter;
- more than `max_active + max_queue` choices admitted and unfinished is a 429 with Retry-After;
- a server that is shutting down answers 503.

The returned `Admission` is the request's reservation. Each piece of engine work (templating and
tokenising, then each choice) runs in a `slot()`: at most `max_active` slots are held at once,
so threads, memory and engine load stay bounded however a request is shaped. `Slot.iterate()`
consumes an engine stream in a worker thread (`bridge.iterate_in_thread`) and registers it, so
that a shutdown past its timeout can stop every running generation (`Limiter.abort()`).

Routers use it in one way (see chat_completions.py):

    async with state.limiter.admit(n) as admission:          # 400 / 429 / 503 at once
        prepared = await admission.call(render_and_tokenize)  # in a slot
        if streamed:                                          # the stream releases it at its end
            owned = admission.transfer()
            return await start_stream(owned, events(owned))   # each choice: `async with owned.slot()`
        return await admission.run_all(choices)               # each choice in its own slot
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from galen.errors import BadRequest, Overloaded, ShuttingDown
from galen.serve.bridge import iterate_in_thread

T = TypeVar("T")


class Slot:
    """One unit of engine work in progress."""

    def __init__(self, limiter: Limiter) -> None:
        self.limiter = limiter

    def iterate(self, make: Callable[[], Iterator[T]]) -> AsyncIterator[T]:
        """Consume the engine stream `make()` from a worker thread; an abort interrupts it."""
        return iterate_in_thread(make, self.limiter.interrupts)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking work (templating, tokenising) in a worker thread while holding the slot."""
        return await asyncio.to_thread(fn, *args)


class Admission:
    """A request's reservation of `choices` units; released when the request ends."""

    def __init__(self, limiter: Limiter, choices: int) -> None:
        self.limiter = limiter
        self.left = choices

    @asynccontextmanager
    async def slot(self, *, finishes_choice: bool = True) -> AsyncIterator[Slot]:
        """Wait for a free slot and hold it. `finishes_choice=False` is for preparatory work
        (rendering, tokenising): it does not use up one of the request's choices."""
        limiter = self.limiter
        await limiter.slots.acquire()
        try:
            if limiter.aborting:
                raise ShuttingDown()
            limiter.active += 1
            try:
                yield Slot(limiter)
            finally:
                limiter.active -= 1
        finally:
            limiter.slots.release()
            if finishes_choice and self.left > 0:
                self.left -= 1
                limiter.reserved -= 1

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Preparatory blocking work (templating, tokenising) in a slot and a worker thread."""
        async with self.slot(finishes_choice=False) as slot:
            return await slot.call(fn, *args)

    async def run_all(self, works: list[Callable[[Slot], Awaitable[T]]]) -> list[T]:
        """Run each work in its own slot, concurrently; the first failure cancels the rest."""

        async def one(work: Callable[[Slot], Awaitable[T]]) -> T:
            async with self.slot() as slot:
                return await work(slot)

        tasks = [asyncio.ensure_future(one(work)) for work in works]
        try:
            return list(await asyncio.gather(*tasks))
        finally:
            for task in tasks:
                task.cancel()

    def transfer(self) -> Admission:
        """Hand the reservation to what outlives the current scope (a stream that ends later)."""
        taken = Admission(self.limiter, 0)
        taken.left, self.left = self.left, 0
        return taken

    def release(self) -> None:
        """Give back the choices that never ran (the request failed or its client left)."""
        self.limiter.reserved -= self.left
        self.left = 0

    async def __aenter__(self) -> Admission:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release()


class Limiter:
    """`max_active` slots at once, `max_queue` more choices waiting, 429 beyond."""

    def __init__(self, max_active: int, max_queue: int, max_choices: int = 64) -> None:
        self.max_active = max_active
        self.max_queue = max_queue
        # A request larger than the server could ever hold would get 429 forever: refuse it.
        self.max_choices = max(1, min(max_choices, max_active + max_queue))
        self.slots = asyncio.Semaphore(max_active)
        self.reserved = 0  # choices admitted and not finished: running or waiting
        self.active = 0  # slots held
        self.closing = False
        self.aborting = False
        self.interrupts: set[Callable[[BaseException], None]] = set()

    @property
    def waiting(self) -> int:
        return max(0, self.reserved - self.active)

    def admit(self, choices: int = 1, param: str | None = "n") -> Admission:
        if self.closing:
            raise ShuttingDown()
        if choices > self.max_choices:
            raise BadRequest(
                param,
                f"the request asks for {choices} choices (prompts x n); this server takes at most "
                f"{self.max_choices} per request",
                code="too_many_choices",
            )
        if self.reserved + choices > self.max_active + self.max_queue:
            raise Overloaded(
                f"server busy: {self.active} choices running and {self.waiting} queued "
                f"(limits {self.max_active} and {self.max_queue}); retry shortly",
                retry_after=1,
            )
        self.reserved += choices
        return Admission(self, choices)

    # -- shutdown ---------------------------------------------------------------------------
    def close(self) -> None:
        """Admit nothing more; work already admitted goes on."""
        self.closing = True

    def abort(self) -> None:
        """Stop every running generation with a ShuttingDown error; waiting work fails too."""
        self.closing = self.aborting = True
        for interrupt in list(self.interrupts):
            interrupt(ShuttingDown("the server is shutting down; the generation was stopped"))

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is admitted; False if `timeout` seconds pass first."""
        deadline = time.monotonic() + timeout
        while self.reserved > 0 or self.active > 0:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.05)
        return True
