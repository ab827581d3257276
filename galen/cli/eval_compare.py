"""`galen eval compare` and `galen eval table`: runs side by side, checked to have asked the same
thing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from galen.cli.output import console, fail
from galen.errors import GalenError

notices = Console(stderr=True)  # what the table command says besides the table, kept off stdout
ALLOW_HELP = "Go on when the runs' task version, preset, mode, n-shot, data or prompts differ (noted)."


def compare(
    run_a: Annotated[Path, typer.Argument(help="The first run folder (A).")],
    run_b: Annotated[Path, typer.Argument(help="The second run folder (B).")],
    allow_mismatch: Annotated[bool, typer.Option("--allow-mismatch", help=ALLOW_HELP)] = False,
) -> None:
    """Per-task differences between two runs, with paired significance."""
    from galen.evals.compare import N_RESAMPLES, compare_runs
    from galen.evals.metrics import format_p

    try:
        result = compare_runs(run_a, run_b, allow_mismatch)
    except GalenError as exc:
        raise fail(exc.message) from None
    t = Table(
        "Task", "n", "A", "B", "B − A", "95% CI", "bootstrap p", "McNemar p", title=f"{run_a} vs {run_b}"
    )
    for c in result.tasks:
        t.add_row(
            c.task,
            str(c.n),
            f"{c.accuracy_a:.4f}",
            f"{c.accuracy_b:.4f}",
            f"{c.diff.mean_diff:+.4f}" + (" †" if c.within_noise else ""),
            f"[{c.diff.ci_low:+.3f}, {c.diff.ci_high:+.3f}]",
            format_p(c.diff.p_value, N_RESAMPLES),
            "n/a (k>1)" if c.mcnemar is None else format_p(c.mcnemar.p_value),
        )
    console.print(t)
    for note in result.notes:
        console.print(f"note: {note}", highlight=False)


def table(
    runs: Annotated[
        list[Path] | None, typer.Argument(help="Run folders, one column each.", show_default=False)
    ] = None,
    baseline: Annotated[
        str | None, typer.Option(help="Column to take deltas against: a run folder or a column name.")
    ] = None,
    published: Annotated[
        list[str] | None,
        typer.Option(
            help="Reference columns: a card galen ships (reasoning-medical-27b, meditron-fo) or a YAML."
        ),
    ] = None,
    tasks: Annotated[
        str | None, typer.Option(help="Rows, comma-separated and in order (default: all).")
    ] = None,
    names: Annotated[str | None, typer.Option(help="Column names for the runs, comma-separated.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="What to print: md, csv or latex.")] = "md",
    output: Annotated[
        list[Path] | None, typer.Option(help="Also write the table here (.md, .csv or .tex; repeatable).")
    ] = None,
    percent: Annotated[
        bool, typer.Option("--percent", help="Print percentages, as the MeditronFO card.")
    ] = False,
    details: Annotated[
        bool, typer.Option("--details/--no-details", help="Filter, n-shot, metric columns.")
    ] = True,
    stderr: Annotated[
        bool, typer.Option("--stderr", help="Show each run's stderr next to its value.")
    ] = False,
    allow_mismatch: Annotated[bool, typer.Option("--allow-mismatch", help=ALLOW_HELP)] = False,
) -> None:
    """Runs side by side as the cards print them: task rows, Average, delta, published numbers."""
    from galen.evals.published import published_columns
    from galen.evals.runs import read_run
    from galen.evals.table import build_table
    from galen.evals.table_render import format_of, render, write_atomic

    try:
        if fmt not in ("md", "csv", "latex"):
            raise fail(f"--format takes md, csv or latex, not {fmt!r}")
        runs = runs or []
        if not runs and not published:
            raise fail("give at least one run folder (or --published CARD to print a card's own table)")
        labels = [n.strip() for n in names.split(",")] if names else []
        if labels and len(labels) != len(runs):
            raise fail(f"--names gives {len(labels)} names for {len(runs)} runs")
        folders = [read_run(path, labels[i] if labels else None) for i, path in enumerate(runs)]
        columns = [col for spec in published or [] for col in published_columns(spec)]
        rows = [t.strip() for t in tasks.split(",") if t.strip()] if tasks else None
        built = build_table(folders, columns, tasks=rows, baseline=baseline, allow_mismatch=allow_mismatch)
        files = [(path, format_of(path)) for path in output or []]
        kw = {"percent": percent, "details": details, "stderr": stderr}
        texts = [(path, render(built, kind, **kw)) for path, kind in files]
    except GalenError as exc:
        raise fail(exc.message) from None
    print(render(built, fmt, **kw), end="")  # plain print: the table is meant to be piped or pasted
    for path, text in texts:
        write_atomic(path, text)
        notices.print(f"[dim]wrote {path}[/dim]")
