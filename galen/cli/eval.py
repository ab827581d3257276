"""`galen eval`: run benchmarks against a model, list tasks, compare runs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from galen import RESEARCH_NOTICE
from galen.cli import judges
from galen.cli.output import console, fail, progress_bar
from galen.errors import GalenError

app = typer.Typer(help="Evaluate models on medical benchmarks.", no_args_is_help=True)


def _data_sources(data: list[str] | None) -> dict[str, str]:
    out = {}
    for item in data or []:
        task, sep, path = item.partition("=")
        if not sep:
            raise fail(f"--data takes TASK=PATH (or TASK=hub), not {item!r}")
        out[task] = path
    return out


def _languages(language: str | None, tasks: list[str]) -> list[str]:
    if language is None:
        return ["en"]
    if not any(name.startswith("mmlu_prox") for name in tasks):
        raise fail("--language applies to mmlu_prox_biology, which is not among --tasks")
    return [code.strip() for code in language.split(",") if code.strip()]


@app.command("run")
def run(
    model: Annotated[str, typer.Option(help="GGUF file, HF folder, embedded name or http(s)://host/v1.")],
    tasks: Annotated[str, typer.Option(help="Comma-separated task names (see `galen eval tasks`).")],
    limit: Annotated[int | None, typer.Option(min=1, help="First N items of each task.")] = None,
    preset: Annotated[
        str | None, typer.Option(help="Prompt preset: galen or lm-eval (default: galen; lm-eval for loglik).")
    ] = None,
    mode: Annotated[
        str, typer.Option(help="generate (answers are extracted) or loglik (lm-eval's acc / acc_norm).")
    ] = "generate",
    language: Annotated[
        str | None, typer.Option(help="MMLU-ProX languages, comma-separated (e.g. en,de,ja); default en.")
    ] = None,
    samples: Annotated[int, typer.Option(min=1, help="Answers per item (mean accuracy and maj@k).")] = 1,
    concurrency: Annotated[int, typer.Option(min=1, help="Calls in flight.")] = 8,
    max_tokens: Annotated[int, typer.Option(min=1)] = 2048,
    temperature: Annotated[float | None, typer.Option(min=0, max=2)] = None,
    think: Annotated[bool | None, typer.Option("--think/--no-think", help="Thinking on/off.")] = None,
    seed: Annotated[int, typer.Option()] = 0,
    engine: Annotated[str, typer.Option(help="Engine for a local model.")] = "auto",
    data: Annotated[list[str] | None, typer.Option(help="TASK=PATH: read a task from a local file.")] = None,
    output: Annotated[Path | None, typer.Option(help="Run folder (default runs/<model>-<time>).")] = None,
) -> None:
    """Run tasks and write a run folder; run it again with the same --output to resume."""
    from galen.evals.clients import open_client
    from galen.evals.report import table
    from galen.evals.runner import EvalConfig, evaluate
    from galen.evals.task import load_tasks

    if mode not in ("generate", "loglik"):
        raise fail(f"--mode must be generate or loglik, not {mode!r}")
    preset = preset or ("lm-eval" if mode == "loglik" else "galen")
    if preset not in ("galen", "lm-eval"):
        raise fail(f"--preset must be galen or lm-eval, not {preset!r}")
    if mode == "loglik" and preset != "lm-eval":
        raise fail("--mode loglik is lm-eval's formulation: use --preset lm-eval (the default for loglik)")
    if mode == "loglik" and samples != 1:
        raise fail("--samples applies to --mode generate; log-likelihoods are not sampled")
    if mode == "loglik" and model.startswith(("http://", "https://")):
        raise fail(
            "--mode loglik needs the model in this process: pass its folder or GGUF, not an endpoint URL"
        )
    if mode == "loglik" and engine == "auto":
        engine = "transformers"  # the engine that returns exact prompt log-probabilities
    config = EvalConfig(
        model=model,
        tasks=[t.strip() for t in tasks.split(",") if t.strip()],
        preset=preset,
        mode=mode,
        limit=limit,
        samples=samples,
        concurrency=concurrency,
        max_tokens=max_tokens,
        temperature=temperature,
        thinking=think,
        seed=seed,
        engine=engine,
        data=_data_sources(data),
    )
    output = output or Path("runs") / f"{Path(model).name or 'model'}-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        if judged := [name for name in config.tasks if name in judges.JUDGED_TASKS]:
            raise fail(f"{', '.join(judged)} is graded by a judge: run `galen eval healthbench --grader URL`")
        loaded = load_tasks(config.tasks, config.data, limit, _languages(language, config.tasks))
        if mode == "loglik" and (no_format := [t.name for t in loaded if t.loglik is None]):
            raise fail(f"{', '.join(no_format)} has no log-likelihood format; run it with --mode generate")
        client = open_client(model, engine, parallel=concurrency)
    except GalenError as exc:
        raise fail(exc.message) from None
    console.print(f"[dim]{RESEARCH_NOTICE}[/dim]")
    try:
        with progress_bar() as progress:

            def on_task(task):  # one progress bar per task
                bar = progress.add_task(task.name, total=len(task.samples) * samples)
                return lambda: progress.advance(bar)

            run = evaluate(config, loaded, client, output, on_task)
    except GalenError as exc:
        raise fail(exc.message) from None
    finally:
        client.close()
    if run.resumed_calls:
        console.print(f"resumed: {run.resumed_calls} calls came from the cache in {output}")
    console.print(table(config, run.tasks))
    console.print(f"run folder: {output}")


@app.command("tasks")
def list_tasks() -> None:
    """List the benchmark tasks galen knows."""
    from galen.evals import tasks as _  # noqa: F401 - registers the tasks
    from galen.evals.task import TASKS

    t = Table("Task", "Description", "Command")
    for name, factory in sorted(TASKS.items()):
        t.add_row(
            name, (factory.__doc__ or "").strip().splitlines()[0] if factory.__doc__ else "", "eval run"
        )
    for name, subset in judges.JUDGED_TASKS.items():
        t.add_row(
            name,
            f"HealthBench ({subset}): rubric grading by an LLM grader",
            f"eval healthbench --subset {subset}",
        )
    t.add_row(
        "pairwise", "Preference between two models' answers to vignettes, by an LLM judge", "eval pairwise"
    )
    console.print(t)


@app.command("compare")
def compare(run_a: Path, run_b: Path) -> None:
    """Per-task differences between two runs, with paired significance."""
    from galen.evals.compare import compare_runs

    try:
        comparisons = compare_runs(run_a, run_b)
    except GalenError as exc:
        raise fail(exc.message) from None
    t = Table(
        "Task", "n", "A", "B", "B − A", "95% CI", "bootstrap p", "McNemar p", title=f"{run_a} vs {run_b}"
    )
    for c in comparisons:
        t.add_row(
            c.task,
            str(c.n),
            f"{c.accuracy_a:.4f}",
            f"{c.accuracy_b:.4f}",
            f"{c.diff.mean_diff:+.4f}",
            f"[{c.diff.ci_low:+.3f}, {c.diff.ci_high:+.3f}]",
            f"{c.diff.p_value:.3f}",
            f"{c.mcnemar.p_value:.3f}",
        )
    console.print(t)


app.command("healthbench")(judges.healthbench)
app.command("pairwise")(judges.pairwise)
