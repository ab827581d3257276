"""The in-memory store behind `previous_response_id`: bounded, oldest out first.

A stored response keeps the conversation that produced it (its input messages and its own
answer, without `instructions`, which OpenAI does not carry over to the next turn) and the
response object. The store is bounded both by count and by size (the characters of its JSON),
so a stream of large requests cannot grow the server's memory; a response pushed out, or never
stored (`store: false`), is unknown to a later request: a 400 naming `previous_response_id`.
Nothing survives a restart. Only the event loop's thread touches it, so it needs no lock.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any


@dataclass
class StoredResponse:
    messages: list[dict[str, Any]]  # the conversation so far, the answer included
    response: dict[str, Any]
    size: int


class ResponseStore:
    def __init__(self, max_items: int = 1024, max_chars: int = 64 * 2**20) -> None:
        self.max_items = max_items
        self.max_chars = max_chars
        self._items: OrderedDict[str, StoredResponse] = OrderedDict()
        self.chars = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, response_id: str) -> StoredResponse | None:
        stored = self._items.get(response_id)
        if stored is not None:
            self._items.move_to_end(response_id)  # a conversation in use stays
        return stored

    def put(self, response_id: str, messages: list[dict[str, Any]], response: dict[str, Any]) -> None:
        size = len(json.dumps(messages, ensure_ascii=False)) + len(json.dumps(response, ensure_ascii=False))
        if size > self.max_chars or self.max_items < 1:
            return  # larger than the whole store: never kept
        self._items[response_id] = StoredResponse(messages, response, size)
        self.chars += size
        while len(self._items) > self.max_items or self.chars > self.max_chars:
            _, oldest = self._items.popitem(last=False)
            self.chars -= oldest.size
