"""Supervised fine-tuning: teach the think-then-answer format on `galen data`'s SFT export.

Each row's conversation becomes a TRL prompt-completion pair (every turn but the last is the
prompt, the last assistant turn the completion), so the loss falls on the answer the model
should write, `<think>` block included, and not on the question. The chat template is the
recipe's (`model.chat_template`): for the embedded SmolLM2 that is galen's `chatml_think`, whose
generation prompt opens `<think>` exactly as the training text does, so what the model learns is
what `galen serve` will ask of it.

    from galen.train import load_recipe, train_sft
    result = train_sft(load_recipe("cpu-smollm2-sft"))   # -> runs/cpu-smollm2-sft
"""

from __future__ import annotations

from typing import Any

from rich.console import Console

from galen.models.profile import ModelProfile, ThinkTags
from galen.train.data import sft_dataset
from galen.train.recipe import SFTRecipe
from galen.train.run import RunResult, Setup, run_training


def opened_think(tokenizer: Any, profile: ModelProfile) -> ThinkTags | None:
    """The family's think tags if the chat template's generation prompt opens a think block."""
    if profile.think is None or not tokenizer.chat_template:
        return None
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "?"}], tokenize=False, add_generation_prompt=True
    )
    return profile.think if prompt.rstrip().endswith(profile.think.open) else None


def build_trainer(setup: Setup) -> Any:
    from trl import SFTTrainer

    return SFTTrainer(
        model=setup.model,
        args=setup.args,
        train_dataset=sft_dataset(setup.data, opened_think(setup.tokenizer, setup.base.profile)),
        processing_class=setup.tokenizer,
        peft_config=setup.peft_config,
        callbacks=setup.callbacks,
    )


def train_sft(recipe: SFTRecipe, console: Console | None = None) -> RunResult:
    """Run an SFT recipe to its run folder (resuming from the newest checkpoint if there is one)."""
    return run_training(recipe, build_trainer, console=console)
