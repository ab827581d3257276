"""Training recipes: typed models that a YAML file fills in, checked before any model loads.

A recipe names what to train (`model`), on what (`data`), how (`peft`, `trl`, `rewards`), where
to write (`output_dir`) and how it is launched (`launch`). `parse_recipe` validates the fields
(unknown ones are named, with the closest known name), then runs every check in `checks.py`
(TRL arguments, batch arithmetic, launch files, rewards) and raises one `RecipeError` listing all
problems, each as `field: why, and the fix`:

    trl.num_generations: 6 must divide the generation batch 16 (per_device_train_batch_size 4 x
    2 processes x steps_per_generation 2); choose one of [2, 4, 8, 16] or change the batch

`load_recipe(path_or_name, overrides)` reads a file or a shipped recipe (`galen/train/recipes/`).
"""

from __future__ import annotations

import typing
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from galen.errors import BadRequest
from galen.train.checks import (
    check_grpo_batches,
    check_launch,
    check_rewards,
    check_trl_args,
    suggest,
)

Stage = Literal["sft", "grpo"]


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


# -- reading --------------------------------------------------------------------------------------


def _pydantic_problems(exc: ValidationError, model: type[BaseModel]) -> list[tuple[str, str]]:
    problems = []
    for error in exc.errors():
        loc = [str(p) for p in error["loc"] if p not in ("sft", "grpo")]
        where = ".".join(loc) or "recipe"
        if error["type"] == "extra_forbidden":
            problems.append((where, f"unknown field{suggest(loc[-1], _field_names(model, loc[:-1]))}"))
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
