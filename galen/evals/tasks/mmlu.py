"""MMLU, the six medical subjects the Reasoning-Medical-27B card names and lm-eval's MultiMedQA
group holds: anatomy (135 test items), clinical_knowledge (265), college_biology (144),
college_medicine (173), medical_genetics (100), professional_medicine (272). Four options (A-D),
scored by accuracy; lm-eval's prompt is 5-shot, the exemplars being the subject's dev split in
order (`fewshot_split: dev`, `sampler: first_n`).

A row on the hub (cais/mmlu, `<subject>/test-*.parquet` and `<subject>/dev-*.parquet`, also
`all/...` with every subject) has this shape:

    {"question": "Which ... ?", "subject": "clinical_knowledge",
     "choices": ["...", "...", "...", "..."], "answer": 2}      # the index of the right choice

The original release (Hendrycks et al., `data/test/<subject>_test.csv`, `data/dev/<subject>_dev.csv`)
is headerless CSV: question, the four options, the answer letter. Both are read.

lm-eval's wording (lm_eval/tasks/mmlu/default/_default_template_yaml and mmlu_<subject>.yaml):
the description "The following are multiple choice questions (with answers) about clinical
knowledge.\\n\\n", each exemplar "{question}\\nA. ..\\nB. ..\\nC. ..\\nD. ..\\nAnswer: C" followed
by a blank line, then the query ending "Answer:"; scored as log P(" A") .. log P(" D").
https://github.com/EleutherAI/lm-evaluation-harness/tree/main/lm_eval/tasks/mmlu
Official scorer: accuracy, https://github.com/hendrycks/test
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

from galen.errors import BadRequest
from galen.evals.loading import check_count, read_records, resolve_data, take
from galen.evals.task import LETTERS, ChoiceQuery, Sample, Task, task
from galen.evals.tasks.common import (
    Messages,
    bad_row,
    checked,
    choice_query,
    galen_choice_prompt,
    kind_of,
    options_field,
    require,
    text_field,
    unknown_preset,
    user,
)

VERSION = "1"
HUB_ID = "cais/mmlu"
REVISION = None  # no verified commit yet: "hub" asks for hf://cais/mmlu@<commit> or a local path
NUM_FEWSHOT = 5
TEST_ROWS = {
    "anatomy": 135,
    "clinical_knowledge": 265,
    "college_biology": 144,
    "college_medicine": 173,
    "medical_genetics": 100,
    "professional_medicine": 272,
}
SUBJECTS = tuple(TEST_ROWS)


def _patterns(subject: str, split: str) -> tuple[str, ...]:
    """Where a split lives in a folder: the hub layout, the original CSV release, a flat file."""
    return (
        f"{subject}/{split}-*.parquet",
        f"data/{split}/{subject}_{split}.csv",
        f"{split}/{subject}_{split}.csv",
        f"{subject}_{split}.csv",
        f"all/{split}-*.parquet",
        f"{split}*.jsonl",
        f"{split}*.parquet",
    )


def _find(folder: Path, subject: str, split: str) -> Path | None:
    for pattern in _patterns(subject, split):
        if found := sorted(folder.glob(pattern)):
            return found[0]
    return None


def _read(path: Path) -> list[dict[str, Any]]:
    """Rows of a split file; the original CSV (no header) becomes question, choices, answer."""
    if path.suffix.lower() != ".csv":
        return read_records(path)
    with path.open(encoding="utf-8", newline="") as f:
        return [
            {"question": r[0], "choices": r[1:5], "answer": r[5]} if len(r) == 6 else {"bad_csv_row": r}
            for r in csv.reader(f)
        ]


def _answer(name: str, row_id: Any, value: Any) -> str:
    """The gold letter from an index (0-3, the hub) or a letter (the CSV release)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 4:
        return LETTERS[value]
    if isinstance(value, str) and value.strip() in LETTERS[:4]:
        return value.strip()
    raise bad_row(name, row_id, f"field 'answer' must be an index 0-3 or a letter A-D, got {kind_of(value)}")


def to_sample(row: dict[str, Any], name: str, line: int) -> Sample:
    expected = "question, choices (4) and answer"
    if isinstance(row, dict) and "bad_csv_row" in row:
        raise bad_row(name, line, f"has {len(row['bad_csv_row'])} CSV columns; expected 6 ({expected})")
    question = text_field(name, line, "question", require(name, row, line, "question", expected))
    options = options_field(name, line, "choices", require(name, row, line, "choices", expected))
    answer = _answer(name, line, require(name, row, line, "answer", expected))
    return checked(name, Sample(id=str(line), question=question.strip(), answer=answer, options=options))


def description(subject: str) -> str:
    return (
        f"The following are multiple choice questions (with answers) about {subject.replace('_', ' ')}.\n\n"
    )


def example(sample: Sample, with_answer: bool) -> str:
    """lm-eval's doc_to_text, plus " C" and the blank line for an exemplar."""
    text = f"{sample.question}\n" + "".join(f"{k}. {v}\n" for k, v in sample.options.items()) + "Answer:"
    return f"{text} {sample.answer}\n\n" if with_answer else text


def context(header: str, fewshot: list[Sample]) -> Callable[[Sample], str]:
    """lm-eval's text: the description `header`, the exemplars, the query."""
    shots = header + "".join(example(s, with_answer=True) for s in fewshot)
    return lambda sample: shots + example(sample, with_answer=False)


def make_prompt(text: Callable[[Sample], str]) -> Callable[[Sample, str], Messages]:
    def prompt(sample: Sample, preset: str) -> Messages:
        if preset == "galen":
            return galen_choice_prompt(sample)
        if preset == "lm-eval":
            return user(text(sample))
        raise unknown_preset(preset)

    return prompt


def load(subject: str, source: str | None, limit: int | None, num_fewshot: int | None) -> Task:
    name = f"mmlu_{subject}"
    where = resolve_data(source, "mmlu", HUB_ID, REVISION, task=name, hub_files=(f"{subject}/*.parquet",))
    folder = where.path if where.path.is_dir() else where.path.parent
    test = where.path if where.path.is_file() else _find(folder, subject, "test")
    if test is None:
        raise BadRequest("source", f"{name}: no test split for {subject} in {folder}")
    dev = _find(folder, subject, "dev")
    beside = folder.parent / "dev" / f"{subject}_dev.csv"  # the CSV release: test/x_test.csv, dev/x_dev.csv
    dev = dev or (beside if where.path.is_file() and beside.is_file() else None)

    def rows_of(path: Path) -> list[dict[str, Any]]:
        rows = _read(path)
        return [r for r in rows if not isinstance(r, dict) or r.get("subject", subject) == subject]

    rows = rows_of(test)
    if where.origin == "hub":
        check_count(name, rows, TEST_ROWS[subject])
    if not rows:
        raise BadRequest("source", f"{name}: no {subject} rows in {test}")
    shots_wanted = NUM_FEWSHOT if num_fewshot is None else num_fewshot
    dev_rows = rows_of(dev) if dev and shots_wanted else []
    if len(dev_rows) < shots_wanted:
        raise BadRequest(
            "num_fewshot",
            f"{name}: {shots_wanted}-shot needs {shots_wanted} dev exemplars; {len(dev_rows)} found"
            + (f" in {dev}" if dev else f" (no dev split next to {test.name})"),
        )
    fewshot = [to_sample(r, f"{name} dev", i) for i, r in enumerate(dev_rows[:shots_wanted])]
    text = context(description(subject), fewshot)
    files = [test, *([dev] if dev_rows else [])]
    return Task(
        name=name,
        version=VERSION,
        samples=[to_sample(r, name, i) for i, r in enumerate(take(rows, limit))],
        prompt=make_prompt(text),
        loglik=queries(text),
        fewshot=fewshot,
        source=where.describe(files),
        files=tuple(str(f) for f in files),
    )


def queries(text: Callable[[Sample], str]) -> Callable[[Sample], ChoiceQuery]:
    """The log-likelihood format: lm-eval's text, then " A" .. " D"."""
    return lambda sample: choice_query(text(sample), sample)


def _factory(subject: str) -> Callable[..., Task]:
    def factory(
        source: str | None = None, limit: int | None = None, seed: int = 0, num_fewshot: int | None = None
    ) -> Task:
        return load(subject, source, limit, num_fewshot)

    factory.__name__ = f"mmlu_{subject}"
    factory.__doc__ = (
        f"MMLU {subject.replace('_', ' ')} ({TEST_ROWS[subject]} items, 4 options); 5-shot from dev.\n\n"
        "    source: None (our bundled sample), a folder in the hub layout (<subject>/test-*.parquet)\n"
        "        or the original CSV release (test/<subject>_test.csv), a file, or hf://cais/mmlu@REV.\n"
        "    limit: the first N items. num_fewshot: exemplars (default 5). seed: unused.\n"
    )
    return task(f"mmlu_{subject}")(factory)


mmlu_anatomy = _factory("anatomy")
mmlu_clinical_knowledge = _factory("clinical_knowledge")
mmlu_college_biology = _factory("college_biology")
mmlu_college_medicine = _factory("college_medicine")
mmlu_medical_genetics = _factory("medical_genetics")
mmlu_professional_medicine = _factory("professional_medicine")
