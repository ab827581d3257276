"""`galen data`: build an auditable training corpus, check it, describe it, distil answers for it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from galen import RESEARCH_NOTICE
from galen.cli import data_review
from galen.cli.output import console, fail
from galen.errors import BadRequest, GalenError

app = typer.Typer(
    help="Build, verify, report on, distil and synthesise training corpora.", no_args_is_help=True
)
app.add_typer(data_review.app, name="review")


def _recipe(path: Path, output: Path | None):
    from galen.data.recipe import load_recipe

    recipe = load_recipe(path)
    return recipe.model_copy(update={"output": str(output.resolve())}) if output else recipe


@app.command("build")
def build(
    recipe: Annotated[Path, typer.Argument(help="The recipe (YAML).")],
    output: Annotated[Path | None, typer.Option(help="Output folder (overrides the recipe's).")] = None,
) -> None:
    """Read the sources, deduplicate, decontaminate, and write shards, exports and a manifest."""
    from galen.data.build import build as run_build

    try:
        loaded = _recipe(recipe, output)
        result = run_build(loaded, recipe.resolve(), lambda line: console.print(f"[dim]{line}[/dim]"))
    except GalenError as exc:
        raise fail(exc.message) from None
    console.print(f"{result.counts['records']} records in {result.out}")
    for name, rows in result.counts["exports"].items():
        console.print(f"  {name}: {rows} rows")


@app.command("verify")
def verify(directory: Annotated[Path, typer.Argument(help="An output folder of build or distill.")]) -> None:
    """Recompute every hash and row count in the manifest and say what changed."""
    from galen.data.manifest import verify as run_verify

    try:
        result = run_verify(directory)
    except GalenError as exc:
        raise fail(exc.message) from None
    if result.ok:
        console.print(f"ok: {result.checked} files match {directory / 'manifest.json'}")
        return
    for problem in result.problems:
        console.print(f"[red]changed:[/red] {problem}", soft_wrap=True)
    console.print(f"{len(result.problems)} problems in {result.checked} listed files")
    raise typer.Exit(1)


@app.command("report")
def report(
    directory: Annotated[Path, typer.Argument(help="An output folder of build or distill.")],
    output: Annotated[
        Path | None, typer.Option(help="Where report.md and report.png go (default: DIRECTORY).")
    ] = None,
    tokenizer: Annotated[
        list[str] | None,
        typer.Option(help="Count tokens with qwen3.6 and/or gemma3 (repeat); default qwen3.6."),
    ] = None,
) -> None:
    """Counts per source and stage, tokens, answer balance, lengths and contamination."""
    from galen.data.report import build_report

    try:
        tables, target = build_report(directory, output, tokenizer or ["qwen3.6"])
    except GalenError as exc:
        raise fail(exc.message) from None
    for table in tables:
        if not table.rows:
            continue
        shown = RichTable(*table.header, title=table.title)
        for row in table.rows:
            shown.add_row(*row)
        console.print(shown)
    console.print(f"wrote {target / 'report.md'} and {target / 'report.png'}")


@app.command("distill")
def distill(
    recipe: Annotated[Path, typer.Argument(help="The recipe; its build output is read.")],
    teacher: Annotated[
        str, typer.Option(help="Base URL of an OpenAI-compatible server, e.g. http://host:8000/v1.")
    ],
    model: Annotated[
        str | None, typer.Option(help="Teacher model id (default: the recipe's, else the first listed).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="Distillation folder (default: <build output>/distill).")
    ] = None,
    build_dir: Annotated[
        Path | None, typer.Option(help="The build output to read (default: the recipe's).")
    ] = None,
    tries: Annotated[
        int | None, typer.Option(min=1, help="Attempts per item (default: the recipe's, 8).")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N labelled items.")] = None,
    max_tokens: Annotated[int | None, typer.Option(min=1, help="Token limit per answer.")] = None,
    api_key: Annotated[
        str | None,
        typer.Option(help="Teacher's key (default: $OPENAI_API_KEY or the recipe's api_key_env); not saved."),
    ] = None,
) -> None:
    """Generate chain-of-thought answers, keeping those whose answer matches the gold label."""
    from galen.data.distill import run_distill
    from galen.data.export import think_tags

    console.print(f"[dim]{RESEARCH_NOTICE}[/dim]")
    try:
        loaded = _recipe(recipe, None)
        overrides = {"model": model, "tries": tries, "limit": limit, "max_tokens": max_tokens}
        settings = loaded.distill.model_copy(update={k: v for k, v in overrides.items() if v is not None})
        source = build_dir or loaded.output_dir
        result = run_distill(
            source,
            output or source / "distill",
            teacher,
            settings,
            api_key=api_key,
            progress=lambda line: console.print(f"[dim]{line}[/dim]"),
            tags=think_tags(loaded.export.think_open, loaded.export.think_close, loaded.export.family),
        )
    except GalenError as exc:
        raise fail(exc.message) from None
    console.print(
        f"{result.kept} kept, {result.rejected} rejected of {result.items} items "
        f"({result.resumed_shards} shards and {result.cached_calls} calls resumed) in {result.out}"
    )


@app.command("synth")
def synth(
    recipe: Annotated[Path, typer.Argument(help="The recipe; its `synth` section is used.")],
    teacher: Annotated[
        list[str],
        typer.Option(
            metavar="URL", help="Base URL of an OpenAI-compatible server; repeat it to share the work out."
        ),
    ],
    model: Annotated[
        str | None, typer.Option(help="Teacher model id (default: the recipe's, else the first listed).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(help="The recipe's output folder, as for build; items go to its synth/."),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N guideline chunks.")] = None,
    tries: Annotated[
        int | None, typer.Option(min=1, help="Attempts per item (default: the recipe's, 3).")
    ] = None,
    max_tokens: Annotated[int | None, typer.Option(min=1, help="Token limit per reply.")] = None,
    concurrency: Annotated[int | None, typer.Option(min=1, help="Calls in flight per teacher URL.")] = None,
    structured: Annotated[
        str | None,
        typer.Option(
            metavar="auto|on|off",
            help="Replies as JSON of each generator's schema: auto (when the teachers say they "
            "can), on (e.g. vLLM), off (labelled text). Default: the recipe's, auto.",
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(help="Teachers' key (default: $OPENAI_API_KEY or the recipe's api_key_env); not saved."),
    ] = None,
) -> None:
    """Make guideline-grounded QA, exam-style MCQ and clinical vignettes with a teacher."""
    from galen.data.synth import run_synth

    console.print(f"[dim]{RESEARCH_NOTICE}[/dim]")
    try:
        loaded = _recipe(recipe, output)
        given = {"model": model, "limit": limit, "tries": tries, "max_tokens": max_tokens}
        given["concurrency"] = concurrency
        if structured is not None and structured not in ("auto", "on", "off"):
            raise BadRequest("--structured", f"must be auto, on or off, not {structured!r}")
        given["structured"] = structured
        settings = loaded.synth.model_copy(update={k: v for k, v in given.items() if v is not None})
        loaded = loaded.model_copy(update={"synth": settings})
        result = run_synth(
            loaded,
            teacher,
            recipe_path=recipe.resolve(),
            api_key=api_key,
            progress=lambda line: console.print(f"[dim]{line}[/dim]"),
        )
    except GalenError as exc:
        raise fail(exc.message) from None
    for name, kept in result.kept.items():
        reasons = ", ".join(f"{n} {why}" for why, n in result.rejected[name].items()) or "none"
        console.print(f"{name}: {kept} kept of {result.chunks}; rejected: {reasons}")
    if result.skipped:
        console.print("skipped input: " + ", ".join(f"{n} {why}" for why, n in result.skipped.items()))
    console.print(
        f"{result.documents} guidelines, {result.chunks} chunks; {result.resumed_shards} shards and "
        f"{result.cached_calls} calls resumed; in {result.out}"
    )
