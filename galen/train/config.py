"""What a training recipe may say: typed fields with help, which a YAML file fills in.

`galen.train.recipe` reads and checks recipe files into these models. Paths in a recipe file are
relative to the file (`output_dir`, `data.path`, `model.base` and `model.chat_template` when they
name something beside it); in a shipped recipe (`galen train recipes`), to where galen runs.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, PrivateAttr

from galen.config import ConfigModel, ConfigPath, PathOrName

Stage = Literal["sft", "grpo"]


class _Strict(ConfigModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSpec(_Strict):
    """The model to train and how to load it."""

    base: PathOrName = Field(
        description="An embedded name (smollm2), a GGUF file, a Hugging Face folder or hub id, or a galen "
        "run folder (its merged result, so GRPO can start from an SFT run)."
    )
    chat_template: PathOrName | None = Field(
        None,
        description="A template shipped with galen (chatml_think, qwen3_6, gemma3) or a .jinja file; "
        "default: the model's own template, else its family's.",
    )
    family: str | None = Field(None, description="Model family (qwen3.6, gemma3, ...); default: detected.")
    revision: str | None = Field(None, description="Hub revision (commit) when `base` is a hub id.")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="Weights dtype: float32 on CPU, bfloat16 on GPUs."
    )
    attn_implementation: str | None = Field(
        None, description="Attention kernel (sdpa, flash_attention_2, eager); default: transformers' choice."
    )


class DataSpec(_Strict):
    """What `galen data` exported, or any file in the same row format."""

    path: PathOrName = Field(
        "sample",
        description="`sample` (the corpus shipped with galen), a .jsonl/.parquet file, or a `galen data "
        "build` folder (its export/sft.jsonl or export/grpo.jsonl, and manifest.json).",
    )
    limit: int | None = Field(None, ge=1, description="Use the first N rows only.")


class PeftSpec(_Strict):
    """LoRA on the frozen base (QLoRA: the base in 4-bit NF4, needs a CUDA GPU and bitsandbytes)."""

    method: Literal["lora", "qlora"] = Field("lora", description="lora, or qlora for a 4-bit base.")
    r: int = Field(16, ge=1, description="LoRA rank.")
    alpha: int = Field(32, ge=1, description="LoRA alpha (the update is scaled by alpha / r).")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="Dropout on the LoRA input.")
    target_modules: str | list[str] = Field(
        "all-linear", description="Modules to adapt: all-linear, or a list of names (q_proj, ...)."
    )


class LaunchSpec(_Strict):
    """How the run is launched; used to check batch arithmetic and to print the launch command."""

    backend: Literal["trl", "unsloth"] = Field(
        "trl", description="trl, or unsloth (one CUDA GPU, `pip install unsloth`; GRPO with LoRA only)."
    )
    accelerate_config: str | None = Field(
        None, description="An accelerate config file (relative to the recipe), for `accelerate launch`."
    )
    num_processes: int | None = Field(
        None,
        ge=1,
        description="Training processes over all machines; default: the accelerate config's, or 1.",
    )
    num_machines: int | None = Field(
        None, ge=1, description="Machines; default: the accelerate config's, or 1."
    )
    vllm_server_gpus: int = Field(
        0,
        ge=0,
        description="GPUs per node kept for `trl vllm-serve` (GRPO vllm_mode: server); documentation.",
    )


class RewardSpec(_Strict):
    """One reward function from `galen.train.rewards.REWARDS`, its weight and its arguments."""

    name: str = Field(description="A reward name: answer, think_format, overlong, rubric.")
    weight: float = Field(1.0, description="Weight in the sum TRL normalises into advantages.")
    args: dict[str, Any] = Field(default_factory=dict, description="Arguments of the reward's factory.")


class Recipe(_Strict):
    """Fields every stage shares."""

    stage: Stage = Field(description="sft or grpo: which `galen train` command runs it.")
    description: str = Field("", description="One line on what the recipe is for.")
    model: ModelSpec
    data: DataSpec = Field(default_factory=DataSpec)
    peft: PeftSpec | None = Field(None, description="LoRA / QLoRA; omit for full fine-tuning.")
    launch: LaunchSpec = Field(default_factory=LaunchSpec)
    output_dir: ConfigPath = Field(description="The run folder (relative to the recipe file).")
    resume: bool = Field(True, description="Continue from the last checkpoint in output_dir, if any.")
    threads: int | None = Field(None, ge=1, description="CPU threads for torch; default: torch's choice.")
    trl: dict[str, Any] = Field(
        default_factory=dict, description="Arguments of trl.SFTConfig / trl.GRPOConfig, names as in TRL."
    )
    # How the recipe was given (file, sha256, --set overrides), for the run's provenance.json.
    _origin: dict[str, Any] = PrivateAttr(default_factory=dict)

    @property
    def world_size(self) -> int:
        return self.launch.num_processes or 1


class SFTRecipe(Recipe):
    stage: Literal["sft"]


class GRPORecipe(Recipe):
    stage: Literal["grpo"]
    rewards: list[RewardSpec] = Field(
        min_length=1, description="Reward functions, summed with their weights."
    )


RECIPE_TYPES: dict[str, type[Recipe]] = {"sft": SFTRecipe, "grpo": GRPORecipe}
