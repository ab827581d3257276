"""galen train: SFT and GRPO recipes on TRL and PEFT, rewards, run folders and export.

Heavy modules (torch, TRL) load only when training starts; recipes and rewards import light.

    from galen.train import load_recipe, train_sft, train_grpo, export
    train_sft(load_recipe("cpu-smollm2-sft"))
"""

from __future__ import annotations

from typing import Any

from galen.train.recipe import GRPORecipe, RecipeError, SFTRecipe, load_recipe, parse_recipe
from galen.train.rewards import (
    REWARDS,
    answer_reward,
    overlong_penalty,
    think_format_reward,
    zero_advantage_fraction,
)

__all__ = [
    "REWARDS",
    "GRPORecipe",
    "RecipeError",
    "SFTRecipe",
    "answer_reward",
    "export",
    "load_recipe",
    "overlong_penalty",
    "parse_recipe",
    "think_format_reward",
    "train_grpo",
    "train_sft",
    "zero_advantage_fraction",
]


def train_sft(recipe: SFTRecipe, console: Any = None) -> Any:
    from galen.train.sft import train_sft as run

    return run(recipe, console)


def train_grpo(recipe: GRPORecipe, console: Any = None) -> Any:
    from galen.train.grpo import train_grpo as run

    return run(recipe, console)


def export(
    source: Any, output: Any = None, chat_template: str | None = None, family: str | None = None
) -> Any:
    from galen.train.export import export as run

    return run(source, output, chat_template, family)
