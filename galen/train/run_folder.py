"""A training run's folder: where each file of a run lives, and reading its status.

runs/NAME/
  recipe.yaml       the resolved recipe: every field, defaults filled in
  run.json          status, base model, data file and manifest sha256, versions, resumes
  provenance.json   the run-folder contract (galen.provenance): recipe, data, base, outputs
  metrics.jsonl     one line per logging step (TRL's metrics, plus galen's)
  checkpoints/      TRL checkpoints (checkpoint-N), the newest resumed after a kill
  final/            the LoRA adapter (or the full model) and tokenizer at the end
  curves/*.png      loss, learning rate, reward, zero-advantage fraction, ...
  export/           `galen train export RUN`: merged model for galen serve / galen eval
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from galen.files import write_atomic

_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def is_run_folder(path: str | Path) -> bool:
    return (Path(path) / "run.json").is_file()


def checkpoint_step(checkpoint: Path) -> int | None:
    """The global step in a checkpoint's trainer_state.json; None when it is missing or torn."""
    try:
        return int(json.loads((checkpoint / "trainer_state.json").read_text())["global_step"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


@dataclass
class RunFolder:
    """The paths of one run folder (see the module docstring)."""

    path: Path
    checkpoints: Path = field(init=False)
    final: Path = field(init=False)
    metrics: Path = field(init=False)
    curves: Path = field(init=False)
    recipe_file: Path = field(init=False)
    info_file: Path = field(init=False)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.checkpoints, self.final = self.path / "checkpoints", self.path / "final"
        self.metrics, self.curves = self.path / "metrics.jsonl", self.path / "curves"
        self.recipe_file, self.info_file = self.path / "recipe.yaml", self.path / "run.json"

    def last_checkpoint(self) -> Path | None:
        """The newest complete checkpoint: one whose trainer_state.json (which the Trainer writes
        after the weights, optimizer and RNG state) reads whole. A kill mid-save leaves none, or
        a torn one; either way the checkpoint before it is the one to resume."""
        done = [
            (int(m.group(1)), p)
            for p in (self.checkpoints.iterdir() if self.checkpoints.is_dir() else [])
            if (m := _CHECKPOINT.match(p.name)) and checkpoint_step(p) == int(m.group(1))
        ]
        return max(done)[1] if done else None

    def info(self) -> dict[str, Any]:
        return json.loads(self.info_file.read_text()) if self.info_file.is_file() else {}

    def write_info(self, **updates: Any) -> None:
        """Update run.json; written whole or not at all, so a kill never leaves it unreadable."""
        write_atomic(self.info_file, json.dumps({**self.info(), **updates}, indent=1, default=str) + "\n")

    def outputs(self) -> list[Path]:
        """The files a finished run hands on (checkpoints are working state, not outputs)."""
        named = [self.info_file, self.recipe_file, self.metrics]
        final = sorted(p for p in self.final.rglob("*") if p.is_file()) if self.final.is_dir() else []
        curves = sorted(self.curves.glob("*.png")) if self.curves.is_dir() else []
        return [p for p in named if p.is_file()] + final + curves
