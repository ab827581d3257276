"""The base model of a run, as a Hugging Face folder that transformers and TRL can load.

`model.base` in a recipe is resolved as `galen serve --model` resolves it (`galen.models.source`):
an embedded name, a GGUF file, a Hugging Face folder or hub id. Two extra cases:

- A GGUF file (the embedded `smollm2` is one) is loaded once through transformers
  (`gguf_file=`, which de-quantizes every tensor), then saved as a plain safetensors folder in
  `$GALEN_CACHE/hf/`, so later runs load it in a second and checkpoints save normally.
- A galen run folder stands for its merged result (`galen train export`), so a GRPO recipe can
  start from an SFT run (`galen.train.export.base_for_training` exports it, then locates it here).

The chat template is the recipe's `model.chat_template` if set, else the model's own.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from galen.errors import ModelLoadError
from galen.files import cache_dir
from galen.models.profile import ModelProfile
from galen.models.source import ModelSource, resolve
from galen.train.config import ModelSpec, PeftSpec

# Unsloth takes module names, not PEFT's "all-linear".
UNSLOTH_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass(frozen=True)
class Base:
    """A base model ready to load: its folder, template and family."""

    spec: str  # as the recipe named it
    folder: Path  # a Hugging Face folder
    chat_template: str | None
    profile: ModelProfile
    source: ModelSource

    def describe(self) -> dict[str, Any]:
        return {"spec": self.spec, "folder": str(self.folder), "family": self.profile.family}


def hf_folder_from_gguf(gguf: Path) -> Path:
    """A cached safetensors copy of a GGUF model (built on first use; ~20 s for 135M weights)."""
    stat = gguf.stat()
    target = cache_dir() / "hf" / f"{gguf.stem}-{stat.st_size}"
    if (target / "config.json").is_file():
        return target
    import torch
    import transformers

    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = transformers.AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype=torch.float32
        )
    except (OSError, ValueError, KeyError, ImportError) as exc:
        raise ModelLoadError(f"transformers cannot read {gguf}: {exc}") from exc
    # Loaded this way every tensor is de-quantized to float32: drop the GGUF marker so the model
    # trains and saves like any other.
    if getattr(model, "hf_quantizer", None) is not None:
        model.hf_quantizer.remove_quantization_config(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-"))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        tmp.rename(target)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (target / "config.json").is_file():  # another process may have won the race
            raise
    return target


def prepare_base(spec: ModelSpec, exported: Path | None = None) -> Base:
    """Locate the base (converting a GGUF) without loading it for training. `exported`: the folder
    a run folder named in `spec.base` was exported to."""
    where = str(exported) if exported else spec.base
    source = resolve(where, chat_template=spec.chat_template, family=spec.family, revision=spec.revision)
    if source.kind == "remote":
        raise ModelLoadError(f"model.base: {spec.base} is a server; training needs weights")
    folder = hf_folder_from_gguf(Path(source.location)) if source.kind == "gguf" else Path(source.location)
    return Base(spec.base, folder, source.chat_template, source.profile, source)


def load_tokenizer(base: Base) -> Any:
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(base.folder)
    if base.chat_template:
        tokenizer.chat_template = base.chat_template
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def model_kwargs(spec: ModelSpec, peft: PeftSpec | None) -> dict[str, Any]:
    """Keyword arguments for `from_pretrained`: dtype, attention, and 4-bit loading for QLoRA."""
    import torch

    kwargs: dict[str, Any] = {"dtype": "auto" if spec.dtype == "auto" else getattr(torch, spec.dtype)}
    if spec.attn_implementation:
        kwargs["attn_implementation"] = spec.attn_implementation
    if peft is not None and peft.method == "qlora":
        if not torch.cuda.is_available():
            raise ModelLoadError("peft.method qlora needs a CUDA GPU (bitsandbytes 4-bit); use lora on CPU")
        try:
            import bitsandbytes  # noqa: F401
        except ImportError as exc:
            raise ModelLoadError("peft.method qlora needs bitsandbytes: pip install bitsandbytes") from exc
        import transformers

        compute = torch.bfloat16 if spec.dtype in ("auto", "bfloat16") else getattr(torch, spec.dtype)
        kwargs["quantization_config"] = transformers.BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=compute,
        )
    return kwargs


def load_model(base: Base, spec: ModelSpec, peft: PeftSpec | None) -> Any:
    """The causal LM for training (call after the TRL config exists, so ZeRO-3 / FSDP see it)."""
    import transformers

    try:
        return transformers.AutoModelForCausalLM.from_pretrained(base.folder, **model_kwargs(spec, peft))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"could not load {base.folder}: {exc}") from exc


def lora_config(peft: PeftSpec | None) -> Any:
    if peft is None:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=peft.r,
        lora_alpha=peft.alpha,
        lora_dropout=peft.dropout,
        target_modules=peft.target_modules,
        task_type="CAUSAL_LM",
    )


def load_unsloth(base: Base, recipe: Any) -> tuple[Any, Any]:
    """(model with LoRA attached, tokenizer) through Unsloth: one CUDA GPU, vLLM for GRPO generation.

    Unsloth patches transformers and TRL when imported; `galen train` imports it first when a
    recipe's launch.backend is unsloth.
    """
    import torch

    if not torch.cuda.is_available():
        raise ModelLoadError("launch.backend unsloth needs a CUDA GPU; use backend trl on this machine")
    try:
        from unsloth import FastLanguageModel
    except ImportError as exc:
        raise ModelLoadError(
            "launch.backend unsloth needs `pip install unsloth` (and vllm for GRPO)"
        ) from exc
    peft, trl_args = recipe.peft, recipe.trl
    length = trl_args.get("vllm_max_model_length") or trl_args.get("max_completion_length", 512) + 1024
    targets = UNSLOTH_TARGETS if peft.target_modules == "all-linear" else peft.target_modules
    model, tokenizer = FastLanguageModel.from_pretrained(
        model_name=str(base.folder),
        max_seq_length=length,
        load_in_4bit=peft.method == "qlora",
        fast_inference=bool(trl_args.get("use_vllm", False)),
        max_lora_rank=peft.r,
        gpu_memory_utilization=trl_args.get("vllm_gpu_memory_utilization", 0.5),
    )
    model = FastLanguageModel.get_peft_model(
        model,
        r=peft.r,
        lora_alpha=peft.alpha,
        lora_dropout=peft.dropout,
        target_modules=targets,
        use_gradient_checkpointing="unsloth",
    )
    if base.chat_template:
        tokenizer.chat_template = base.chat_template
    return model, tokenizer
