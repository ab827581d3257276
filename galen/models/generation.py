"""A model's own sampling defaults, as its files state them.

- A Hugging Face folder: `generation_config.json`. `do_sample: false` means greedy decoding
  (temperature 0), whatever else the file says, as `transformers` reads it; otherwise the
  sampling fields it sets (temperature, top_p, top_k, min_p, repetition_penalty) count, and
  `max_new_tokens` becomes the default `max_tokens`. Fields it leaves out are not defaults.
- A GGUF file: the `general.sampling.*` keys llama.cpp's converter copies from that file.

The chat layer (`galen.engine.chat.ChatEngine.default_sampling`) lays these over the family's
preset for the model's default mode; see docs/models.md#sampling-defaults.

>>> from_generation_config({"do_sample": False, "temperature": 0.7, "max_new_tokens": 512})
{'temperature': 0.0, 'max_tokens': 512}
>>> from_generation_config({"do_sample": True, "temperature": 1.0, "top_p": 0.95, "top_k": 20})
{'temperature': 1.0, 'top_p': 0.95, 'top_k': 20}
>>> from_generation_config({"eos_token_id": 2})
{}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SAMPLING_FIELDS = ("temperature", "top_p", "top_k", "min_p", "repetition_penalty")
# general.sampling.* key -> galen's sampling field.
GGUF_KEYS = {
    "general.sampling.temp": "temperature",
    "general.sampling.top_p": "top_p",
    "general.sampling.top_k": "top_k",
    "general.sampling.min_p": "min_p",
    "general.sampling.penalty_repeat": "repetition_penalty",
}


def from_generation_config(config: dict[str, Any]) -> dict[str, Any]:
    """Sampling defaults from the fields of a generation_config.json (see the module docstring)."""
    if config.get("do_sample") is False:
        found: dict[str, Any] = {"temperature": 0.0}
    else:
        found = {k: config[k] for k in SAMPLING_FIELDS if config.get(k) is not None}
    if isinstance(config.get("max_new_tokens"), int):
        found["max_tokens"] = config["max_new_tokens"]
    return found


def folder_defaults(folder: Path) -> dict[str, Any]:
    file = Path(folder) / "generation_config.json"
    try:
        config = json.loads(file.read_text()) if file.is_file() else {}
    except (OSError, json.JSONDecodeError):
        return {}  # a broken file states nothing; transformers reports it when loading
    return from_generation_config(config) if isinstance(config, dict) else {}


def gguf_defaults(meta: dict[str, Any]) -> dict[str, Any]:
    """Sampling defaults from a GGUF's metadata (`galen.models.gguf_meta.read_gguf_metadata`)."""
    return {field: meta[key] for key, field in GGUF_KEYS.items() if key in meta}
