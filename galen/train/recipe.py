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
from typing import Any

from galen.config import ConfigError, Problems, field_path, read_yaml, set_override, validate
from galen.provenance import config_file
from galen.train.checks import RENAMED, check_grpo_batches, check_launch, check_rewards, check_trl_args
from galen.train.config import (
    RECIPE_TYPES,
    DataSpec,
    GRPORecipe,
    LaunchSpec,
    ModelSpec,
    PeftSpec,
    Recipe,
    RewardSpec,
    SFTRecipe,
    Stage,
)

__all__ = [
    "DataSpec",
    "GRPORecipe",
    "LaunchSpec",
    "ModelSpec",
    "PeftSpec",
    "Recipe",
    "RecipeError",
    "RewardSpec",
    "SFTRecipe",
    "Stage",
    "field_path",
    "find_recipe",
    "load_recipe",
    "parse_recipe",
    "resolved_dict",
    "set_override",
    "shipped_recipes",
]


class RecipeError(ConfigError):
    """A recipe that cannot run; the message lists every problem, one `field: why` per line."""

    def __init__(self, problems: Problems, source: str = "recipe") -> None:
        super().__init__(problems, source)


def parse_recipe(
    data: Any, source: str = "recipe", recipe_dir: Path | None = None, paths_from: Path | None = None
) -> SFTRecipe | GRPORecipe:
    """Validate a recipe dict completely; raise RecipeError listing every problem found.

    recipe_dir: the recipe file's folder (launch files are found there); paths_from: what relative
    paths are resolved against (the recipe file's folder; None, the working directory, for a
    shipped recipe)."""
    if not isinstance(data, dict):
        raise RecipeError(
            [("recipe", "expected a mapping of fields (stage, model, output_dir, ...)")], source
        )
    stage = data.get("stage")
    if stage not in RECIPE_TYPES:
        raise RecipeError([("stage", f"{stage!r}: must be one of {', '.join(RECIPE_TYPES)}")], source)
    try:
        recipe = validate(
            RECIPE_TYPES[stage], data, base=paths_from, source=source, root="recipe", renamed=RENAMED
        )
    except ConfigError as exc:
        raise RecipeError(exc.problems, source) from None
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


def load_recipe(name: str | Path, overrides: typing.Sequence[str] = ()) -> SFTRecipe | GRPORecipe:
    """Read, override (`trl.max_steps=3`) and validate a recipe file or shipped recipe. Paths in a
    file are relative to the file; in a shipped recipe, to the working directory."""
    path = find_recipe(name)
    shipped = not Path(name).is_file()
    try:
        data = read_yaml(path, "recipe")
        for assignment in overrides:
            set_override(data, assignment)
    except ConfigError as exc:
        raise RecipeError(exc.problems, str(path)) from None
    recipe = parse_recipe(data, str(path), path.parent, None if shipped else path.parent.resolve())
    recipe._origin = config_file(path, overrides=list(overrides))
    return recipe


def resolved_dict(recipe: Recipe) -> dict[str, Any]:
    """The recipe with every default filled in, as plain data (written into the run folder)."""
    return recipe.model_dump(mode="json")
