"""The `vllm serve` flags for images and video (see `engine.remote_media` for the requests).

- `--limit-mm-per-prompt`: items of each kind per request (galen checks the same limit first);
- `--mm-processor-kwargs`: server-wide processor settings, e.g. the card's long-video budget
  `{"size": {"longest_edge": 469762048, "shortest_edge": 4096}}`;
- `--media-io-kwargs`: how vLLM loads media; galen's default `{"video": {"num_frames": -1}}` is
  the card's: every frame is loaded, so a request's `fps` / `num_frames` choose the frames, as on
  galen's transformers engine;
- `--chat-template` with galen's pass-through template and `--chat-template-content-format
  openai`, so that vLLM's chat endpoint tokenizes the prompt galen rendered, unchanged;
- `--language-model-only`: a text-only server (vLLM skips the vision tower and its memory).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

ALL_FRAMES = {"video": {"num_frames": -1}}


def prerendered_template() -> str:
    """Path of the pass-through chat template shipped with galen."""
    return str(files("galen.models") / "templates" / "prerendered.jinja")


@dataclass
class VLLMMediaFlags:
    limit_mm_per_prompt: dict[str, int] | None = None
    mm_processor_kwargs: dict[str, Any] | None = None
    media_io_kwargs: dict[str, Any] | None = field(default_factory=lambda: dict(ALL_FRAMES))
    language_model_only: bool = False

    def args(self) -> list[str]:
        if self.language_model_only:
            return ["--language-model-only"]
        args = ["--chat-template", prerendered_template(), "--chat-template-content-format", "openai"]
        for flag, value in (
            ("--limit-mm-per-prompt", self.limit_mm_per_prompt),
            ("--mm-processor-kwargs", self.mm_processor_kwargs),
            ("--media-io-kwargs", self.media_io_kwargs),
        ):
            if value:
                args += [flag, json.dumps(value)]
        return args
