"""`galen eval`: run benchmarks against a model, list tasks, compare runs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from galen import RESEARCH_NOTICE
from galen.cli import eval_compare, judges
from galen.cli.output import console, fail, progress_bar
from galen.errors import GalenError

app = typer.Typer(help="Evaluate models on medical benchmarks.", no_args_is_help=True)


def _data_sources(data: list[str] | None) -> dict[str, str]:
    """--data TASK=PATH pairs; a relative PATH is taken from where galen runs."""
    out = {}
    for item in data or []:
        task, sep, path = item.partition("=")
        if not sep:
            raise fail(f"--data takes TASK=PATH (or TASK=hub), not {item!r}")
        out[task] = path if path == "hub" or "://" in path else str(Path(path).expanduser().resolve())
    return out


def _flag_model(model: str | None) -> str | None:
    """A --model that names a local path is absolute, so a config file's folder never moves it."""
    return str(Path(model).resolve()) if model and Path(model).exists() else model


def _flag_tasks(tasks: str | None) -> str | None:
    """--tasks with each task spec file (.yaml) made absolute, as other paths in flags are."""
    if not tasks:
        return tasks
    names = [t.strip() for t in tasks.split(",") if t.strip()]
    return ",".join(
        str(Path(t).expanduser().resolve()) if t.lower().endswith((".yaml", ".yml")) else t for t in names
    )


def eval_config(config_file: Path | None, flags: dict[str, Any]):
    """The config file (if any) with the flags that were given on top; every problem at once."""
    from galen.config import read_yaml, validate
    from galen.evals.config import EvalConfig

    data = read_yaml(config_file) if config_file else {}
    data.update({key: value for key, value in flags.items() if value not in (None, {}, [])})
    base = config_file.resolve().parent if config_file else None
    source = str(config_file) if config_file else "galen eval run"
    return validate(EvalConfig, data, base=base, source=source)


@app.command("run")
def run(
    model: Annotated[
        str | None, typer.Option(help="GGUF file, HF folder, embedded name or http(s)://host/v1.")
    ] = None,
    tasks: Annotated[
        str | None,
        typer.Option(help="Comma-separated tasks, groups (multimedqa) or task spec .yaml files."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="YAML of these settings (paths relative to it); flags override it."),
    ] = None,
    model_name: Annotated[
        str | None, typer.Option(help="Served model to use at an endpoint (default: its first).")
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(help="Key for an endpoint (default: $OPENAI_API_KEY); never written to disk."),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="First N items of each task.")] = None,
    preset: Annotated[
        str | None, typer.Option(help="Prompt preset: galen or lm-eval (default: galen; lm-eval for loglik).")
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option(help="generate (answers are extracted) or loglik (lm-eval's acc / acc_norm)."),
    ] = None,
    language: Annotated[
        str | None, typer.Option(help="MMLU-ProX languages, comma-separated (e.g. en,de,ja); default en.")
    ] = None,
    samples: Annotated[
        int | None, typer.Option(min=1, help="Answers per item (mean accuracy and maj@k).")
    ] = None,
    num_fewshot: Annotated[
        int | None,
        typer.Option(min=0, help="Few-shot exemplars (MMLU, MMLU-Pro, task specs); default: the task's."),
    ] = None,
    system_prompt: Annotated[
        str | None, typer.Option(help="System message for every prompt (loglik: starts the context).")
    ] = None,
    concurrency: Annotated[int | None, typer.Option(min=1, help="Calls in flight.")] = None,
    max_tokens: Annotated[int | None, typer.Option(min=1, help="Answer length limit.")] = None,
    temperature: Annotated[float | None, typer.Option(min=0, max=2)] = None,
    think: Annotated[bool | None, typer.Option("--think/--no-think", help="Thinking on/off.")] = None,
    seed: Annotated[int | None, typer.Option()] = None,
    engine: Annotated[str | None, typer.Option(help="Engine for a local model.")] = None,
    timeout: Annotated[float | None, typer.Option(min=1, help="Seconds per endpoint call.")] = None,
    data: Annotated[list[str] | None, typer.Option(help="TASK=PATH: read a task from a local file.")] = None,
    output: Annotated[Path | None, typer.Option(help="Run folder (default runs/<model>-<time>).")] = None,
    model_revision: Annotated[
        str | None, typer.Option(help="A revision you pin; part of the fingerprint the cache keys on.")
    ] = None,
    device: Annotated[
        str | None, typer.Option(help="transformers engine: auto, cpu, cuda or cuda:N.")
    ] = None,
    dtype: Annotated[
        str | None, typer.Option(help="transformers engine: auto, float32, bfloat16, float16.")
    ] = None,
    deterministic: Annotated[
        bool | None,
        typer.Option(
            "--deterministic", help="One call at a time, no reuse across calls: reruns match bit for bit."
        ),
    ] = None,
    repeat: Annotated[
        int | None, typer.Option(min=1, help="Run each task N times; results.json gets the spread.")
    ] = None,
) -> None:
    """Run tasks and write a run folder; run it again with the same --output to resume."""
    from galen.evals.clients import open_client
    from galen.evals.report import reproducibility_line, table
    from galen.evals.runner import evaluate
    from galen.evals.tasks import load_tasks
    from galen.provenance import config_file

    flags = {
        "model": _flag_model(model),
        "model_name": model_name,
        "tasks": _flag_tasks(tasks),
        "preset": preset,
        "mode": mode,
        "language": language,
        "limit": limit,
        "samples": samples,
        "num_fewshot": num_fewshot,
        "system_prompt": system_prompt,
        "concurrency": concurrency,
        "max_tokens": max_tokens,
        "temperature": temperature,
        "thinking": think,
        "seed": seed,
        "engine": engine,
        "timeout": timeout,
        "data": _data_sources(data),
        "output": str(output.resolve()) if output else None,
        "model_revision": model_revision,
        "device": device,
        "dtype": dtype,
        "deterministic": deterministic,
        "repeat": repeat,
    }
    try:
        settings = eval_config(config, flags)
        if settings.language != ["en"] and not any(n.startswith("mmlu_prox") for n in settings.tasks):
            raise fail("--language applies to mmlu_prox_biology, which is not among --tasks")
        if judged := [name for name in settings.tasks if name in judges.JUDGED_TASKS]:
            raise fail(f"{', '.join(judged)} is graded by a judge: run `galen eval healthbench --grader URL`")
        loaded = load_tasks(
            settings.tasks,
            settings.data,
            settings.limit,
            settings.language,
            num_fewshot=settings.num_fewshot,
            system_prompt=settings.system_prompt,
        )
        if settings.mode == "loglik" and (no_format := [t.name for t in loaded if t.loglik is None]):
            raise fail(f"{', '.join(no_format)} has no log-likelihood format; run it with --mode generate")
        client = open_client(
            settings.model,
            settings.engine,
            api_key,
            settings.concurrency,
            model_name=settings.model_name,
            api_key_env=settings.api_key_env,
            timeout=settings.timeout,
            max_retries=settings.max_retries,
            model_revision=settings.model_revision,
            device=settings.device,
            dtype=settings.dtype,
            deterministic=settings.deterministic,
        )
    except GalenError as exc:
        raise fail(exc.message) from None
    name = Path(settings.model.rstrip("/")).name or "model"
    out = Path(settings.output or Path("runs") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}")
    given = config_file(config, flags={k: v for k, v in flags.items() if v not in (None, {}, [])})
    console.print(f"[dim]{RESEARCH_NOTICE}[/dim]")
    try:
        with progress_bar() as progress:

            def on_task(task):  # one progress bar per task
                calls = len(task.samples) * settings.samples * settings.repeat
                bar = progress.add_task(task.name, total=calls)
                return lambda: progress.advance(bar)

            done = evaluate(settings, loaded, client, out, on_task, given)
    except GalenError as exc:
        raise fail(exc.message) from None
    finally:
        client.close()
    if done.resumed_calls:
        console.print(f"resumed: {done.resumed_calls} calls came from the cache in {out}")
    console.print(table(settings, done.tasks))
    for name, group in done.groups.items():
        console.print(f"{name} (group): {group['value']:.4f} over {group['n']} items, {group['aggregation']}")
    console.print(reproducibility_line(done.reproducibility))
    console.print(f"run folder: {out}")


@app.command("tasks")
def list_tasks() -> None:
    """List the benchmark tasks galen knows."""
    from galen.evals.task import TASKS
    from galen.evals.tasks import GROUPS  # importing the package registers the tasks

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
    for name, members in GROUPS.items():
        t.add_row(name, f"Group (as lm-eval's): {', '.join(members)}", "eval run")
    t.add_row(
        "PATH.yaml", "Your own multiple-choice task: a JSONL file + a YAML spec (docs/eval.md)", "eval run"
    )
    console.print(t)


app.command("compare")(eval_compare.compare)
app.command("table")(eval_compare.table)
app.command("healthbench")(judges.healthbench)
app.command("pairwise")(judges.pairwise)
