"""MedQA (USMLE), US 4-option test split: 1273 four-option vignettes, scored by accuracy.

A row of the upstream jsonl (jind11/MedQA `data_clean/questions/US/4_options/phrases_no_exclude_test.jsonl`,
mirrored as GBaker/MedQA-USMLE-4-options) has this shape:

    {"question": "A 45-year-old man presents with ... Which of the following is the most likely ...?",
     "answer": "<text of the correct option>",
     "options": {"A": "...", "B": "...", "C": "...", "D": "..."},
     "meta_info": "step1",            # or "step2&3": the USMLE step, our subgroup
     "answer_idx": "C",
     "metamap_phrases": ["..."],
     "realidx": 17}                   # only in some copies (medagents-benchmark); else the line number

The `GBaker/MedQA-USMLE-4-options-hf` copy that lm-eval's `medqa_4options` reads has the shape
`{"id", "sent1" (question), "ending0".."ending3", "label" (0-3)}`; both are read.

Official scorer: accuracy over the option letter. lm-eval's task (loglikelihood over A-D, here used
for its wording only): https://github.com/EleutherAI/lm-evaluation-harness/tree/main/lm_eval/tasks/medqa
Dataset: https://github.com/jind11/MedQA
"""

from __future__ import annotations

from typing import Any

from galen.evals.loading import FileSplit
from galen.evals.task import LETTERS, Sample, Task, task
from galen.evals.tasks.common import (
    choice_presets,
    choice_task,
    letter_field,
    lm_eval_question,
    options_field,
    require,
    text_field,
)

NAME = "medqa"
VERSION = "1"
HUB_ID = "GBaker/MedQA-USMLE-4-options"
REVISION = "0fb93dd23a7339b6dcd27e241cb9b5eca62d4d18"
HUB_FILES = ("phrases_no_exclude_test.jsonl",)
TEST_ROWS = 1273
FOLDER_FILES = ("test.jsonl", "phrases_no_exclude_test.jsonl", "test.json", "*test*.jsonl", "*test*.parquet")
SPLIT = FileSplit(NAME, "medqa.jsonl", HUB_ID, REVISION, HUB_FILES, FOLDER_FILES, TEST_ROWS)


def to_sample(row: dict[str, Any], line: int) -> Sample:
    """One upstream row (either shape above) as a Sample; `line` is its 0-based position."""
    if "sent1" in row:  # the "-hf" copy
        options = {LETTERS[i]: row[f"ending{i}"] for i in range(4)}
        answer = LETTERS[int(row["label"])]
        return Sample(id=str(row.get("id", line)), question=row["sent1"], answer=answer, options=options)
    expected = "question, options {A..D} and answer_idx"
    question = text_field(NAME, line, "question", require(NAME, row, line, "question", expected))
    options = options_field(NAME, line, "options", require(NAME, row, line, "options", expected))
    answer = letter_field(NAME, line, "answer_idx", require(NAME, row, line, "answer_idx", expected))
    metadata = {"meta_info": row["meta_info"]} if row.get("meta_info") else {}
    return Sample(
        id=str(row.get("realidx", line)), question=question, answer=answer, options=options, metadata=metadata
    )


# lm-eval's medqa_4options wording (lm_eval/tasks/medqa/preprocess_medqa.py doc_to_text)
prompt, loglik = choice_presets(lm_eval_question())


@task(NAME)
def medqa(source: str | None = None, limit: int | None = None, seed: int = 0) -> Task:
    """MedQA USMLE 4-option test (1273 items); subgroups by USMLE step.

    source: None (our bundled sample), a .jsonl/.json/.parquet file or a folder holding one,
        "hub" (GBaker/MedQA-USMLE-4-options at a pinned commit) or "hf://ID@REVISION".
    limit: the first N items in file order. seed: unused (nothing is shuffled); accepted so every
        task factory takes the same arguments.
    """
    return choice_task(
        SPLIT, VERSION, source, limit, to_sample, prompt=prompt, loglik=loglik, subgroups=("meta_info",)
    )
