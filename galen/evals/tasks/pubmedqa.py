"""PubMedQA (PQA-L), the official 500-question test set: answer a research question about an
abstract with yes, no or maybe. Scored by accuracy and macro-F1, as the official script does.

The upstream release (pubmedqa/pubmedqa `data/`) is two files. `ori_pqal.json` maps a PubMed id to
an expert-labelled item (1000 of them):

    {"<pmid>": {"QUESTION": "Does ...?",
                "CONTEXTS": ["<abstract paragraph>", ...],    # joined with newlines as the context
                "LABELS": ["BACKGROUND", "METHODS", ...], "MESHES": [...], "YEAR": "2009",
                "reasoning_required_pred": "yes", "reasoning_free_pred": "yes",
                "final_decision": "yes",                        # gold: yes / no / maybe
                "LONG_ANSWER": "<the abstract's conclusion>"}}

and `test_ground_truth.json` maps the 500 test pmids to their gold label (`{"<pmid>": "no"}`).
Also read: one .jsonl whose rows are those items with a `pmid` field (our own flat format), and the
parquet of bigbio/pubmed_qa's `pubmed_qa_labeled_fold0_source` test split (same fields).

Official scorer: https://github.com/pubmedqa/pubmedqa/blob/master/evaluation.py (accuracy, macro-F1).
lm-eval's `pubmedqa` (wording of the "lm-eval" preset):
https://github.com/EleutherAI/lm-evaluation-harness/tree/main/lm_eval/tasks/pubmedqa
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from galen.evals.loading import (
    DataLocation,
    check_count,
    find_one,
    read_json,
    read_records,
    resolve_data,
    take,
)
from galen.evals.task import ChoiceQuery, Sample, Task, task
from galen.evals.tasks.common import Messages, bad_row, choice_query, unknown_preset, user

NAME = "pubmedqa"
VERSION = "1"
LABELS = ("yes", "no", "maybe")
HUB_ID = "bigbio/pubmed_qa"
# A commit of the repo's parquet conversion (refs/convert/parquet); fold 0's test split is the official 500.
REVISION = "1fd5c9aa6cdf264f6c0867061769db9ec1d2bdcd"
HUB_FILES = ("pubmed_qa_labeled_fold0_source/test/*.parquet",)
TEST_ROWS = 500
INSTRUCTION = 'Answer with yes, no or maybe, e.g., "answer": "yes".'


def to_sample(pmid: str, item: dict[str, Any], gold: str | None = None) -> Sample:
    """One PQA-L item as a Sample; `gold` (from the ground-truth file) overrides `final_decision`."""
    try:
        question, contexts = item["QUESTION"], item["CONTEXTS"]
    except KeyError as exc:
        raise bad_row(
            NAME, pmid, f"missing field {exc}; expected QUESTION, CONTEXTS, final_decision"
        ) from None
    answer = str(gold if gold is not None else item.get("final_decision", "")).strip().lower()
    if answer not in LABELS:
        raise bad_row(NAME, pmid, f"label {answer!r} is not one of yes, no, maybe")
    return Sample(
        id=str(pmid),
        question=question,
        answer=answer,
        context="\n".join(contexts),
        metadata={"final_decision": answer},
    )


def read_official(folder: Path) -> tuple[list[Sample], list[Path]]:
    """The test pmids of test_ground_truth.json, in that file's order, looked up in ori_pqal.json."""
    items_file, truth_file = folder / "ori_pqal.json", folder / "test_ground_truth.json"
    for needed in (items_file, truth_file):
        if not needed.exists():
            raise bad_row(NAME, folder, f"expected {needed.name} next to it (the official PQA-L release)")
    items, truth = read_json(items_file), read_json(truth_file)
    missing = [pmid for pmid in truth if pmid not in items]
    if missing:
        raise bad_row(NAME, missing[0], f"is in {truth_file.name} but not in {items_file.name}")
    return [to_sample(pmid, items[pmid], gold) for pmid, gold in truth.items()], [items_file, truth_file]


def read_rows(file: Path) -> list[Sample]:
    """A flat .jsonl (ours) or .parquet (bigbio) of items; the id is `pmid`/`pubid`, else the row number."""
    samples = []
    for i, row in enumerate(read_records(file)):
        pmid = row.get("pmid") or row.get("pubid") or row.get("PMID") or i
        samples.append(to_sample(str(pmid), row))
    return samples


def load(where: DataLocation) -> tuple[list[Sample], list[Path]]:
    path = where.path
    if where.origin == "hub":
        file = find_one(path, HUB_FILES, NAME)
        return read_rows(file), [file]
    if path.is_dir():
        return read_official(path)
    return read_rows(path), [path]


def prompt(sample: Sample, preset: str) -> Messages:
    if preset == "galen":
        return user(f"{sample.context}\n\nQuestion: {sample.question}\n\n{INSTRUCTION}")
    if preset == "lm-eval":  # lm_eval/tasks/pubmedqa/preprocess_pubmedqa.py doc_to_text
        return user(f"Abstract: {sample.context}\nQuestion: {sample.question}\nAnswer:")
    raise unknown_preset(preset)


def loglik(sample: Sample) -> ChoiceQuery:
    """lm-eval's pubmedqa: the same text, then " yes" / " no" / " maybe"."""
    return choice_query(prompt(sample, "lm-eval")[0]["content"], sample, LABELS)


@task(NAME)
def pubmedqa(source: str | None = None, limit: int | None = None, seed: int = 0) -> Task:
    """PubMedQA PQA-L official test (500 items): yes / no / maybe, accuracy and macro-F1.

    source: None (our bundled sample), a folder with ori_pqal.json and test_ground_truth.json, a
        .jsonl/.parquet of items, "hub" (bigbio/pubmed_qa fold-0 test at a pinned commit) or
        "hf://ID@REVISION". limit: the first N items in file order. seed: unused (nothing is
        shuffled); accepted so every task factory takes the same arguments.
    """
    where = resolve_data(source, "pubmedqa", HUB_ID, REVISION, task=NAME, hub_files=HUB_FILES)
    samples, files = load(where)
    if where.origin == "hub":
        check_count(NAME, samples, TEST_ROWS)
    return Task(
        name=NAME,
        version=VERSION,
        samples=take(samples, limit),
        kind="label",
        labels=LABELS,
        prompt=prompt,
        loglik=loglik,
        metrics=("accuracy", "macro_f1"),
        subgroups=("final_decision",),
        source=where.describe(files),
        files=tuple(str(f) for f in files),
    )
