"""A content-addressed cache of model calls, so a killed eval resumes without recomputing.

Each finished call is appended to `calls.jsonl` as one line, `{"key": sha256, "value": ...}`,
and flushed at once. The key hashes everything that determines the answer (model fingerprint,
messages, sampling), so a changed prompt or setting is a new call, never a stale hit. A line cut
by a kill is ignored on reading.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any


def cache_key(payload: dict[str, Any]) -> str:
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


class CallCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._entries = self._read(path)

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
        return self._entries.get(key)

    def put(self, key: str, value: Any) -> None:
        line = json.dumps({"key": key, "value": value}, ensure_ascii=False)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(line + "\n")
                f.flush()
                os.fsync(f.fileno())
            self._entries[key] = value
