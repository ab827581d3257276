"""MMLU-Pro, biology and health: ten-option (A-J) questions; the model cards report biology with
lm-eval's 5-shot chain-of-thought prompt and its "custom-extract" filter.

A row of the upstream parquet (TIGER-Lab/MMLU-Pro, `data/test-*.parquet` and
`data/validation-*.parquet`) has this shape:

    {"question_id": 2847, "question": "...",
     "options": ["...", "...", ...],          # up to 10, lettered A-J in order
     "answer": "D", "answer_index": 3,
     "cot_content": "A: Let's think step by step. ... The answer is (D).",   # validation rows only
     "category": "biology",                    # the task filters on it (biology 717, health 818)
     "src": "ori_mmlu-college_biology"}        # where the question came from: our subgroup

The five few-shot exemplars are the first validation rows of the same category, with their
`cot_content` (lm-eval's `fewshot_split: validation`, `sampler: first_n`).

Official scorer: https://github.com/TIGER-AI-Lab/MMLU-Pro (compute_accuracy.py). lm-eval's task
(the "lm-eval" preset's wording and the cards' setting):
https://github.com/EleutherAI/lm-evaluation-harness/tree/main/lm_eval/tasks/mmlu_pro
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from galen.errors import BadRequest
from galen.evals.extract import Extraction, extract_mmlu_pro
from galen.evals.loading import check_count, find_one, read_records, resolve_data, take
from galen.evals.task import ChoiceQuery, Sample, Task, task
from galen.evals.tasks.common import (
    LETTERS,
    Messages,
    bad_row,
    checked,
    choice_query,
    galen_choice_prompt,
    options_from_list,
    unknown_preset,
    user,
)

VERSION = "1"
HUB_ID = "TIGER-Lab/MMLU-Pro"
REVISION = "99176245f8803e1f573e95003bc380af8087d95a"  # test 12032 rows, validation 70
HUB_FILES = ("data/test-*.parquet", "data/validation-*.parquet")
TEST_ROWS = {"biology": 717, "health": 818}
NUM_FEWSHOT = 5
TEST_FILES = ("test-*.parquet", "data/test-*.parquet", "test*.jsonl", "test*.parquet")
VALIDATION_FILES = (
    "validation-*.parquet",
    "data/validation-*.parquet",
    "validation*.jsonl",
    "validation*.parquet",
)


def to_sample(row: dict[str, Any], task_name: str) -> Sample:
    """One row as a Sample. Options come from `options` or from `option_0`..`option_9` (MMLU-ProX)."""
    row_id = row.get("question_id", "?")
    values = row["options"] if row.get("options") is not None else [row.get(f"option_{i}") for i in range(10)]
    options = options_from_list(values)
    answer = str(row.get("answer", "")).strip()
    index = row.get("answer_index")
    if index is not None and 0 <= int(index) < len(LETTERS) and LETTERS[int(index)] != answer:
        raise bad_row(task_name, row_id, f"answer {answer!r} disagrees with answer_index {index}")
    metadata = {key: row[key] for key in ("category", "src") if row.get(key)}
    if row.get("cot_content"):
        metadata["cot_content"] = row["cot_content"]
    sample = Sample(
        id=str(row_id), question=row["question"], answer=answer, options=options, metadata=metadata
    )
    return checked(task_name, sample)


@dataclass(frozen=True)
class CotWords:
    """The fixed words of lm-eval's CoT format, in one language (see mmlu_prox.py for the others)."""

    question: str = "Question:"
    options: str = "Options:"
    answer_lead: str = "Answer: Let's think step by step."  # ends the query; replaces cot_lead in exemplars
    cot_lead: str = "A: Let's think step by step."  # how the dataset's cot_content starts


ENGLISH = CotWords()


def cot_example(sample: Sample, with_answer: bool, words: CotWords = ENGLISH) -> str:
    """lm-eval's `format_cot_example` (lm_eval/tasks/mmlu_pro/utils.py): an exemplar or the query."""
    text = f"{words.question}\n{sample.question}\n{words.options}\n"
    text += "".join(f"{letter}. {option}\n" for letter, option in sample.options.items())
    if not with_answer:
        return text + words.answer_lead
    return text + sample.metadata["cot_content"].replace(words.cot_lead, words.answer_lead) + "\n\n"


def description(subject: str) -> str:
    """The description line of lm-eval's mmlu_pro_<subject>.yaml."""
    return (
        f"The following are multiple choice questions (with answers) about {subject}. Think step by step "
        'and then finish your answer with "the answer is (X)" where X is the correct letter choice.'
    )


def answer_example(sample: Sample, with_answer: bool) -> str:
    """An exemplar (or the query) of the answer-only format used for `--mode loglik`."""
    text = f"Question:\n{sample.question}\nOptions:\n"
    text += "".join(f"{letter}. {option}\n" for letter, option in sample.options.items())
    return text + (f"Answer: {sample.answer}\n\n" if with_answer else "Answer:")


def make_loglik(subject: str, fewshot: list[Sample]) -> Callable[[Sample], ChoiceQuery]:
    """MMLU's classic 5-shot log-likelihood format on MMLU-Pro (lm-eval scores MMLU-Pro only
    generatively): the same five exemplars answered with their letter, then " A" .. " J".
    Every query starts with the same exemplars, so the engine computes them once."""
    header = f"The following are multiple choice questions (with answers) about {subject}.\n\n"
    shots = header + "".join(answer_example(s, with_answer=True) for s in fewshot)

    def loglik(sample: Sample) -> ChoiceQuery:
        return choice_query(shots + answer_example(sample, with_answer=False), sample)

    return loglik


def make_prompt(
    header: str,
    fewshot: list[Sample],
    words: CotWords = ENGLISH,
    what: str = "MMLU-Pro",
    shots_wanted: int = NUM_FEWSHOT,
) -> Callable[[Sample, str], Messages]:
    """The "galen" preset, or lm-eval's 5-shot CoT prompt (`shots_wanted`-shot under
    --num-fewshot): `header` (the description line), the exemplars, then the query, in `words`'
    language. `what` names the exemplars in an error."""

    def prompt(sample: Sample, preset: str) -> Messages:
        if preset == "galen":
            return galen_choice_prompt(sample)
        if preset == "lm-eval":
            if len(fewshot) < shots_wanted:
                raise BadRequest(
                    "preset",
                    f"lm-eval's {what} prompt is {shots_wanted}-shot but only {len(fewshot)} "
                    "validation exemplars were found next to the test file",
                )
            shots = "".join(cot_example(s, with_answer=True, words=words) for s in fewshot)
            return user(f"{header}\n{shots}{cot_example(sample, with_answer=False, words=words)}")
        raise unknown_preset(preset)

    return prompt


def lm_eval_extract(text: str, sample: Sample) -> Extraction:
    """lm-eval's "custom-extract" filter for MMLU-Pro (`extract_mmlu_pro`)."""
    return extract_mmlu_pro(text, tuple(sample.options))


def split_files(path: Path, task_name: str) -> tuple[Path, Path | None]:
    """The test file (`path`, or found in the folder `path`) and the validation file beside it, if any."""
    if path.is_dir():
        test, folder = find_one(path, TEST_FILES, task_name), path
    else:
        test, folder = path, path.parent
    validation = next((p for pattern in VALIDATION_FILES for p in sorted(folder.glob(pattern))), None)
    return test, validation


def load(category: str, source: str | None, limit: int | None, num_fewshot: int | None = None) -> Task:
    name = f"mmlu_pro_{category}"
    where = resolve_data(source, "mmlu_pro", HUB_ID, REVISION, task=name, hub_files=HUB_FILES)
    test, validation = split_files(where.path, name)
    rows = [row for row in read_records(test) if row.get("category") == category]
    if where.origin == "hub":
        check_count(name, rows, TEST_ROWS[category])
    if not rows:
        raise BadRequest("source", f"{name}: no rows with category {category!r} in {test}")
    val_rows = [r for r in read_records(validation) if r.get("category") == category] if validation else []
    wanted = NUM_FEWSHOT if num_fewshot is None else num_fewshot
    fewshot = [to_sample(row, name) for row in val_rows[:wanted]]
    files = [test, *([validation] if validation else [])]
    return Task(
        name=name,
        version=VERSION,
        samples=[to_sample(row, name) for row in take(rows, limit)],
        prompt=make_prompt(description(category), fewshot, what=f"MMLU-Pro {category}", shots_wanted=wanted),
        loglik=make_loglik(category, fewshot),
        fewshot=fewshot,
        subgroups=("src",),
        source=where.describe(files),
        extractors={"lm-eval": lm_eval_extract},
        files=tuple(str(f) for f in files),
    )


@task("mmlu_pro_biology")
def mmlu_pro_biology(
    source: str | None = None, limit: int | None = None, seed: int = 0, num_fewshot: int | None = None
) -> Task:
    """MMLU-Pro biology (717 items, 10 options); 5-shot CoT exemplars from validation.

    source: None (our bundled sample), a folder with test-*.parquet and validation-*.parquet (or
        the test file, with the validation file beside it), "hub" (TIGER-Lab/MMLU-Pro at a pinned
        commit) or "hf://ID@REVISION". limit: the first N items in file order. seed: unused.
        num_fewshot: exemplars (default 5).
    """
    return load("biology", source, limit, num_fewshot)


@task("mmlu_pro_health")
def mmlu_pro_health(
    source: str | None = None, limit: int | None = None, seed: int = 0, num_fewshot: int | None = None
) -> Task:
    """MMLU-Pro health (818 items, 10 options); 5-shot CoT exemplars from validation.

    source: as for mmlu_pro_biology. limit: the first N items in file order. seed: unused.
    num_fewshot: exemplars (default 5).
    """
    return load("health", source, limit, num_fewshot)
