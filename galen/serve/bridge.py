"""Run a blocking iterator (an engine stream) in a worker thread and consume it with `async for`.

Leaving the `async for` early (client gone, error) closes the iterator in its thread, which
cancels the generation in the engine. An `interrupts` set lets the owner stop every consumer at
once (a shutdown past its timeout): calling one of its functions with an exception raises that
exception in the consumer, and the generation is cancelled as above.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeVar

T = TypeVar("T")
_END = object()


async def iterate_in_thread(
    make: Callable[[], Iterator[T]], interrupts: set[Callable[[BaseException], None]] | None = None
) -> AsyncIterator[T]:
    loop = asyncio.get_running_loop()
    items: asyncio.Queue[object] = asyncio.Queue()
    stop = threading.Event()

    def put(item: object) -> None:
        loop.call_soon_threadsafe(items.put_nowait, item)

    def work() -> None:
        iterator = None
        try:
            iterator = make()
            for item in iterator:
                if stop.is_set():
                    break
                put(item)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)
        finally:
            if iterator is not None and hasattr(iterator, "close"):
                iterator.close()
            put(_END)

    interrupt = items.put_nowait  # called on the event loop's thread
    if interrupts is not None:
        interrupts.add(interrupt)
    threading.Thread(target=work, daemon=True, name="galen-generation").start()
    try:
        while (item := await items.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        if interrupts is not None:
            interrupts.discard(interrupt)
