"""Sampling parameters and the named presets from the Reasoning-Medical-27B card.

A preset is a complete set of sampling values; request fields override it one by one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from galen.errors import BadRequest


@dataclass(frozen=True)
class SamplingParams:
    """What every engine understands. `top_k=0` and `min_p=0` switch those filters off."""

    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    min_p: float = 0.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    repetition_penalty: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = field(default_factory=tuple)
    max_tokens: int | None = None

    def __post_init__(self) -> None:
        checks = [
            ("temperature", 0.0 <= self.temperature <= 2.0, "must be between 0 and 2"),
            ("top_p", 0.0 < self.top_p <= 1.0, "must be in (0, 1]"),
            ("top_k", self.top_k >= 0 or self.top_k == -1, "must be >= 0 (0 or -1 disables it)"),
            ("min_p", 0.0 <= self.min_p <= 1.0, "must be between 0 and 1"),
            ("presence_penalty", -2.0 <= self.presence_penalty <= 2.0, "must be between -2 and 2"),
            ("frequency_penalty", -2.0 <= self.frequency_penalty <= 2.0, "must be between -2 and 2"),
            ("repetition_penalty", 0.0 < self.repetition_penalty <= 10.0, "must be in (0, 10]"),
            ("max_tokens", self.max_tokens is None or self.max_tokens >= 1, "must be >= 1"),
            ("stop", len(self.stop) <= 16, "at most 16 stop sequences"),
        ]
        for name, ok, why in checks:
            if not ok:
                raise BadRequest(name, why)

    def updated(self, **changes: Any) -> SamplingParams:
        """A copy with the given fields replaced; `None` values leave a field as it is."""
        known = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in changes.items() if v is not None and k in known})


PRESETS: dict[str, SamplingParams] = {
    # The three sets the Reasoning-Medical-27B card recommends.
    "thinking-general": SamplingParams(
        temperature=1.0, top_p=0.95, top_k=20, min_p=0.0, presence_penalty=0.0, repetition_penalty=1.0
    ),
    "thinking-precise": SamplingParams(
        temperature=0.6, top_p=0.95, top_k=20, min_p=0.0, presence_penalty=0.0, repetition_penalty=1.0
    ),
    "instruct": SamplingParams(
        temperature=0.7, top_p=0.80, top_k=20, min_p=0.0, presence_penalty=1.5, repetition_penalty=1.0
    ),
    # Deterministic decoding, for evaluation and tests.
    "greedy": SamplingParams(temperature=0.0, top_p=1.0, top_k=0),
}


def get_preset(name: str, param: str = "preset") -> SamplingParams:
    try:
        return PRESETS[name]
    except KeyError:
        raise BadRequest(param, f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None
