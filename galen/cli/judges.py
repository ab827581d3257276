"""`galen eval healthbench` and `galen eval pairwise`: the evals an LLM judge scores."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from galen import RESEARCH_NOTICE
from galen.cli.output import console, fail, progress_bar
from galen.errors import GalenError

JUDGED_TASKS = {"healthbench": "all", "healthbench_hard": "hard", "healthbench_consensus": "consensus"}

Model = Annotated[str, typer.Option(help="GGUF file, HF folder, embedded name or http(s)://host/v1.")]
Limit = Annotated[int | None, typer.Option(min=1, help="First N items.")]
MaxTokens = Annotated[int, typer.Option(min=1, help="Answer length limit.")]
JudgeTokens = Annotated[int, typer.Option(min=1, help="Judge reply length limit.")]
Retries = Annotated[int, typer.Option(min=1, help="Judge calls per verdict before giving up on parsing.")]
Concurrency = Annotated[int, typer.Option(min=1, help="Items in flight.")]
Think = Annotated[bool | None, typer.Option("--think/--no-think", help="Thinking on/off for the answers.")]
Engine = Annotated[str, typer.Option(help="Engine for local models.")]
Output = Annotated[Path | None, typer.Option(help="Run folder; the same folder again resumes.")]


def _clients(names: list[str], engine: str) -> dict:
    """One client per distinct model, so a model that also judges is loaded once."""
    from galen.evals.clients import open_client

    clients: dict = {}
    for name in names:
        if name not in clients:
            clients[name] = open_client(name, engine)
    return clients


def show_healthbench(score, title: str) -> None:
    table = Table(title=title)
    for column in ("Score", "± Bootstrap std", "n", "Grader failures"):
        table.add_column(column, justify="right")
    table.add_row(f"{score.overall:.4f}", f"{score.std:.4f}", str(score.n), str(score.n_grader_failures))
    console.print(table)
    tags = Table("Tag", "Score", title="By theme and axis")
    for tag, value in score.tag_scores.items():
        if tag.startswith(("theme:", "axis:")):
            tags.add_row(tag, f"{value:.4f}")
    console.print(tags)


def show_pairwise(result, title: str) -> None:
    r = result.win_rate
    table = Table("Outcome for A", "Rate", "95% CI", title=f"{title}, n={r.n}")
    for name, value, ci in (
        ("win", r.win, r.win_ci),
        ("tie", r.tie, r.tie_ci),
        ("loss", r.loss, r.loss_ci),
        ("net win (win - loss)", r.net, r.net_ci),
    ):
        table.add_row(name, f"{value:.3f}", f"[{ci.low:.3f}, {ci.high:.3f}]")
    console.print(table)
    console.print(f"unparsed judge replies (counted as ties): {result.n_unparsed}")


def healthbench(
    model: Model,
    grader: Annotated[str, typer.Option(help="The grader: an endpoint URL or a local model, as --model.")],
    subset: Annotated[str, typer.Option(help="all, hard or consensus.")] = "all",
    data: Annotated[
        str | None,
        typer.Option(help="A HealthBench jsonl, 'official' (download), or a URL; default: our sample."),
    ] = None,
    limit: Limit = None,
    max_tokens: MaxTokens = 2048,
    grader_max_tokens: JudgeTokens = 2048,
    max_retries: Retries = 3,
    concurrency: Concurrency = 4,
    think: Think = None,
    engine: Engine = "auto",
    output: Output = None,
) -> None:
    """HealthBench: answer each conversation; the grader checks every rubric item (simple-evals)."""
    from galen.evals.cache import CallCache
    from galen.evals.clients import GenParams
    from galen.evals.judges.healthbench import (
        GRADER_PARAMS,
        aggregate,
        grade_all,
        healthbench_file,
        load_healthbench,
    )
    from galen.evals.judges.report import header, write_healthbench

    output = output or Path("runs") / f"healthbench_{subset}-{time.strftime('%Y%m%d-%H%M%S')}"
    params = GenParams(max_tokens=max_tokens, thinking=think)
    grader_params = GenParams(max_tokens=grader_max_tokens, temperature=GRADER_PARAMS.temperature)
    try:
        file = healthbench_file(data, subset)
        examples = load_healthbench(file, limit)
        clients = _clients([model, grader], engine)
        console.print(f"[dim]{RESEARCH_NOTICE}[/dim]")
        with progress_bar() as progress:
            bar = progress.add_task(f"healthbench {subset}", total=len(examples))
            grades = asyncio.run(
                grade_all(
                    examples,
                    clients[model],
                    clients[grader],
                    params,
                    CallCache(output / "cache" / "calls.jsonl"),
                    grader_params,
                    max_retries,
                    concurrency,
                    lambda: progress.advance(bar),
                )
            )
        score = aggregate(grades)
    except (GalenError, ValueError) as exc:
        raise fail(getattr(exc, "message", str(exc))) from None
    config = {
        "model": model,
        "grader": grader,
        "subset": subset,
        "limit": limit,
        "params": params.__dict__,
        "grader_params": grader_params.__dict__,
        "max_retries": max_retries,
        "fingerprints": {"model": clients[model].fingerprint, "grader": clients[grader].fingerprint},
    }
    path = write_healthbench(output, subset, header(config, file), score, grades)
    for client in clients.values():
        client.close()
    show_healthbench(score, f"HealthBench ({subset}): model={model} grader={grader}")
    console.print(f"results: {path}")


def pairwise(
    model_a: Model,
    model_b: Model,
    judge: Annotated[str, typer.Option(help="The judge: an endpoint URL or a local model, as --model-a.")],
    data: Annotated[str | None, typer.Option(help="A jsonl of {id, prompt}; default: our vignettes.")] = None,
    limit: Limit = None,
    max_tokens: MaxTokens = 1024,
    judge_max_tokens: JudgeTokens = 1024,
    max_retries: Retries = 3,
    concurrency: Concurrency = 4,
    seed: Annotated[int, typer.Option(help="Decides each vignette's presentation order.")] = 0,
    think: Think = None,
    engine: Engine = "auto",
    output: Output = None,
) -> None:
    """Pairwise preference: both models answer; the judge picks the better answer, shown in random order."""
    from galen.evals.cache import CallCache
    from galen.evals.clients import GenParams
    from galen.evals.judges.pairwise import VIGNETTES_PATH, load_vignettes, run_pairwise
    from galen.evals.judges.report import header, write_pairwise

    output = output or Path("runs") / f"pairwise-{time.strftime('%Y%m%d-%H%M%S')}"
    file = Path(data) if data else VIGNETTES_PATH
    if not file.is_file():
        raise fail(f"--data: no file at {file}")
    params = GenParams(max_tokens=max_tokens, thinking=think)
    judge_params = GenParams(max_tokens=judge_max_tokens)
    try:
        vignettes = load_vignettes(file, limit)
    except (ValueError, TypeError, KeyError) as exc:
        raise fail(f"--data: {file} is not a jsonl of {{id, prompt}} rows ({exc})") from None
    try:
        clients = _clients([model_a, model_b, judge], engine)
        console.print(f"[dim]{RESEARCH_NOTICE}[/dim]")
        with progress_bar() as progress:
            bar = progress.add_task("pairwise", total=len(vignettes))
            result = asyncio.run(
                run_pairwise(
                    vignettes,
                    clients[model_a],
                    clients[model_b],
                    clients[judge],
                    params,
                    seed,
                    CallCache(output / "cache" / "calls.jsonl"),
                    judge_params,
                    max_retries,
                    concurrency,
                    lambda: progress.advance(bar),
                )
            )
    except GalenError as exc:
        raise fail(exc.message) from None
    config = {
        "model_a": model_a,
        "model_b": model_b,
        "judge": judge,
        "limit": limit,
        "seed": seed,
        "params": params.__dict__,
        "judge_params": judge_params.__dict__,
        "max_retries": max_retries,
        "fingerprints": {
            k: clients[v].fingerprint
            for k, v in (("model_a", model_a), ("model_b", model_b), ("judge", judge))
        },
    }
    path = write_pairwise(output, header(config, file), result)
    for client in clients.values():
        client.close()
    show_pairwise(result, f"A={model_a} vs B={model_b}, judge={judge}")
    console.print(f"results: {path}")
