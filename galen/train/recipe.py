"""Training recipes: typed models that a YAML file fills in, checked before any model loads.

A recipe names what to train (`model`), on what (`data`), how (`peft`, `trl`, `rewards`), where
to write (`output_dir`) and how it is launched (`launch`). Everything is validated up front:

- unknown fields anywhere, with the closest known name suggested;
- `trl` keys against the fields of `trl.SFTConfig` / `trl.GRPOConfig` of the pinned TRL, with
  their types and allowed choices; keys galen sets itself are refused with the field to use;
- GRPO batch arithmetic as TRL does it (`num_generations` must divide the generation batch),
  with the world size from `launch`, so a 16-GPU recipe is checked on a laptop;
- the accelerate config file a recipe names: it exists, and agrees on processes, mixed
  precision and gradient accumulation;
- reward names and their arguments.

Errors name the field and the fix: `trl.num_generations: 6 must divide the generation batch 16
(...)`. `load_recipe(path)` reads a file (or a shipped recipe by name); `parse_recipe(data)`
takes a dict.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import inspect
import typing
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from galen.errors import BadRequest

Stage = Literal["sft", "grpo"]

# TRL arguments that galen sets itself, and the recipe field that sets them instead.
OWNED_BY_GALEN = {
    "output_dir": "output_dir (top level)",
    "resume_from_checkpoint": "resume (top level)",
    "reward_weights": "rewards[].weight",
    "model_init_kwargs": "model.dtype / model.attn_implementation",
    "disable_tqdm": "nothing: galen shows its own progress",
    "chat_template_path": "model.chat_template",
}


class RecipeError(BadRequest):
    """A recipe that cannot run; the message lists every problem, one `field: why` per line."""

    def __init__(self, problems: list[tuple[str, str]], source: str = "recipe") -> None:
        self.problems = problems
        lines = "\n".join(f"  {where}: {why}" for where, why in problems)
        super().__init__(None, f"{source} is not a valid recipe:\n{lines}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSpec(_Strict):
    """The model to train and how to load it."""

    base: str = Field(
        description="An embedded name (smollm2), a GGUF file, a Hugging Face folder or hub id, or a galen "
        "run folder (its merged result, so GRPO can start from an SFT run)."
    )
    chat_template: str | None = Field(
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

    path: str = Field(
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
    output_dir: str = Field(description="The run folder (relative paths: from where galen runs).")
    resume: bool = Field(True, description="Continue from the last checkpoint in output_dir, if any.")
    threads: int | None = Field(None, ge=1, description="CPU threads for torch; default: torch's choice.")
    trl: dict[str, Any] = Field(
        default_factory=dict, description="Arguments of trl.SFTConfig / trl.GRPOConfig, names as in TRL."
    )

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


def _suggest(name: str, known: typing.Iterable[str]) -> str:
    known = list(known)
    if RENAMED.get(name) in known:
        return f"; did you mean `{RENAMED[name]}`?"
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


def check_trl_args(stage: str, args: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
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
            why = f"not an argument of trl.{cls.__name__} in TRL {trl.__version__}{_suggest(name, fields)}"
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


def check_grpo_batches(recipe: GRPORecipe) -> list[tuple[str, str]]:
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


def check_launch(recipe: Recipe, recipe_dir: Path | None) -> tuple[Recipe, list[tuple[str, str]]]:
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


def check_rewards(recipe: GRPORecipe) -> tuple[GRPORecipe, list[tuple[str, str]]]:
    from galen.train.rewards import REWARDS

    problems, specs = [], []
    for i, spec in enumerate(recipe.rewards):
        where = f"rewards[{i}]"
        factory = REWARDS.get(spec.name)
        if factory is None:
            why = f"unknown reward {spec.name!r}; known: {', '.join(REWARDS)}{_suggest(spec.name, REWARDS)}"
            problems.append((f"{where}.name", why))
            continue
        params = inspect.signature(factory).parameters
        args = dict(spec.args)
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


# -- reading --------------------------------------------------------------------------------------


def _pydantic_problems(exc: ValidationError, model: type[BaseModel]) -> list[tuple[str, str]]:
    problems = []
    for error in exc.errors():
        loc = [str(p) for p in error["loc"] if p not in ("sft", "grpo")]
        where = ".".join(loc) or "recipe"
        if error["type"] == "extra_forbidden":
            problems.append((where, f"unknown field{_suggest(loc[-1], _field_names(model, loc[:-1]))}"))
        elif error["type"] == "missing":
            problems.append((where, "required field is missing"))
        else:
            problems.append((where, error["msg"]))
    return problems


def _field_names(model: type[BaseModel], path: list[str]) -> list[str]:
    """The field names known at `path` inside `model` (for suggestions)."""
    for part in path:
        field = model.model_fields.get(part)
        if field is None:
            return []
        annotation = field.annotation
        inner = [a for a in typing.get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        elif inner:
            model = inner[0]
        elif typing.get_origin(annotation) is list and typing.get_args(annotation):
            model = typing.get_args(annotation)[0]
        else:
            return []
    return list(model.model_fields)


def parse_recipe(data: Any, source: str = "recipe", recipe_dir: Path | None = None) -> SFTRecipe | GRPORecipe:
    """Validate a recipe dict completely; raise RecipeError listing every problem found."""
    if not isinstance(data, dict):
        raise RecipeError(
            [("recipe", "expected a mapping of fields (stage, model, output_dir, ...)")], source
        )
    stage = data.get("stage")
    if stage not in RECIPE_TYPES:
        raise RecipeError([("stage", f"{stage!r}: must be one of {', '.join(RECIPE_TYPES)}")], source)
    model = RECIPE_TYPES[stage]
    try:
        recipe = model.model_validate(data)
    except ValidationError as exc:
        raise RecipeError(_pydantic_problems(exc, model), source) from None
    trl_args, problems = check_trl_args(recipe.stage, recipe.trl)
    recipe = recipe.model_copy(update={"trl": trl_args})
    recipe, launch_problems = check_launch(recipe, recipe_dir)
    problems += launch_problems
    if isinstance(recipe, GRPORecipe):
        recipe, reward_problems = check_rewards(recipe)
        problems += reward_problems
        if not problems:  # the arithmetic needs valid numbers
            problems += check_grpo_batches(recipe)
    if problems:
        raise RecipeError(problems, source)
    return recipe


def shipped_recipes() -> dict[str, Path]:
    """Recipes that ship with galen, by name (file name without .yaml)."""
    folder = Path(str(resources.files("galen.train").joinpath("recipes")))
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def find_recipe(name: str | Path) -> Path:
    """A path to a recipe file, or the name of a shipped recipe."""
    path = Path(name)
    if path.is_file():
        return path
    shipped = shipped_recipes()
    if str(name) in shipped:
        return shipped[str(name)]
    raise RecipeError(
        [("recipe", f"no file {name}, and no shipped recipe of that name ({', '.join(shipped)})")], str(name)
    )


def set_override(data: dict[str, Any], assignment: str) -> None:
    """Apply `a.b.c=value` to a recipe dict; the value is read as YAML (3, true, [a, b], null)."""
    key, sep, raw = assignment.partition("=")
    if not sep or not key:
        raise RecipeError([("--set", f"{assignment!r}: expected FIELD=VALUE, e.g. trl.max_steps=3")])
    *parents, last = key.strip().split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise RecipeError([("--set", f"{key}: {part} is not a mapping")])
    node[last] = yaml.safe_load(raw)


def load_recipe(name: str | Path, overrides: typing.Sequence[str] = ()) -> SFTRecipe | GRPORecipe:
    """Read, override (`trl.max_steps=3`) and validate a recipe file or shipped recipe."""
    path = find_recipe(name)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise RecipeError([("recipe", f"not valid YAML: {exc}")], str(path)) from None
    data = data if data is not None else {}
    for assignment in overrides:
        if isinstance(data, dict):
            set_override(data, assignment)
    return parse_recipe(data, str(path), path.parent)


def resolved_dict(recipe: Recipe) -> dict[str, Any]:
    """The recipe with every default filled in, as plain data (written into the run folder)."""
    return recipe.model_dump(mode="json")


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
