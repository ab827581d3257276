"""The checks a recipe passes before any model loads, beyond its fields' own types.

- `trl` keys against the fields of `trl.SFTConfig` / `trl.GRPOConfig` of the pinned TRL, with
  their types and allowed choices; keys galen sets itself are refused with the field to use;
- GRPO batch arithmetic as TRL does it (`num_generations` must divide the generation batch),
  with the world size from `launch`, so a 16-GPU recipe is checked on a laptop;
- the accelerate config file a recipe names: it exists, and agrees on mixed precision, gradient
  accumulation and activation checkpointing;
- reward names and their arguments.

Each check returns `(field, why and the fix)` pairs; `recipe.parse_recipe` gathers them all into
one `RecipeError`. `launch_command` prints how a recipe is started.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from galen.config import NO_KEYS, Problems
from galen.config import suggest as _suggest
from galen.train.config import GRPORecipe, Recipe

# TRL arguments that galen sets itself, and the recipe field that sets them instead.
OWNED_BY_GALEN = {
    "output_dir": "output_dir (top level)",
    "resume_from_checkpoint": "resume (top level)",
    "reward_weights": "rewards[].weight",
    "model_init_kwargs": "model.dtype / model.attn_implementation",
    "disable_tqdm": "nothing: galen shows its own progress",
    "chat_template_path": "model.chat_template",
}


# -- TRL arguments --------------------------------------------------------------------------------


def trl_config_class(stage: str) -> type:
    import trl

    return trl.SFTConfig if stage == "sft" else trl.GRPOConfig


@functools.cache
def trl_fields(stage: str) -> dict[str, dataclasses.Field]:
    """The pinned TRL's config fields for a stage (`SFTConfig` or `GRPOConfig`)."""
    return {f.name: f for f in dataclasses.fields(trl_config_class(stage))}


@functools.cache
def _trl_adapter(stage: str, name: str) -> TypeAdapter | None:
    hint = typing.get_type_hints(trl_config_class(stage)).get(name)
    try:
        return TypeAdapter(hint)
    except Exception:  # an annotation pydantic cannot read: the name check still holds
        return None


def trl_default(stage: str, name: str) -> Any:
    field = trl_fields(stage)[name]
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None


# Names people carry over from other tools or older TRL versions, and galen's name for them.
RENAMED = {
    "max_seq_length": "max_length",
    "rank": "r",
    "lora_r": "r",
    "lora_alpha": "alpha",
    "lora_dropout": "dropout",
    "torch_dtype": "dtype",
    "warmup_ratio": "warmup_steps",
}


def suggest(name: str, known: Iterable[str]) -> str:
    """ "; did you mean `x`?" for a misspelt key or one another tool names differently."""
    return _suggest(name, known, RENAMED)


def check_trl_args(stage: str, args: dict[str, Any]) -> tuple[dict[str, Any], Problems]:
    """(the arguments with YAML strings coerced to TRL's types, problems)."""
    import trl

    cls, fields = trl_config_class(stage), trl_fields(stage)
    checked, problems = {}, []
    for name, value in args.items():
        where = f"trl.{name}"
        if name in OWNED_BY_GALEN:
            problems.append((where, f"galen sets this itself; use {OWNED_BY_GALEN[name]}"))
            continue
        if name not in fields:
            why = f"not an argument of trl.{cls.__name__} in TRL {trl.__version__}{suggest(name, fields)}"
            problems.append((where, why))
            continue
        adapter = _trl_adapter(stage, name)
        try:
            value = adapter.validate_python(value) if adapter is not None else value
        except ValidationError as exc:
            kind = getattr(fields[name].type, "__name__", str(fields[name].type))
            problems.append((where, f"{value!r} is not a valid {kind}: {exc.errors()[0]['msg']}"))
            continue
        choices = fields[name].metadata.get("choices")
        if choices and value is not None and value not in choices:
            problems.append((where, f"{value!r} is not one of {', '.join(map(str, choices))}"))
            continue
        checked[name] = value
    return checked, problems


# -- batch arithmetic -----------------------------------------------------------------------------


def trl_value(recipe: Recipe, name: str) -> Any:
    """A TRL argument as the recipe sets it, else the pinned TRL default."""
    return recipe.trl[name] if name in recipe.trl else trl_default(recipe.stage, name)


def generation_batch(recipe: Recipe) -> tuple[int, str]:
    """GRPO's generation batch as TRL computes it, and how it was computed (for messages)."""
    per_device, world = trl_value(recipe, "per_device_train_batch_size"), recipe.world_size
    explicit = recipe.trl.get("generation_batch_size")
    if explicit is not None:
        return explicit, "generation_batch_size"
    steps = recipe.trl.get("steps_per_generation") or trl_value(recipe, "gradient_accumulation_steps")
    how = f"per_device_train_batch_size {per_device} x {world} processes x steps_per_generation {steps}"
    return per_device * world * steps, how


def check_grpo_batches(recipe: GRPORecipe) -> Problems:
    problems = []
    per_device, world = trl_value(recipe, "per_device_train_batch_size"), recipe.world_size
    generations = trl_value(recipe, "num_generations")
    if (
        recipe.trl.get("generation_batch_size") is not None
        and recipe.trl.get("steps_per_generation") is not None
    ):
        problems.append(("trl.generation_batch_size", "set it or trl.steps_per_generation, not both"))
        return problems
    batch, how = generation_batch(recipe)
    explicit = recipe.trl.get("generation_batch_size")
    if explicit is not None and explicit % (per_device * world):
        problems.append(
            (
                "trl.generation_batch_size",
                f"{explicit} must be a multiple of the global batch {per_device * world} "
                f"(per_device_train_batch_size {per_device} x {world} processes)",
            )
        )
    if generations < 2:
        problems.append(
            ("trl.num_generations", f"{generations}: GRPO needs at least 2 completions per prompt")
        )
    elif batch % generations:
        fits = [g for g in range(2, batch + 1) if batch % g == 0]
        problems.append(
            (
                "trl.num_generations",
                f"{generations} must divide the generation batch {batch} ({how}); "
                f"choose one of {fits} or change the batch",
            )
        )
    if trl_value(recipe, "eval_strategy") not in ("no", None):
        eval_generations = trl_value(recipe, "num_generations_eval") or generations
        eval_batch = trl_value(recipe, "per_device_eval_batch_size") * world
        if eval_batch % eval_generations:
            problems.append(
                (
                    "trl.per_device_eval_batch_size",
                    f"the eval batch {eval_batch} must be divisible by {eval_generations} generations",
                )
            )
    if trl_value(recipe, "use_vllm") and trl_value(recipe, "vllm_mode") == "colocate":
        tp = trl_value(recipe, "vllm_tensor_parallel_size")
        if world % tp:
            problems.append(
                ("trl.vllm_tensor_parallel_size", f"{tp} must divide the number of processes ({world})")
            )
    max_model = recipe.trl.get("vllm_max_model_length")
    completion = trl_value(recipe, "max_completion_length")
    if max_model is not None and completion is not None and max_model <= completion:
        problems.append(
            (
                "trl.vllm_max_model_length",
                f"{max_model} leaves no room for a prompt before max_completion_length {completion}",
            )
        )
    return problems


# -- launch ---------------------------------------------------------------------------------------


def accelerate_config_path(recipe: Recipe, recipe_dir: Path | None) -> Path | None:
    name = recipe.launch.accelerate_config
    if name is None:
        return None
    path = Path(name)
    return path if path.is_absolute() or recipe_dir is None else recipe_dir / path


def check_launch(recipe: Recipe, recipe_dir: Path | None) -> tuple[Recipe, Problems]:
    """Fill num_processes / num_machines from the accelerate config and check they agree."""
    path = accelerate_config_path(recipe, recipe_dir)
    launch, problems = recipe.launch, []
    if launch.backend == "unsloth":
        if recipe.peft is None:
            problems.append(("launch.backend", "unsloth trains LoRA adapters: add a `peft` block"))
        if (launch.num_processes or 1) > 1:
            problems.append(("launch.num_processes", "the unsloth backend runs on one GPU; set 1"))
    if path is None:
        return recipe, problems
    if not path.is_file():
        return recipe, [*problems, ("launch.accelerate_config", f"no such file: {path}")]
    config = yaml.safe_load(path.read_text()) or {}
    processes, machines = config.get("num_processes"), config.get("num_machines")
    # The recipe's numbers win; the printed launch command passes them to accelerate explicitly.
    updates = {
        "num_processes": launch.num_processes or processes or 1,
        "num_machines": launch.num_machines or machines or 1,
    }
    precision = config.get("mixed_precision")
    if precision == "bf16" and recipe.trl.get("bf16") is False:
        problems.append(("trl.bf16", f"false, but {path.name} sets mixed_precision: bf16; make them agree"))
    if (config.get("fsdp_config") or {}).get("fsdp_activation_checkpointing") and trl_value(
        recipe, "gradient_checkpointing"
    ):
        problems.append(
            (
                "trl.gradient_checkpointing",
                f"set it to false: {path.name} turns on fsdp_activation_checkpointing",
            )
        )
    ds_steps = (config.get("deepspeed_config") or {}).get("gradient_accumulation_steps")
    steps = trl_value(recipe, "gradient_accumulation_steps")
    if ds_steps is not None and ds_steps != steps:
        problems.append(
            ("trl.gradient_accumulation_steps", f"{steps}, but {path.name} sets {ds_steps}; make them agree")
        )
    return recipe.model_copy(update={"launch": launch.model_copy(update=updates)}), problems


# -- rewards --------------------------------------------------------------------------------------


def check_rewards(recipe: GRPORecipe) -> tuple[GRPORecipe, Problems]:
    from galen.train.rewards import REWARDS

    problems, specs = [], []
    for i, spec in enumerate(recipe.rewards):
        where = f"rewards[{i}]"
        factory = REWARDS.get(spec.name)
        if factory is None:
            why = f"unknown reward {spec.name!r}; known: {', '.join(REWARDS)}{suggest(spec.name, REWARDS)}"
            problems.append((f"{where}.name", why))
            continue
        params = inspect.signature(factory).parameters
        args = dict(spec.args)
        if "api_key" in args:
            problems.append((f"{where}.args.api_key", NO_KEYS))
            continue
        if "max_tokens" in params and "max_tokens" not in args:  # the overlong penalty's limit
            args["max_tokens"] = trl_value(recipe, "max_completion_length")
        unknown = [k for k in args if k not in params]
        if unknown:
            known = ", ".join(params) or "none"
            problems.append(
                (f"{where}.args.{unknown[0]}", f"{spec.name} takes no such argument (it takes: {known})")
            )
            continue
        try:
            factory(**args)  # factories only check and store their arguments
        except (TypeError, ValueError) as exc:
            problems.append((f"{where}.args", f"{spec.name}: {exc}"))
            continue
        specs.append(spec.model_copy(update={"args": args}))
    return recipe.model_copy(update={"rewards": specs}), problems


def launch_command(recipe: Recipe, recipe_path: Path | str, recipe_dir: Path | None = None) -> list[str]:
    """The shell lines that start this recipe (vLLM server first when the recipe uses one)."""
    lines = []
    if (
        recipe.stage == "grpo"
        and trl_value(recipe, "use_vllm")
        and trl_value(recipe, "vllm_mode") == "server"
    ):
        gpus = recipe.launch.vllm_server_gpus or 1
        base = recipe.model.base
        served = base if "/" in base and not base.endswith(".gguf") else "BASE_FOLDER  # run.json base.folder"
        lines.append(
            f"CUDA_VISIBLE_DEVICES={','.join(map(str, range(gpus)))} trl vllm-serve --model {served} "
            f"--tensor-parallel-size {gpus}"
        )
    train = f"galen train {recipe.stage} {recipe_path}"
    config = accelerate_config_path(recipe, recipe_dir)
    if config is None and recipe.world_size == 1:
        return [*lines, train]
    machines = recipe.launch.num_machines or 1
    parts = ["accelerate launch"]
    if config is not None:
        parts.append(f"--config_file {config}")
    parts.append(f"--num_machines {machines} --num_processes {recipe.world_size}")
    if machines > 1:
        parts.append("--machine_rank $NODE_RANK --main_process_ip $MASTER_ADDR --main_process_port 29500")
    parts.append(f"-m galen.cli.main train {recipe.stage} {recipe_path}")
    prefix = ""
    if lines:
        gpus = recipe.launch.vllm_server_gpus or 1
        per_node = recipe.world_size // machines
        prefix = f"CUDA_VISIBLE_DEVICES={','.join(map(str, range(gpus, gpus + per_node)))} "
    return [*lines, prefix + " ".join(parts)]
