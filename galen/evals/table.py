"""The cards' tables: several runs side by side, an Average row, a delta against a baseline, and
published reference columns; rendered as Markdown, CSV or LaTeX.

    | Task | Filter | n-shot | Metric | gemma-it | meditron | Δ | Gemma-3-27B-IT (published) |
    | MedQA | galen-cascade | 0 | accuracy | 0.7620 | 0.7761 | +0.0141 | 0.7620 |
    | **Average** | | | | 0.5520 | 0.5645 | +0.0125 | 0.5520 |

Rows are tasks; the Average of a column is the mean of its task rows, shown only when the column
has every row (an average over different tasks compares nothing). Runs are checked against each
other as `galen eval compare` checks them (`runs.CHECKED`): a mismatch is an error unless
allowed, when it becomes a note. A delta smaller than the run-to-run sd measured by `--repeat` is
marked †. Published numbers are the authors' claims, shown as they were printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from statistics import fmean

from galen.errors import BadRequest
from galen.evals.published import PublishedColumn
from galen.evals.runs import RunFolder, TaskResult, mismatches, noise_sd, reproducibility_notes

NOISE_MARK = "†"

# How the cards name galen's tasks.
DISPLAY = {
    "medqa": "MedQA",
    "medmcqa": "MedMCQA",
    "pubmedqa": "PubMedQA",
    "medxpertqa": "MedXpertQA",
    "healthbench_all": "HealthBench",
    "healthbench_hard": "HealthBench Hard",
    "healthbench_consensus": "HealthBench Consensus",
    "mmlu_pro_biology": "MMLU-Pro Biology",
    "mmlu_pro_health": "MMLU-Pro Health",
    "mmlu_prox_en_biology": "MMLU-ProX Biology",
    "mmlu_anatomy": "MMLU Anatomy",
    "mmlu_clinical_knowledge": "MMLU Clinical Knowledge",
    "mmlu_college_biology": "MMLU College Biology",
    "mmlu_college_medicine": "MMLU College Medicine",
    "mmlu_medical_genetics": "MMLU Medical Genetics",
    "mmlu_professional_medicine": "MMLU Professional Medicine",
}


def display(task: str) -> str:
    if task in DISPLAY:
        return DISPLAY[task]
    if task.startswith("mmlu_prox_") and task.endswith("_biology"):
        return f"MMLU-ProX Biology ({task.split('_')[2]})"
    return task


@dataclass(frozen=True)
class Column:
    """A run or a published column: task -> value (a fraction)."""

    name: str
    values: dict[str, float]
    run: RunFolder | None = None
    published: PublishedColumn | None = None

    def result(self, task: str) -> TaskResult | None:
        return self.run.tasks.get(task) if self.run else None


@dataclass
class CardTable:
    tasks: list[str]
    columns: list[Column]
    baseline: int | None = None
    deltas: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def average(self, col: Column) -> float | None:
        if not self.tasks or any(t not in col.values for t in self.tasks):
            return None
        return fmean(col.values[t] for t in self.tasks)

    def delta(self, col: Column, task: str | None) -> float | None:
        """col minus the baseline on a task (None: the Average row)."""
        base = self.columns[self.baseline] if self.baseline is not None else None
        if base is None:
            return None
        if task is None:
            x, y = self.average(col), self.average(base)
        else:
            x, y = col.values.get(task), base.values.get(task)
        return None if x is None or y is None else x - y

    def within_noise(self, col: Column, task: str) -> bool:
        base = self.columns[self.baseline] if self.baseline is not None else None
        a, b = (col.result(task), base.result(task)) if base else (None, None)
        d = self.delta(col, task)
        sd = noise_sd(a, b) if a and b else None
        return sd is not None and d is not None and abs(d) < sd

    def detail(self, task: str) -> tuple[str, str, str]:
        """Filter, n-shot and metric of a row: from the first run that has the task, else the
        first published source that states them."""
        for col in self.columns:
            if (r := col.result(task)) is not None:
                return r.filter, "" if r.n_shot is None else str(r.n_shot), r.metric
        for col in self.columns:
            if col.published and (s := col.published.settings.get(task)):
                return s.filter or "", "" if s.n_shot is None else str(s.n_shot), s.metric or ""
        return "", "", ""


def _check_runs(tasks: list[str], runs: list[Column]) -> list[str]:
    problems = []
    for task in tasks:
        have = [(c, r) for c in runs if (r := c.result(task)) is not None]
        for col, result in have[1:]:
            first_col, first = have[0]
            problems += [f"{task}: {first_col.name} vs {col.name}: {d}" for d in mismatches(first, result)]
    return problems


def _pick_baseline(columns: list[Column], baseline: str | None) -> int | None:
    if baseline is None:
        return None
    for i, col in enumerate(columns):
        if col.name == baseline or (col.run and col.run.path.resolve() == _resolved(baseline)):
            return i
    names = ", ".join(c.name for c in columns)
    raise BadRequest("baseline", f"--baseline {baseline!r} is none of the columns ({names})")


def _resolved(text: str) -> Path:
    return Path(text).expanduser().resolve()


def build_table(
    runs: list[RunFolder],
    published: list[PublishedColumn] = (),
    *,
    tasks: list[str] | None = None,
    baseline: str | None = None,
    allow_mismatch: bool = False,
) -> CardTable:
    """The table of `runs` (one column each) and `published` columns. tasks: the rows, in order
    (default: every task of the runs, then of the published columns, in order of appearance)."""
    run_cols = [Column(r.name, {t: x.value for t, x in r.tasks.items()}, run=r) for r in runs]
    pub_cols = [Column(f"{p.name} (published)", dict(p.values), published=p) for p in published]
    columns = run_cols + pub_cols
    if len({c.name for c in columns}) != len(columns):
        raise BadRequest(
            "run", "two columns have the same name; give each run a distinct folder name or --names"
        )
    rows = tasks or list(dict.fromkeys(t for c in columns for t in c.values))
    if unknown := [t for t in rows if not any(t in c.values for c in columns)]:
        raise BadRequest("tasks", f"no column has {', '.join(unknown)}")
    problems = _check_runs(rows, run_cols)
    if problems and not allow_mismatch:
        raise BadRequest(
            "run",
            f"the runs did not ask the same thing ({'; '.join(problems)}); "
            "pass --allow-mismatch to tabulate them anyway",
        )
    table = CardTable(rows, columns, _pick_baseline(columns, baseline))
    table.deltas = _delta_columns(table, len(run_cols))
    table.notes = [f"tabulated despite a mismatch: {p}" for p in problems]
    table.notes += reproducibility_notes(runs) + _published_notes(table)
    if any(table.within_noise(table.columns[i], t) for i in table.deltas for t in rows):
        table.notes.append(
            f"{NOISE_MARK} the difference is smaller than the run-to-run sd measured by --repeat"
        )
    return table


def _delta_columns(table: CardTable, n_runs: int) -> list[int]:
    """Δ for every run column but the baseline; if no run column is left, for every published one."""
    if table.baseline is None:
        return []
    runs = [i for i in range(n_runs) if i != table.baseline]
    return runs or [i for i in range(n_runs, len(table.columns)) if i != table.baseline]


def _published_notes(table: CardTable) -> list[str]:
    notes, seen = [], set()
    for col in table.columns:
        p = col.published
        if p is None or p.card in seen:
            continue
        seen.add(p.card)
        notes.append(
            f"published ({p.card}, {p.url}): the authors' numbers, not reproduced by galen. {p.note}".strip()
        )
        for task, s in p.settings.items():
            runs = [r for c in table.columns if (r := c.result(task)) is not None]
            if s.n_shot is not None and any(r.n_shot is not None and r.n_shot != s.n_shot for r in runs):
                notes.append(f"{task}: {p.card} states n-shot {s.n_shot}; the runs here used another")
    return notes
