"""Several OpenAI-compatible servers as one teacher: how a synthesis run scales out.

Users run one vLLM (or `galen serve`) per GPU and give every URL (`--teacher URL` once per
server). `TeacherPool.chat` sends each call to the server with the fewest calls in flight (on a tie,
the one sent fewest so far), so a fast server takes more of the work and a slow one never holds more
than its share. All servers must serve the same model: the pool's fingerprint is the model
(and its weights hash, when the servers publish one), not the URL, so the call cache answers a
resumed run whichever server asked first. Each answer records the URL that gave it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from galen.data.distill import Teacher
from galen.engine.endpoint import Answer, GenParams
from galen.errors import BadRequest


class TeacherPool:
    """`teachers` as one `Chatter` (`galen.evals.cache`): see the module docstring."""

    def __init__(self, teachers: Sequence[Teacher], weights: Sequence[str | None] = ()) -> None:
        if not teachers:
            raise BadRequest("teacher", "give at least one teacher URL")
        models = sorted({t.model for t in teachers})
        if len(models) > 1:
            raise BadRequest(
                "teacher", f"the teachers serve different models ({', '.join(models)}): name one with --model"
            )
        hashes = sorted({w for w in weights if w})
        if len(hashes) > 1:
            raise BadRequest("teacher", "the teachers serve the same model name with different weights")
        self.teachers = list(teachers)
        self.model = models[0]
        self.fingerprint: dict[str, Any] = {"model": self.model}
        if hashes:
            self.fingerprint["weights_sha256"] = hashes[0]
        self.in_flight = [0] * len(self.teachers)
        self.sent = [0] * len(self.teachers)
        self.answered = [0] * len(self.teachers)

    @property
    def endpoints(self) -> list[str]:
        return [t.endpoint for t in self.teachers]

    @property
    def json_schema(self) -> bool | None:
        """Whether every server says it can fill a JSON Schema (False if one says it cannot;
        None when some say nothing, as vLLM's and OpenAI's model lists do)."""
        said = [t.json_schema for t in self.teachers]
        if False in said:
            return False
        return True if all(said) else None

    def _pick(self) -> int:
        return min(range(len(self.teachers)), key=lambda k: (self.in_flight[k], self.sent[k]))

    async def chat(self, messages: list[dict[str, Any]], params: GenParams) -> Answer:
        k = self._pick()
        self.in_flight[k] += 1
        self.sent[k] += 1
        try:
            answer = await self.teachers[k].ask(messages, params)
        finally:
            self.in_flight[k] -= 1
        self.answered[k] += 1
        return replace(answer, endpoint=answer.endpoint or self.teachers[k].endpoint)

    def share(self) -> dict[str, int]:
        """Calls each server answered in this process."""
        return {t.endpoint: n for t, n in zip(self.teachers, self.answered, strict=True)}
