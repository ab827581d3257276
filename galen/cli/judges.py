"""`galen eval healthbench` and `galen eval pairwise`: the evals an LLM judge scores."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from galen import RESEARCH_NOTICE
from galen.cli.output import console, fail, progress_bar
from galen.errors import GalenError

JUDGED_TASKS = {"healthbench": "all", "healthbench_hard": "hard", "healthbench_consensus": "consensus"}

Model = Annotated[str, typer.Option(help="GGUF file, HF folder, embedded name or http(s)://host/v1.")]
Limit = Annotated[int | None, typer.Option(min=1, metavar="N", help="First N items.")]
MaxTokens = Annotated[int, typer.Option(min=1, metavar="N", help="Answer length limit.")]
JudgeTokens = Annotated[int, typer.Option(min=1, metavar="N", help="Judge reply length limit.")]
Retries = Annotated[
    int, typer.Option(min=1, metavar="N", help="Judge calls per verdict before giving up on parsing.")
]
Concurrency = Annotated[int, typer.Option(min=1, metavar="N", help="Items in flight.")]
Think = Annotated[bool | None, typer.Option("--think/--no-think", help="Thinking on/off for the answers.")]
Engine = Annotated[str, typer.Option(help="Engine for local models.")]
Output = Annotated[Path | None, typer.Option(help="Run folder; the same folder again resumes.")]
Name = Annotated[
    str | None,
    typer.Option(metavar="NAME", help="Served model to use at that endpoint (default: its first)."),
]
Key = Annotated[
    str | None,
    typer.Option(
        metavar="KEY", help="Key for the endpoints (default: $OPENAI_API_KEY); never written to disk."
    ),
]
# (model or URL, served model name, API key): one model a judged eval talks to.
Spec = tuple[str, str | None, str | None]


def _clients(specs: dict[str, Spec], engine: str) -> dict[str, Any]:
    """A client per role; a model named twice (a model that also judges) is opened once."""
    from galen.evals.clients import open_client

    opened: dict[Spec, Any] = {}
    for spec in specs.values():
        if spec not in opened:
            opened[spec] = open_client(spec[0], engine, spec[2], model_name=spec[1])
    return {role: opened[spec] for role, spec in specs.items()}


def _close(clients: dict[str, Any]) -> None:
    for client in {id(c): c for c in clients.values()}.values():
        client.close()


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
    model_name: Name = None,
    grader_model_name: Annotated[
        str | None,
        typer.Option(
            metavar="NAME", help="Grader's served model (default: its first; gpt-4.1-2025-04-14 at OpenAI)."
        ),
    ] = None,
    api_key: Key = None,
    grader_api_key: Annotated[
        str | None, typer.Option(metavar="KEY", help="Key for the grader (default: --api-key).")
    ] = None,
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
    """HealthBench: answer each conversation; the grader checks every rubric item (simple-evals).

    Pointed at OpenAI's API, the grader runs with simple-evals' reference settings (gpt-4.1,
    its system message, temperature 0.5, 2048 tokens); any other grader answers greedily."""
    from galen.engine.endpoint import is_openai
    from galen.evals.cache import CallCache
    from galen.evals.clients import GenParams
    from galen.evals.judges.healthbench import (
        GRADER_PARAMS,
        REFERENCE_GRADER_MODEL,
        aggregate,
        grade_all,
        healthbench_file,
        load_healthbench,
        reference_grader,
    )
    from galen.evals.judges.report import header, write_healthbench

    output = output or Path("runs") / f"healthbench_{subset}-{time.strftime('%Y%m%d-%H%M%S')}"
    params = GenParams(max_tokens=max_tokens, thinking=think)
    grader_params = GenParams(max_tokens=grader_max_tokens, temperature=GRADER_PARAMS.temperature)
    reference = is_openai(grader)
    if reference:
        grader_model_name = grader_model_name or REFERENCE_GRADER_MODEL
    try:
        file = healthbench_file(data, subset)
        examples = load_healthbench(file, limit)
        clients = _clients(
            {
                "model": (model, model_name, api_key),
                "grader": (grader, grader_model_name, grader_api_key or api_key),
            },
            engine,
        )
        if reference:
            clients["grader"], grader_params = reference_grader(clients["grader"], grader_max_tokens)
        console.print(f"[dim]{RESEARCH_NOTICE}[/dim]")
        with progress_bar() as progress:
            bar = progress.add_task(f"healthbench {subset}", total=len(examples))
            grades = asyncio.run(
                grade_all(
                    examples,
                    clients["model"],
                    clients["grader"],
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
        "reference_grader": reference,
        "fingerprints": {role: client.fingerprint for role, client in clients.items()},
    }
    path = write_healthbench(output, subset, header(config, file), score, grades)
    _close(clients)
    show_healthbench(score, f"HealthBench ({subset}): model={model} grader={grader}")
    console.print(f"results: {path}")


def pairwise(
    model_a: Model,
    model_b: Model,
    judge: Annotated[str, typer.Option(help="The judge: an endpoint URL or a local model, as --model-a.")],
    model_a_name: Name = None,
    model_b_name: Name = None,
    judge_model_name: Name = None,
    api_key: Key = None,
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
        clients = _clients(
            {
                "model_a": (model_a, model_a_name, api_key),
                "model_b": (model_b, model_b_name, api_key),
                "judge": (judge, judge_model_name, api_key),
            },
            engine,
        )
        console.print(f"[dim]{RESEARCH_NOTICE}[/dim]")
        with progress_bar() as progress:
            bar = progress.add_task("pairwise", total=len(vignettes))
            result = asyncio.run(
                run_pairwise(
                    vignettes,
                    clients["model_a"],
                    clients["model_b"],
                    clients["judge"],
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
        "fingerprints": {role: client.fingerprint for role, client in clients.items()},
    }
    path = write_pairwise(output, header(config, file), result)
    _close(clients)
    show_pairwise(result, f"A={model_a} vs B={model_b}, judge={judge}")
    console.print(f"results: {path}")
