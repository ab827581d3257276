"""JSON schemas as llguidance grammars: one compiler for the llama.cpp and transformers engines.

Why llguidance, and not xgrammar or outlines: the xllamacpp wheel galen runs is built with
llama.cpp's LLGuidance support, so llama.cpp already compiles every `json_schema` it is sent
with llguidance. The transformers engine uses the same library through its Python package, so
both local engines accept the same schemas, refuse the same ones with the same message (checked
here, before anything runs) and lay JSON out alike. It is a small Rust wheel with no dependency
of its own, computes a token mask in tens of microseconds, and is one of vLLM's
structured-output backends too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import llguidance
import numpy as np

from galen.errors import BadRequest

# Fixed separators and no free whitespace: with flexible whitespace a small model may write
# newlines inside an object until max_tokens runs out (vLLM's `disable_any_whitespace` exists
# for the same reason). Options a schema gives in its own `x-guidance` object win.
LAYOUT: dict[str, Any] = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}


def with_layout(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema as galen sends it to llguidance (llama.cpp reads `x-guidance` the same way)."""
    own = schema.get("x-guidance")
    return {**schema, "x-guidance": {**LAYOUT, **(own if isinstance(own, dict) else {})}}


def json_grammar(schema: dict[str, Any]) -> str:
    return llguidance.LLMatcher.grammar_from_json_schema(with_layout(schema))


def check_schema(schema: dict[str, Any], param: str) -> None:
    """A 400 naming `param` when llguidance cannot compile `schema` (a feature it does not
    support, a regex it cannot take); the message is llguidance's."""
    try:
        error = llguidance.LLMatcher.validate_grammar(json_grammar(schema), None)
    except (ValueError, TypeError, RuntimeError) as exc:
        error = str(exc) or type(exc).__name__
    if error:
        raise BadRequest(param, f"cannot be enforced: {error}", code="unsupported_json_schema")


def hf_tokenizer(tokenizer: Any, vocab_size: int) -> llguidance.LLTokenizer:
    """llguidance's view of a Hugging Face tokenizer, for logits of `vocab_size` entries (a
    model's output may be padded past the tokenizer's vocabulary). Built once per engine: it
    walks the whole vocabulary."""
    import llguidance.hf

    return llguidance.hf.from_tokenizer(tokenizer, vocab_size)


class TokenConstraint:
    """One generation's grammar state on the transformers engine: masks the logits before each
    sampling step and follows the tokens sampled.

    The mask is filled with llguidance's numpy helper and unpacked here: its torch helper
    applies the mask through `torch.compile`, which on a CPU compiles C++ on first use.
    """

    def __init__(self, tokenizer: llguidance.LLTokenizer, schema: dict[str, Any], eos_ids: Iterable[int]):
        import llguidance.numpy

        self._fill = llguidance.numpy.fill_next_token_bitmask
        self.matcher = llguidance.LLMatcher(tokenizer, json_grammar(schema))
        if self.matcher.is_error():  # checked by check_schema before; a second line of defence
            raise BadRequest(None, f"the JSON schema cannot be enforced: {self.matcher.get_error()}")
        self.mask = llguidance.numpy.allocate_token_bitmask(1, tokenizer.vocab_size)
        self.eos_ids = sorted(eos_ids)

    def allowed(self, size: int) -> np.ndarray:
        """Which of `size` token ids the grammar allows next (bit i of the mask is token i)."""
        self._fill(self.matcher, self.mask, 0)
        bits = np.unpackbits(self.mask[0].view(np.uint8), bitorder="little")[:size].astype(bool)
        return np.pad(bits, (0, size - bits.size))  # ids past the grammar's vocabulary: never

    def apply(self, logits: Any) -> Any:
        """A copy of `logits` (1-D torch) with every token the grammar forbids at -inf; once the
        JSON is complete, any of the model's end-of-sequence tokens may end it."""
        import torch

        allowed = torch.from_numpy(self.allowed(logits.numel())).to(logits.device)
        masked = logits.masked_fill(~allowed, float("-inf"))
        if self.matcher.is_accepting():
            masked[self.eos_ids] = logits[self.eos_ids]
        return masked

    def advance(self, token: int) -> None:
        self.matcher.consume_token(token)

    @property
    def done(self) -> bool:
        """The grammar allows nothing more: the JSON is complete (or the matcher gave up)."""
        return self.matcher.is_stopped() or self.matcher.is_error()
