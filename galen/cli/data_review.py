"""`galen data review`: a stratified sample out to clinician reviewers, their verdicts back in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from galen import RESEARCH_NOTICE
from galen.cli.output import console, fail
from galen.errors import GalenError

app = typer.Typer(
    help="Clinician review: a sample out to reviewers, their verdicts back in.", no_args_is_help=True
)


@app.command("export")
def export(
    directory: Annotated[Path, typer.Argument(help="The build's output folder.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The sample to write: .csv or .jsonl.")],
    per_stratum: Annotated[
        int, typer.Option(min=1, help="Records drawn from each (source, generator).")
    ] = 20,
    seed: Annotated[int, typer.Option(help="Seed of the draw; the same seed gives the same sample.")] = 0,
    source: Annotated[list[str] | None, typer.Option(help="Only this source (repeat for several).")] = None,
) -> None:
    """Write a sample for reviewers, stratified by source and generator."""
    from galen.data.review_sample import export_sample

    try:
        sample = export_sample(directory, output, per_stratum, seed, source or None)
    except GalenError as exc:
        raise fail(exc.message) from None
    for stratum, n in sample.strata.items():
        console.print(f"  {stratum}: {n} of {sample.available[stratum]}")
    console.print(f"{len(sample.rows)} records to review in {output}")
    console.print(
        "Fill in verdict (accept/reject/edit), reviewer, note; edits in edited_answer/edited_prompt."
    )


@app.command("import")
def import_(
    directory: Annotated[Path, typer.Argument(help="The build's output folder.")],
    files: Annotated[list[Path], typer.Argument(help="Reviewers' files (.csv or .jsonl).")],
    recipe: Annotated[
        Path | None, typer.Option(help="The build's recipe (default: the one its manifest names).")
    ] = None,
) -> None:
    """Check reviewers' verdicts, store the good ones, rebuild."""
    from galen.data.review_import import import_reviews

    console.print(f"[dim]{RESEARCH_NOTICE}[/dim]")
    try:
        result = import_reviews(
            directory, files, recipe, progress=lambda line: console.print(f"[dim]{line}[/dim]")
        )
    except GalenError as exc:
        raise fail(exc.message) from None
    checked = result.checked
    console.print(
        f"{len(checked.verdicts)} of {checked.rows} rows applied; {result.verdicts} verdicts in all"
    )
    for reason, n in checked.by_reason().items():
        console.print(f"  not applied: {n} {reason}")
    for p in checked.problems[:10]:
        console.print(f"  {p.file}:{p.line} {p.id or '(no id)'}: {p.reason}", soft_wrap=True)
    console.print(f"{result.build.counts['records']} records in {result.build.out}")
