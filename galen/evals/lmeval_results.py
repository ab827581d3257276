"""results_lmeval.json: galen's results in lm-evaluation-harness's results shape, so that tools
written for lm-eval (its `make_table`, leaderboards, dashboards) read a galen run unchanged.

The shape is lm-eval 0.4's `results_*.json` (written by `lm_eval --output_path`):

    {"results": {"medqa": {"alias": "medqa", "exact_match,galen-cascade": 0.61,
                           "exact_match_stderr,galen-cascade": 0.02}},
     "groups": {"multimedqa": {"alias": "multimedqa", "acc,none": 0.55, ...}},
     "group_subtasks": {"medqa": [], "multimedqa": ["pubmedqa", ...]},
     "configs": {"medqa": {"task": "medqa", "output_type": "generate_until", "num_fewshot": 0, ...}},
     "versions": {"medqa": "1"}, "n-shot": {"medqa": 0},
     "higher_is_better": {"medqa": {"exact_match": true}},
     "n-samples": {"medqa": {"original": 1273, "effective": 1273}},
     "config": {"model": "galen", "model_args": "...", "limit": null, ...},
     "git_hash": "59c04f6", "date": 1764670200.0, ...}

Metric names follow lm-eval's conventions: a generated answer's accuracy is `exact_match` under
its filter (galen-cascade, custom-extract, label), a log-likelihood run's are `acc` and
`acc_norm` under the filter `none`; the other metrics (macro_f1, maj@k) keep galen's names.
Task names are galen's (medqa, not lm-eval's medqa_4options): the prompts are galen's too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from galen.evals.tasks.groups import GROUPS


def _metrics(task: dict[str, Any], mode: str) -> tuple[dict[str, Any], list[str]]:
    """One task's `results` entry (without alias) and its metric names."""
    if mode == "loglik":
        flt, main = "none", "acc"
    else:
        flt, main = task.get("filter") or "none", "exact_match"
    out = {f"{main},{flt}": task["value"], f"{main}_stderr,{flt}": task["stderr"]}
    names = [main]
    for name, value in task.get("extra", {}).items():
        out[f"{name},{flt}"] = value
        out[f"{name}_stderr,{flt}"] = "N/A"  # lm-eval's mark for a metric without a stderr
        names.append(name)
    return out, names


def _timestamp(created: str | None) -> float | None:
    try:
        return datetime.fromisoformat(created).timestamp() if created else None
    except ValueError:
        return None


def lmeval_results(results: dict[str, Any]) -> dict[str, Any]:
    """results.json (galen's) -> lm-eval's results dictionary."""
    config = results["config"]
    mode = config.get("mode", "generate")
    out: dict[str, Any] = {k: {} for k in ("results", "group_subtasks", "configs", "versions", "n-shot")}
    out |= {"higher_is_better": {}, "n-samples": {}}
    for name, task in results["tasks"].items():
        metrics, names = _metrics(task, mode)
        out["results"][name] = {"alias": name, **metrics}
        out["group_subtasks"][name] = []
        out["versions"][name] = task["version"]
        out["n-shot"][name] = task["n_shot"]
        out["higher_is_better"][name] = {m: True for m in names}
        out["n-samples"][name] = {"original": task["n"], "effective": task["n"]}
        out["configs"][name] = {
            "task": name,
            "dataset_path": task.get("source", ""),
            "output_type": "multiple_choice" if mode == "loglik" else "generate_until",
            "num_fewshot": task["n_shot"],
            "metric_list": [{"metric": m, "aggregation": "mean", "higher_is_better": True} for m in names],
            "metadata": {"version": task["version"], "galen_preset": config.get("preset")},
        }
    groups = results.get("groups") or {}
    if groups:
        out["groups"] = {}
    for name, group in groups.items():
        main = "acc" if mode == "loglik" else "exact_match"  # its tasks' filters differ: "none"
        out["groups"][name] = {"alias": name, f"{main},none": group["value"], f"{main}_stderr,none": "N/A"}
        out["group_subtasks"][name] = list(group.get("tasks", GROUPS.get(name, ())))
        out["versions"][name] = "N/A"
        out["n-shot"][name] = ""
        out["higher_is_better"][name] = {main: True}
    model = results.get("model") or {}
    out["config"] = {
        "model": "galen",
        "model_args": f"model={config.get('model')},engine={model.get('engine', config.get('engine'))}",
        "model_num_parameters": None,
        "model_sha": model.get("weights_sha256"),
        "batch_size": config.get("concurrency"),
        "device": None,
        "limit": config.get("limit"),
        "bootstrap_iters": 0,
        "gen_kwargs": {
            "max_gen_toks": config.get("max_tokens"),
            "temperature": config.get("temperature"),
            "thinking": config.get("thinking"),
            "samples_per_item": config.get("samples"),
        },
        "random_seed": config.get("seed"),
    }
    system = config.get("system_prompt")
    out |= {
        "git_hash": results.get("git_commit"),
        "date": _timestamp(results.get("created")),
        "model_name": config.get("model_name") or config.get("model"),
        "system_instruction": system,
        "chat_template_sha": model.get("template_sha256"),
        "fewshot_as_multiturn": False,
        "galen_version": results.get("galen_version"),
        "notice": results.get("notice"),
    }
    return out
