"""GRPO: sample a group of completions per prompt, reward them, and push towards the better ones.

The prompts come from `galen data`'s GRPO export (question, gold answer, kind, choices); the
rewards are the recipe's `rewards` list (`galen.train.rewards`), summed with their weights.
Generation runs in the training process (transformers; what the CPU recipe uses) or on vLLM
(`trl.use_vllm`, `vllm_mode: colocate | server`; see docs/train.md).

A group whose completions all get the same total reward has zero advantage and teaches
nothing. `GalenGRPOTrainer` logs the fraction of such groups at every step as
`zero_advantage_groups` (whatever `scale_rewards` and `multi_objective_aggregation` are), and
the run warns when it is above zero.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console

from galen.train.callbacks import ZERO_ADVANTAGE, ZeroAdvantageMonitor
from galen.train.data import grpo_dataset
from galen.train.recipe import GRPORecipe
from galen.train.rewards import build_rewards, zero_advantage_fraction
from galen.train.run import RunResult, Setup, run_training


def _trainer_class() -> type:
    from trl import GRPOTrainer

    class GalenGRPOTrainer(GRPOTrainer):
        """TRL's GRPOTrainer, plus the zero-advantage fraction of every generation batch."""

        def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
            # One row per completion of the whole (all-process) batch, one column per reward.
            per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
            totals = (per_func * self.reward_weights.to(per_func.device).unsqueeze(0)).nansum(dim=1)
            mode = "train" if self.model.training else "eval"
            group = self.num_generations if mode == "train" else self.num_generations_eval
            self._metrics[mode][ZERO_ADVANTAGE].append(zero_advantage_fraction(totals.tolist(), group))
            return per_func

    return GalenGRPOTrainer


def train_grpo(recipe: GRPORecipe, console: Console | None = None) -> RunResult:
    """Run a GRPO recipe to its run folder (resuming from the newest checkpoint if there is one)."""
    console = console or Console(stderr=True)
    reward_funcs, weights = build_rewards(recipe.rewards)
    monitor = ZeroAdvantageMonitor(console)

    def build_trainer(setup: Setup) -> Any:
        return _trainer_class()(
            model=setup.model,
            reward_funcs=reward_funcs,
            args=setup.args,
            train_dataset=grpo_dataset(setup.data),
            processing_class=setup.tokenizer,
            peft_config=setup.peft_config,
            callbacks=setup.callbacks,
        )

    return run_training(
        recipe, build_trainer, console=console, extra_args={"reward_weights": weights}, monitor=monitor
    )
