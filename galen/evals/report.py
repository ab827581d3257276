"""The run folder: results.json, samples_<task>.jsonl, report.md, a plot, provenance.json; and
the table.

results.json records what is needed to reproduce or distrust a number: the config, the model
fingerprint (with its weights and template hashes), each task's data source with its hash, a
hash of every prompt sent, the galen version and the git commit. provenance.json records the
same inputs in the run-folder contract every galen job shares (`galen.provenance`), so
`galen lineage` can follow a score back to the model's training data.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.table import Table

from galen import RESEARCH_NOTICE
from galen.evals.config import EvalConfig
from galen.evals.lmeval_results import lmeval_results
from galen.evals.results import SampleResult, TaskRun
from galen.evals.task import Task
from galen.evals.tasks.groups import group_scores
from galen.models.fingerprint import model_input
from galen.provenance import config_file, file_input, stamp, write_provenance

# The card-style table's columns, shared by the terminal table and report.md.
MD_COLUMNS = (
    "Task",
    "Version",
    "Filter",
    "n-shot",
    "Metric",
    "Value",
    "± Stderr",
    "95% CI",
    "n",
    "Unparsed",
    "Truncated",
)


def prompts_hash(results: list[SampleResult]) -> str:
    """sha256 of every item's prompt, once per item (the k answers to an item share it, so runs
    with different --samples that asked the same thing hash the same)."""
    digest = hashlib.sha256()
    for r in sorted((r for r in results if r.k == 0), key=lambda r: r.id):
        digest.update(json.dumps(r.messages, sort_keys=True, ensure_ascii=False).encode())
    return digest.hexdigest()


def write_samples(output: Path, task: Task, results: list[SampleResult]) -> None:
    with (output / f"samples_{task.name}.jsonl").open("w", encoding="utf-8") as f:
        for r in results:
            f.write(json.dumps(asdict(r), ensure_ascii=False) + "\n")


def results_json(
    config: EvalConfig,
    fingerprint: dict[str, Any],
    runs: list[TaskRun],
    header: dict[str, Any],
    reproducibility: dict[str, Any] | None = None,
) -> dict:
    return {
        **header,
        "notice": RESEARCH_NOTICE,
        "config": config.model_dump(mode="json"),
        "model": fingerprint,
        "reproducibility": reproducibility
        or {"deterministic": config.deterministic, "bitwise_reproducible": config.bitwise_reproducible},
        "tasks": {
            task.name: {
                **asdict(score),
                "source": task.source,
                "filter": task.filter_name(config.preset, config.mode),
                "n_shot": task.n_shot(config.preset),
                "prompts_sha256": prompts_hash(results),
            }
            for task, score, results in runs
        },
        "groups": group_scores(config.tasks, {task.name: (score.value, score.n) for task, score, _ in runs}),
    }


def table(config: EvalConfig, runs: list[TaskRun]) -> Table:
    t = Table(title=f"galen eval: preset={config.preset} mode={config.mode} model={config.model}")
    for column in (*MD_COLUMNS, "Think tok."):
        t.add_column(column, justify="left" if column in ("Task", "Filter", "Metric") else "right")
    for task, s, _ in runs:
        rows = [(s.metric, s.value, s.stderr, f"[{s.ci_low:.3f}, {s.ci_high:.3f}]")]
        rows += [(name, value, None, "") for name, value in s.extra.items()]
        for i, (metric, value, stderr, ci) in enumerate(rows):
            first = i == 0
            t.add_row(
                task.name if first else "",
                task.version if first else "",
                task.filter_name(config.preset, config.mode) if first else "",
                str(task.n_shot(config.preset)) if first else "",
                metric,
                f"{value:.4f}",
                "" if stderr is None else f"{stderr:.4f}",
                ci,
                str(s.n) if first else "",
                f"{s.unparsed_rate:.1%}" if first else "",
                f"{s.truncation_rate:.1%}" if first else "",
                f"{s.mean_reasoning_tokens:.0f}" if first else "",
            )
    return t


def reproducibility_line(r: dict[str, Any]) -> str:
    """One sentence: whether a rerun gives the same bits, and the measured run-to-run spread."""
    if r["bitwise_reproducible"]:
        line = "Bitwise reproducible: a rerun or a resumed run gives the same samples (--deterministic)."
    else:
        line = (
            "Not bitwise reproducible: which requests share a batch changes the arithmetic, so a "
            "rerun may differ (--deterministic avoids this on a model in this process)."
        )
    if "repeat" in r:
        spread = ", ".join(f"{task} {sd:.4f}" for task, sd in r["repeat"]["sd"].items())
        line += f" Run-to-run standard deviation over {r['repeat']['n']} runs: {spread}."
    return line


def report_md(results: dict[str, Any]) -> str:
    config = results["config"]
    lines = [
        f"# galen eval: {config['model']}",
        "",
        f"> {RESEARCH_NOTICE}",
        "",
        f"Preset `{config['preset']}`, mode `{config['mode']}`, {config['samples']} sample(s) per item, "
        f"galen {results['galen_version']} (commit {results['git_commit'] or 'unknown'}), "
        f"{results['created']}.",
        "",
        reproducibility_line(results["reproducibility"]),
        "",
        "| " + " | ".join(MD_COLUMNS) + " |",
        "|---" * len(MD_COLUMNS) + "|",
    ]
    for name, s in results["tasks"].items():
        lines.append(
            f"| {name} | {s['version']} | {s['filter']} | {s['n_shot']} | {s['metric']} | {s['value']:.4f} | "
            f"{s['stderr']:.4f} | [{s['ci_low']:.3f}, {s['ci_high']:.3f}] | {s['n']} | "
            f"{s['unparsed_rate']:.1%} | {s['truncation_rate']:.1%} |"
        )
        for metric, value in s["extra"].items():
            lines.append(f"| | | | | {metric} | {value:.4f} | | | | | |")
    for name, g in results.get("groups", {}).items():
        lines.append(f"| {name} (group) | | | | {g['aggregation']} | {g['value']:.4f} | | | {g['n']} | | |")
    lines += ["", "## Subgroups", ""]
    for name, s in results["tasks"].items():
        for group, v in s["subgroups"].items():
            lines.append(f"- {name} {group}: {v['accuracy']:.3f} (n={int(v['n'])})")
    lines += ["", "![accuracy](accuracy.png)", ""]
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results["tasks"])
    values = [results["tasks"][n]["value"] for n in names]
    errors = [
        [v - results["tasks"][n]["ci_low"] for n, v in zip(names, values, strict=True)],
        [results["tasks"][n]["ci_high"] - v for n, v in zip(names, values, strict=True)],
    ]
    fig, ax = plt.subplots(figsize=(max(4, 1.2 * len(names)), 3.5))
    ax.bar(names, values, yerr=errors, capsize=4, color="#4c72b0")
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy (95% CI)")
    ax.set_title(results["config"]["model"], fontsize=9)
    plt.xticks(rotation=20, ha="right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_run(
    output: Path,
    config: EvalConfig,
    fingerprint: dict[str, Any],
    runs: list[TaskRun],
    given: dict[str, Any] | None = None,
    reproducibility: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the run folder; `given`: the config as the user gave it (see `provenance.config_file`);
    `reproducibility`: see `runner.reproducibility`."""
    output.mkdir(parents=True, exist_ok=True)
    for task, _, results in runs:
        write_samples(output, task, results)
    header = stamp()
    results = results_json(config, fingerprint, runs, header, reproducibility)
    (output / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    lmeval = json.dumps(lmeval_results(results), indent=2, ensure_ascii=False)
    (output / "results_lmeval.json").write_text(lmeval)
    (output / "report.md").write_text(report_md(results))
    plot(results, output / "accuracy.png")
    data = [file_input("benchmark", f, ref=task.name) for task, _, _ in runs for f in task.files]
    written = [output / name for name in ("results.json", "results_lmeval.json", "report.md", "accuracy.png")]
    written += [output / f"samples_{task.name}.jsonl" for task, _, _ in runs]
    write_provenance(
        output,
        "eval",
        config=given if given is not None else config_file(None),
        resolved=results["config"],
        inputs=[model_input(fingerprint), *data],
        output_files=written,
        header=header,
    )
    return results
