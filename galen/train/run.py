"""The steps every stage shares: check, load, train (resuming), save, record provenance.

The run folder's layout is in `run_folder.py`. Running the same recipe again continues from the
newest checkpoint (`resume: true`); a finished run is left alone (a run written by an older galen
gets its provenance.json then). A folder holding a run of a different recipe is refused, naming
the fields that differ, except for the few that a continued run may change (`max_steps`, ...).

provenance.json links the run to its inputs: the training file and the data build's manifest
(with the build folder, when the data came from `galen data build`), and the base model (with
the run folder it came from, when GRPO starts from an SFT run).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from galen import __version__
from galen.errors import BadRequest
from galen.files import weights_sha256
from galen.provenance import PROVENANCE, FileRef, file_input, git_commit, write_provenance
from galen.train.callbacks import CurvePlotter, MetricsLog, RichProgress, ZeroAdvantageMonitor, plot_curves
from galen.train.checks import trl_config_class
from galen.train.data import TrainingData, load_training_data
from galen.train.recipe import Recipe, RecipeError, resolved_dict
from galen.train.run_folder import RunFolder, checkpoint_step, is_run_folder

# Fields a resumed run may change (and what `--set` is mostly for).
CONTINUABLE = {
    "trl.max_steps",
    "trl.num_train_epochs",
    "trl.save_steps",
    "trl.save_total_limit",
    "trl.logging_steps",
    "resume",
    "threads",
    "description",
}


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(_flat(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): data}


def changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Dotted names of the fields that differ between two resolved recipes.

    >>> changed_fields({"trl": {"max_steps": 3, "seed": 0}}, {"trl": {"max_steps": 5, "seed": 1}})
    ['trl.max_steps', 'trl.seed']
    """
    a, b = _flat(old), _flat(new)
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def open_run(recipe: Recipe) -> tuple[RunFolder, Path | None]:
    """The run folder and the checkpoint to resume from; refuses a folder it must not touch."""
    run = RunFolder(Path(recipe.output_dir))
    checkpoint = run.last_checkpoint()
    started = checkpoint is not None or run.final.exists()
    if not started:
        return run, None
    if not recipe.resume:
        raise BadRequest(
            "output_dir",
            f"{run.path} already holds a run; choose a new output_dir, delete it, or set resume: true",
        )
    if run.recipe_file.is_file():
        old = yaml.safe_load(run.recipe_file.read_text()) or {}
        changed = [f for f in changed_fields(old, resolved_dict(recipe)) if f not in CONTINUABLE]
        if changed:
            raise BadRequest(
                "output_dir",
                f"{run.path} holds a run of a different recipe (changed: {', '.join(changed)}); "
                "choose a new output_dir or delete the folder",
            )
    return run, checkpoint


@dataclass
class Setup:
    """What a stage needs to build its trainer."""

    recipe: Recipe
    run: RunFolder
    base: Any  # galen.train.model.Base: folder, template, family profile
    data: TrainingData
    args: Any  # trl.SFTConfig / trl.GRPOConfig
    model: Any
    tokenizer: Any
    peft_config: Any
    callbacks: list[Any] = field(default_factory=list)


@dataclass
class RunResult:
    run: Path
    global_step: int
    final: Path
    resumed_from: Path | None
    curves: list[Path]
    zero_advantage_mean: float | None = None
    already_finished: bool = False


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"galen": __version__}
    for name in ("torch", "transformers", "trl", "peft", "accelerate", "datasets"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def make_args(recipe: Recipe, run: RunFolder, extra: dict[str, Any]) -> Any:
    """The TRL config; TRL's own checks (raised as ValueError) are reported as recipe errors."""
    cls = trl_config_class(recipe.stage)
    try:
        return cls(output_dir=str(run.checkpoints), disable_tqdm=True, **recipe.trl, **extra)
    except ValueError as exc:
        raise RecipeError([("trl", str(exc))], recipe.output_dir) from None


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def data_inputs(data: TrainingData) -> list[FileRef]:
    """The training file and its manifest, linked to the data build they came out of."""
    build = data.manifest.parent if data.manifest else None
    folder = str(build.resolve()) if build and (build / PROVENANCE).is_file() else None
    found = [file_input("data", data.file, rows=len(data.rows), folder=folder)]
    if data.manifest:
        found.append(file_input("manifest", data.manifest, folder=folder))
    return found


def base_input(base: dict[str, Any]) -> FileRef:
    """The base model as trained from (run.json's `base`): its weights hash, and the run folder it
    came from when it is one."""
    spec, folder = str(base.get("spec")), Path(str(base.get("folder")))
    return FileRef(
        role="base",
        path=str(folder),
        sha256=weights_sha256(folder) if folder.exists() else None,
        folder=spec if is_run_folder(spec) else None,
        fingerprint={"model": spec, "family": base.get("family"), "location": str(folder)},
    )


def write_run_provenance(run: RunFolder, recipe: Recipe, data: TrainingData) -> None:
    """provenance.json of a finished run: recipe, data, base model; final weights and logs."""
    info = run.info()
    write_provenance(
        run.path,
        "train",
        config=recipe._origin or {"recipe": "given in Python"},
        resolved=resolved_dict(recipe),
        inputs=[*data_inputs(data), base_input(info.get("base") or {})],
        output_files=run.outputs(),
    )


def run_training(
    recipe: Recipe,
    make_trainer: Callable[[Setup], Any],
    *,
    console: Console | None = None,
    extra_args: dict[str, Any] | None = None,
    monitor: ZeroAdvantageMonitor | None = None,
) -> RunResult:
    """Check data and folder, then load, train (resuming), save the final weights and curves."""
    from galen.train.export import base_for_training
    from galen.train.model import lora_config

    console = console or Console(stderr=True)
    if recipe.threads:
        import torch

        torch.set_num_threads(recipe.threads)
    data = load_training_data(recipe.data.path, recipe.stage, recipe.data.limit)
    run, checkpoint = open_run(recipe)
    if run.final.exists() and run.info().get("status") == "finished" and checkpoint is not None:
        state = checkpoint_step(checkpoint) or 0
        if _reached_max_steps(recipe, checkpoint):
            console.print(f"{run.path} is already finished (step {state}); nothing to do")
            if not (run.path / PROVENANCE).is_file():  # a run written by an older galen
                write_run_provenance(run, recipe, data)
            return RunResult(run.path, state, run.final, None, sorted(run.curves.glob("*.png")), None, True)
    args = make_args(recipe, run, extra_args or {})
    main = args.should_save  # the main process writes the run folder
    with args.main_process_first(desc="prepare the base model"):
        base = base_for_training(recipe.model)
    if main:
        run.path.mkdir(parents=True, exist_ok=True)
        if checkpoint is None:  # a fresh start: nothing of an attempt that never checkpointed counts
            run.info_file.unlink(missing_ok=True)
            run.metrics.unlink(missing_ok=True)
        run.recipe_file.write_text(yaml.safe_dump(resolved_dict(recipe), sort_keys=False))
        resumes = run.info().get("resumed_from", []) + ([str(checkpoint)] if checkpoint else [])
        run.write_info(
            stage=recipe.stage,
            status="running",
            started=run.info().get("started", _now()),
            base=base.describe(),
            data=data.describe(),
            world_size=args.world_size,
            peft=recipe.peft.method if recipe.peft else None,
            resumed_from=resumes,
            galen_commit=git_commit(),
            versions=versions(),
        )
    model, tokenizer, peft_config = _load(base, recipe, lora_config)
    callbacks: list[Any] = [MetricsLog(run.metrics), CurvePlotter(run.metrics, run.curves)]
    callbacks += [monitor] if monitor else []
    callbacks.append(RichProgress(console, f"{recipe.stage} {run.path.name}"))
    trainer = make_trainer(Setup(recipe, run, base, data, args, model, tokenizer, peft_config, callbacks))
    _quiet(trainer)
    if checkpoint:
        console.print(f"resuming from {checkpoint}")
    step = _train(trainer, recipe, checkpoint, console)
    trainer.save_model(str(run.final))
    curves = plot_curves(run.metrics, run.curves) if main else []
    mean = monitor.mean if monitor else None
    if main:
        run.write_info(status="finished", finished=_now(), global_step=step, zero_advantage_groups_mean=mean)
        write_run_provenance(run, recipe, data)
    return RunResult(run.path, step, run.final, checkpoint, curves, mean)


def _load(base: Any, recipe: Recipe, lora_config: Callable[[Any], Any]) -> tuple[Any, Any, Any]:
    """(model, tokenizer, peft config for the trainer): TRL + PEFT, or Unsloth's own loader."""
    from galen.train.model import load_model, load_tokenizer, load_unsloth

    if recipe.launch.backend == "unsloth":
        model, tokenizer = load_unsloth(base, recipe)
        return model, tokenizer, None  # Unsloth has attached the LoRA adapter itself
    tokenizer = load_tokenizer(base)
    return load_model(base, recipe.model, recipe.peft), tokenizer, lora_config(recipe.peft)


def _quiet(trainer: Any) -> None:
    """Drop transformers' tqdm bar and log printer: galen's RichProgress replaces them."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(ProgressCallback)
    trainer.remove_callback(PrinterCallback)


def _reached_max_steps(recipe: Recipe, checkpoint: Path | None) -> bool:
    max_steps = recipe.trl.get("max_steps", -1)
    return checkpoint is not None and 0 < max_steps <= (checkpoint_step(checkpoint) or 0)


def _train(trainer: Any, recipe: Recipe, checkpoint: Path | None, console: Console) -> int:
    """Train from `checkpoint` (or the start); returns the global step reached.

    A checkpoint at `max_steps` (a run killed after its last checkpoint, before it was marked
    finished) is not handed to `trainer.train`: when `max_steps` ends mid-epoch the Trainer would
    run one step past it (it checks the limit after a step, not before). Its weights are loaded
    instead, to be saved as the final ones.
    """
    if _reached_max_steps(recipe, checkpoint):
        console.print(f"{checkpoint} is at max_steps; taking its weights as the final ones")
        trainer._load_from_checkpoint(str(checkpoint))  # what train() calls to load them on resume
        return checkpoint_step(checkpoint) or 0
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    return int(trainer.state.global_step)
