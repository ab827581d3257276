"""`galen train`: run SFT and GRPO recipes, export the result, validate recipes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console
from rich.table import Table

from galen import RESEARCH_NOTICE
from galen.cli.output import console, fail
from galen.errors import GalenError

app = typer.Typer(
    help="Train medical reasoners: SFT and GRPO recipes on TRL, and export them.", no_args_is_help=True
)

RecipeArg = Annotated[
    str, typer.Argument(help="A recipe file, or the name of a shipped recipe (galen train recipes).")
]
SetOpt = Annotated[
    list[str] | None, typer.Option("--set", help="Override a field: --set trl.max_steps=3 (repeatable).")
]
OutputOpt = Annotated[
    Path | None, typer.Option(help="The run folder (overrides the recipe's output_dir; relative to here).")
]

OOM_ADVICE = (
    "out of memory. Lower, in this order: trl.per_device_train_batch_size (raise "
    "gradient_accumulation_steps to keep the batch), trl.max_length / max_completion_length, "
    "peft.r; turn on trl.gradient_checkpointing; for GRPO with vLLM lower "
    "trl.vllm_gpu_memory_utilization. See docs/train.md#out-of-memory."
)


def _preimport_unsloth(recipe: str) -> None:
    """Unsloth patches transformers and TRL when imported, so it must come before them."""
    from galen.train.recipe import find_recipe

    try:
        data = _peek(find_recipe(recipe))
    except GalenError:
        return  # the real load reports it
    if (data.get("launch") or {}).get("backend") == "unsloth":
        try:
            import unsloth  # noqa: F401
        except ImportError:
            pass  # load_unsloth says how to install it


def _load(recipe: str, overrides: list[str] | None, output_dir: Path | None, stage: str):
    from galen.train.recipe import find_recipe, load_recipe

    declared = _peek(find_recipe(recipe)).get("stage")
    if declared in ("sft", "grpo") and declared != stage:
        raise fail(f"{recipe} is a {declared} recipe: run `galen train {declared} {recipe}`")
    extra = [f"output_dir={output_dir.resolve()}"] if output_dir else []  # a flag is relative to here
    return load_recipe(recipe, [*(overrides or []), *extra])


def _peek(path: Path) -> dict:
    """The recipe file's raw fields, or {} if it does not parse (load_recipe reports that)."""
    try:
        data = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, OSError):
        return {}
    return data if isinstance(data, dict) else {}


def _train(stage: str, recipe: str, overrides: list[str] | None, output_dir: Path | None) -> None:
    _preimport_unsloth(recipe)
    console.print(f"[dim]{RESEARCH_NOTICE}[/dim]")
    try:
        loaded = _load(recipe, overrides, output_dir, stage)
        if stage == "sft":
            from galen.train.sft import train_sft as train
        else:
            from galen.train.grpo import train_grpo as train
        import torch

        try:
            result = train(loaded, console)
        except torch.OutOfMemoryError:
            raise fail(OOM_ADVICE) from None
    except GalenError as exc:
        raise fail(exc.message) from None
    if result.already_finished:
        return
    console.print(f"run folder: {result.run} (step {result.global_step}; final weights in {result.final})")
    if result.zero_advantage_mean is not None:
        console.print(f"zero-advantage groups: {result.zero_advantage_mean:.0%} on average over the run")
    if result.curves:
        console.print(f"curves: {', '.join(p.name for p in result.curves)} in {result.curves[0].parent}")
    console.print(f"next: galen train export {result.run}")


@app.command("sft")
def sft(recipe: RecipeArg, set_: SetOpt = None, output_dir: OutputOpt = None) -> None:
    """Supervised fine-tuning on a data build's SFT export; run again to resume."""
    _train("sft", recipe, set_, output_dir)


@app.command("grpo")
def grpo(recipe: RecipeArg, set_: SetOpt = None, output_dir: OutputOpt = None) -> None:
    """GRPO with galen's rewards on a data build's GRPO export; run again to resume."""
    _train("grpo", recipe, set_, output_dir)


GgufOpt = Annotated[
    str | None,
    typer.Option(
        "--gguf",
        metavar="TYPE",
        help="Also write a GGUF for llama.cpp: q8_0, q4_k_m or f16 (in EXPORT-TYPE/, beside the export).",
    ),
]
EvalOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--eval",
        metavar="DIR",
        help="A `galen eval run` output folder whose scores go into the model card (repeatable).",
    ),
]


@app.command("export")
def export(
    source: Annotated[str, typer.Argument(help="A run folder, or a model (GGUF, embedded name) to convert.")],
    output: Annotated[
        Path | None, typer.Option(help="Where to write (default for a run: RUN/export).")
    ] = None,
    chat_template: Annotated[str | None, typer.Option(help="Template for a converted model.")] = None,
    family: Annotated[str | None, typer.Option(help="Family for a converted model.")] = None,
    gguf: GgufOpt = None,
    evals: EvalOpt = None,
) -> None:
    """Merge a run's adapter into a whole Hugging Face folder (vision tower, MTP head and processor
    configs kept) with a model card, for `galen serve --model` and `galen eval`; --gguf also writes
    a quantised GGUF that galen serve runs on llama.cpp."""
    from galen.train.export import export as do_export

    try:
        if gguf is not None:
            from galen.train.gguf import GGUF_TYPES

            if gguf not in GGUF_TYPES:
                raise fail(f"--gguf: unknown type {gguf!r}; choose one of {', '.join(GGUF_TYPES)}")
        folder = do_export(source, output, chat_template, family, evals)
        console.print(f"exported: {folder}")
        if gguf is not None:
            from galen.train.gguf import export_gguf

            folder = export_gguf(folder, gguf)
            file = next(folder.glob("*.gguf"))
            console.print(f"gguf ({gguf}): {file}")
            folder = file
    except GalenError as exc:
        raise fail(exc.message) from None
    console.print(f"serve it: galen serve --model {folder}")


@app.command("validate")
def validate(
    recipes: Annotated[
        list[str] | None, typer.Argument(help="Recipe files or names (default: all shipped).")
    ] = None,
    set_: SetOpt = None,
) -> None:
    """Check recipes without loading a model: fields, TRL arguments, batch arithmetic, launch files."""
    from galen.train.checks import generation_batch, launch_command, trl_value
    from galen.train.recipe import RecipeError, find_recipe, load_recipe, shipped_recipes

    names = recipes or list(shipped_recipes())
    failed = 0
    for name in names:
        try:
            recipe = load_recipe(name, set_ or [])
        except RecipeError as exc:
            failed += 1
            Console(stderr=True, soft_wrap=True).print(f"[red]error:[/red] {exc.message}", highlight=False)
            continue
        path = find_recipe(name)
        world, machines = recipe.world_size, recipe.launch.num_machines or 1
        per_step = trl_value(recipe, "per_device_train_batch_size") * trl_value(
            recipe, "gradient_accumulation_steps"
        )
        if recipe.stage == "grpo":
            generated, _ = generation_batch(recipe)
            groups = trl_value(recipe, "num_generations")
            batch = f"{generated} completions per generation ({generated // groups} prompts x {groups})"
        else:
            batch = f"{per_step * world} sequences per optimizer step"
        console.print(
            f"[green]ok[/green] {path.stem} ({recipe.stage}): {recipe.model.base}, "
            f"{world} process(es) on {machines} machine(s), {batch}",
            highlight=False,
        )
        for line in launch_command(recipe, name, path.parent):
            console.print(f"    {line}", highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(2)


@app.command("recipes")
def list_recipes() -> None:
    """The recipes that ship with galen."""
    from galen.train.recipe import shipped_recipes

    table = Table("Name", "Stage", "Description")
    for name, path in shipped_recipes().items():
        data = yaml.safe_load(path.read_text()) or {}
        table.add_row(name, str(data.get("stage", "")), str(data.get("description", "")))
    console.print(table)
