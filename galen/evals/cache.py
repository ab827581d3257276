"""A content-addressed cache of model calls, so a killed eval, judge run or distillation resumes
without recomputing.

Each finished call is appended to `calls.jsonl` as one line, `{"key": sha256, "value": ...}`,
and flushed at once. The key hashes everything that determines the answer (the model's
fingerprint, with its weights and template hashes; the messages; the decoding settings), so a
changed prompt, setting or model is a new call, never a stale hit. A line cut by a kill is
ignored on reading. `cached_chat` is the one cached model call that every job uses.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

from galen.engine.endpoint import Answer, GenParams


def cache_key(payload: dict[str, Any]) -> str:
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


class CallCache:
    """`calls.jsonl` in memory; `hits` and `stored` count this process's reads and writes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._entries = self._read(path)
        self.hits = 0
        self.stored = 0

    @staticmethod
    def _read(path: Path) -> dict[str, Any]:
        entries: dict[str, Any] = {}
        if not path.exists():
            return entries
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                continue  # the last line of a killed run
            entries[item["key"]] = item["value"]
        return entries

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> Any | None:
        value = self._entries.get(key)
        self.hits += value is not None
        return value

    def put(self, key: str, value: Any) -> None:
        line = json.dumps({"key": key, "value": value}, ensure_ascii=False)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(line + "\n")
                f.flush()
                os.fsync(f.fileno())
            self._entries[key] = value
            self.stored += 1


class Chatter(Protocol):
    """Anything that answers chat messages: an eval client, a judge, a distillation teacher."""

    fingerprint: dict[str, Any]

    async def chat(self, messages: list[dict[str, Any]], params: GenParams) -> Answer: ...


async def cached_chat(
    client: Chatter,
    messages: list[dict[str, Any]],
    params: GenParams,
    cache: CallCache | None,
    repeat: int = 0,
) -> Answer:
    """`client.chat`, answered from `cache` when it was asked before (and stored when not).
    `repeat` > 0 is the same call made again (`galen eval run --repeat`): its own cache entry."""
    if cache is None:
        return await client.chat(messages, params)
    payload = {"model": client.fingerprint, "messages": messages, "params": params.settings()}
    key = cache_key({**payload, "repeat": repeat} if repeat else payload)
    if (hit := cache.get(key)) is not None:
        return Answer(**hit)
    answer = await client.chat(messages, params)
    cache.put(key, asdict(answer))
    return answer
