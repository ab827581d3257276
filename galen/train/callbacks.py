"""Trainer callbacks: a rich progress bar, metrics.jsonl, training-curve PNGs, zero-advantage warnings.

All of them write on the main process only, so a multi-GPU run has one progress bar and one log.
"""

from __future__ import annotations

import fnmatch
import json
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from transformers import TrainerCallback

from galen.files import write_atomic

ZERO_ADVANTAGE = "zero_advantage_groups"  # logged by galen's GRPO trainer, see grpo.py

# One PNG per group; a group's patterns match metric names (TRL's names).
CURVES: dict[str, tuple[str, ...]] = {
    "loss": ("loss",),
    "learning_rate": ("learning_rate",),
    "grad_norm": ("grad_norm",),
    "reward": ("reward", "rewards/*/mean"),
    "zero_advantage": (ZERO_ADVANTAGE,),
    "completion_length": ("completions/mean_length",),
    "entropy": ("entropy",),
    "kl": ("kl",),
}
SHOWN = {"loss": "loss", "reward": "reward", ZERO_ADVANTAGE: "zero-adv"}  # beside the progress bar


def read_metrics(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:  # a line torn by a kill
            continue
    return rows


class MetricsLog(TrainerCallback):
    """Appends each log event to `metrics.jsonl` as {"step", "epoch", "time", <TRL's metrics>}.

    On resume, lines past the checkpoint's step (and lines torn by a kill) are dropped first:
    those steps run again. The Trainer logs a step before it checkpoints it, so every step up to
    the checkpoint has its line.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero and state.global_step > 0 and self.path.is_file():
            kept = [r for r in read_metrics(self.path) if r.get("step", 0) <= state.global_step]
            # Whole or not at all: a kill mid-rewrite must not lose the lines of finished steps.
            write_atomic(self.path, "".join(json.dumps(r) + "\n" for r in kept))

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        row = {"step": state.global_step, "epoch": state.epoch, "time": round(time.time(), 3), **logs}
        with self.path.open("a") as f:
            f.write(json.dumps(row, default=str) + "\n")


class RichProgress(TrainerCallback):
    """One progress bar over the optimizer steps, with the latest loss / reward beside it."""

    def __init__(self, console: Console, title: str) -> None:
        self.console, self.title = console, title
        self.progress: Progress | None = None
        self.task: Any = None

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=self.console,
        )
        self.progress.start()
        self.task = self.progress.add_task(self.title, total=state.max_steps, completed=state.global_step)

    def on_step_end(self, args, state, control, **kwargs):
        if self.progress is not None:
            self.progress.update(self.task, completed=state.global_step)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.progress is None or not logs:
            return
        shown = "  ".join(
            f"{label} {logs[k]:.3g}" for k, label in SHOWN.items() if isinstance(logs.get(k), float | int)
        )
        self.progress.update(self.task, description=f"{self.title}  {shown}" if shown else self.title)

    def on_train_end(self, args, state, control, **kwargs):
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


class ZeroAdvantageMonitor(TrainerCallback):
    """Warns when prompt groups got one reward for every completion, and keeps the fractions."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.fractions: list[float] = []

    @property
    def mean(self) -> float | None:
        return sum(self.fractions) / len(self.fractions) if self.fractions else None

    def on_log(self, args, state, control, logs=None, **kwargs):
        fraction = (logs or {}).get(ZERO_ADVANTAGE)
        if fraction is None or not state.is_world_process_zero:
            return
        self.fractions.append(fraction)
        if fraction > 0:
            self.console.print(warning(state.global_step, fraction))


def warning(step: int, fraction: float) -> str:
    """The zero-advantage warning for one logging step.

    >>> print(warning(3, 0.5))  # doctest: +ELLIPSIS
    [yellow]warning:[/yellow] step 3: 50% of prompt groups got the same reward for every ...
    """
    text = (
        f"[yellow]warning:[/yellow] step {step}: {fraction:.0%} of prompt groups got the same reward "
        "for every completion (zero advantage: they teach nothing)"
    )
    if fraction >= 1.0:
        text += "; no group moved the policy: see docs/train.md#zero-advantage"
    return text


def _series(rows: list[dict[str, Any]], pattern: str) -> dict[str, tuple[list[int], list[float]]]:
    found: dict[str, tuple[list[int], list[float]]] = {}
    for row in rows:
        for key, value in row.items():
            if fnmatch.fnmatchcase(key, pattern) and isinstance(value, int | float) and key != "step":
                steps, values = found.setdefault(key, ([], []))
                steps.append(row["step"])
                values.append(float(value))
    return found


def plot_curves(metrics: Path, folder: Path) -> list[Path]:
    """One PNG per metric group present in `metrics.jsonl` (loss, reward, ...); returns the files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in read_metrics(metrics) if "train_runtime" not in r]
    written = []
    for name, patterns in CURVES.items():
        series = {k: v for p in patterns for k, v in _series(rows, p).items()}
        if not series:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        fig, ax = plt.subplots(figsize=(5, 3.2))
        for key, (steps, values) in series.items():
            ax.plot(steps, values, marker="o" if len(steps) < 30 else None, markersize=3, label=key)
        ax.set_xlabel("step")
        ax.set_title(name.replace("_", " "))
        if len(series) > 1:
            ax.legend(fontsize=7)
        fig.tight_layout()
        path = folder / f"{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


class CurvePlotter(TrainerCallback):
    """Redraws the curves at every checkpoint and at the end, so a killed run has them too."""

    def __init__(self, metrics: Path, folder: Path) -> None:
        self.metrics, self.folder = metrics, folder

    def on_save(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            plot_curves(self.metrics, self.folder)

    def on_train_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            plot_curves(self.metrics, self.folder)
