"""Resumable teacher jobs: work cut into shards, each written whole or not at all.

`galen data distill` and `galen data synth` share this. Items are cut into shards of `size`;
shard k is done when `kept-0000k.jsonl` exists (written under a temporary name, then renamed,
after its `rejected-` twin). A killed job run again skips finished shards; the calls of the
unfinished one come back from the call cache (`galen.evals.cache`), so nothing is asked twice.
`plan.json` pins what a job is made of, so a resumed job with other inputs or settings stops
instead of mixing them.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from galen.errors import BadRequest

Item = TypeVar("Item")


@dataclass
class Done:
    """One item's result as shard lines: the kept record's JSON, or the rejection's."""

    kept: str | None = None
    rejected: str | None = None


Work = Callable[[Item], Awaitable[Done]]


def write_atomic_lines(path: Path, lines: list[str]) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    os.replace(temporary, path)


def read_lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line]


@dataclass
class Shards(Generic[Item]):
    """`items` cut into shards of `size` under `folder`."""

    items: Sequence[Item]
    folder: Path
    size: int

    @property
    def count(self) -> int:
        return -(-len(self.items) // self.size)

    def kept(self, k: int) -> Path:
        return self.folder / f"kept-{k:05d}.jsonl"

    def rejected(self, k: int) -> Path:
        return self.folder / f"rejected-{k:05d}.jsonl"

    def prepare(self) -> None:
        """Make the folder; drop a shard cut off by a kill while it was being written."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in self.folder.glob("*.tmp"):
            stale.unlink()

    async def run_one(self, k: int, work: Work, concurrency: int) -> tuple[int, int]:
        """Every item of shard k, `concurrency` at a time; write its two files."""
        gate = asyncio.Semaphore(concurrency)

        async def one(item: Item) -> Done:
            async with gate:
                return await work(item)

        done = await asyncio.gather(*(one(i) for i in self.items[k * self.size : (k + 1) * self.size]))
        rejected = [d.rejected for d in done if d.rejected is not None]
        kept = [d.kept for d in done if d.kept is not None]
        write_atomic_lines(self.rejected(k), rejected)
        write_atomic_lines(self.kept(k), kept)
        return len(kept), len(rejected)

    async def run(self, work: Work, concurrency: int, progress: Callable[[str], None]) -> int:
        """Every shard not finished yet, in order; returns how many were finished before."""
        resumed = 0
        for k in range(self.count):
            if self.kept(k).exists():
                resumed += 1
                continue
            kept, rejected = await self.run_one(k, work, concurrency)
            progress(f"shard {k + 1}/{self.count}: {kept} kept, {rejected} rejected")
        return resumed

    def kept_lines(self) -> list[str]:
        return [line for k in range(self.count) for line in read_lines(self.kept(k))]

    def rejected_lines(self) -> list[str]:
        return [line for k in range(self.count) for line in read_lines(self.rejected(k))]


def check_plan(out: Path, plan: dict[str, Any], what: str) -> None:
    """Write what a job is made of, or check that a resumed one is made of the same: finished
    shards are only reused for the same inputs, teacher and settings."""
    path = out / "plan.json"
    if path.is_file():
        before = json.loads(path.read_text(encoding="utf-8"))
        changed = [key for key in plan if before.get(key) != json.loads(json.dumps(plan[key]))]
        if changed:
            raise BadRequest(
                "output",
                f"{out} holds a {what} with other {' and '.join(changed)}; "
                "resume it with the same command, or give a new --output",
            )
        return
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(plan, indent=2) + "\n", encoding="utf-8")
