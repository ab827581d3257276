"""A `CardTable` as text: Markdown (the cards' format), CSV (for a spreadsheet) or LaTeX (booktabs).

All three are drawn from one grid of cells, so they always agree. Values are fractions printed
with 4 decimals, or percentages with 2 (`percent=True`, as the MeditronFO card prints them).
Markdown and LaTeX carry the notes and the research-use notice under the table; CSV holds the
cells only, with the raw task name in its first column.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Literal

from galen import RESEARCH_NOTICE
from galen.errors import BadRequest
from galen.evals.table import NOISE_MARK, CardTable, display

Format = Literal["md", "csv", "latex"]
FORMATS: dict[str, Format] = {".md": "md", ".markdown": "md", ".csv": "csv", ".tex": "latex"}
DETAILS = ("Filter", "n-shot", "Metric")


def _value(x: float | None, percent: bool, signed: bool = False) -> str:
    if x is None:
        return "–"
    sign, digits = ("+" if signed else ""), (2 if percent else 4)
    return f"{x * (100 if percent else 1):{sign}.{digits}f}"


def grid(
    table: CardTable, percent: bool = False, details: bool = True, stderr: bool = False
) -> tuple[list[str], list[list[str]]]:
    """Header and rows (the last one the Average); the first cell of a row is the task's name."""
    header = ["Task", *(DETAILS if details else ()), *(c.name for c in table.columns)]
    one = len(table.deltas) == 1
    header += ["Δ" if one else f"Δ {table.columns[i].name}" for i in table.deltas]
    rows = []
    for task in table.tasks:
        row = [display(task), *(table.detail(task) if details else ())]
        for col in table.columns:
            cell = _value(col.values.get(task), percent)
            result = col.result(task)
            if stderr and result is not None:
                cell += f" ± {_value(result.stderr, percent)}"
            row.append(cell)
        for i in table.deltas:
            col = table.columns[i]
            mark = NOISE_MARK if table.within_noise(col, task) else ""
            row.append(_value(table.delta(col, task), percent, signed=True) + mark)
        rows.append(row)
    average = ["Average", *([""] * len(DETAILS) if details else ())]
    average += [_value(table.average(c), percent) for c in table.columns]
    average += [_value(table.delta(table.columns[i], None), percent, signed=True) for i in table.deltas]
    return header, [*rows, average]


def _notes(table: CardTable) -> list[str]:
    return [*table.notes, RESEARCH_NOTICE]


def markdown(table: CardTable, **kw: bool) -> str:
    header, rows = grid(table, **kw)
    right = [i >= 1 + (len(DETAILS) if kw.get("details", True) else 0) for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if r else "---" for r in right) + "|"]
    for i, row in enumerate(rows):
        cells = [f"**{c}**" if i == len(rows) - 1 and c else c for c in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join([*lines, "", *(f"- {note}" for note in _notes(table))]) + "\n"


def csv_text(table: CardTable, **kw: bool) -> str:
    header, rows = grid(table, **kw)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["task_id", *header])
    for task, row in zip([*table.tasks, "average"], rows, strict=True):
        writer.writerow([task, *row])
    return out.getvalue()


_LATEX = {
    "&": r"\&", "%": r"\%", "_": r"\_", "#": r"\#", "$": r"\$", "{": r"\{", "}": r"\}",
    "~": r"\textasciitilde{}", "Δ": r"$\Delta$", "±": r"$\pm$", NOISE_MARK: r"$^\dagger$", "–": "--",
}  # fmt: skip


def _tex(text: str) -> str:
    return "".join(_LATEX.get(ch, ch) for ch in text)


def latex(table: CardTable, **kw: bool) -> str:
    header, rows = grid(table, **kw)
    n_text = 1 + (len(DETAILS) if kw.get("details", True) else 0)
    spec = "l" * n_text + "r" * (len(header) - n_text)
    lines = [r"% needs \usepackage{booktabs}", rf"\begin{{tabular}}{{{spec}}}", r"\toprule"]
    lines.append(" & ".join(_tex(h) for h in header) + r" \\")
    lines.append(r"\midrule")
    lines += [" & ".join(_tex(c) for c in row) + r" \\" for row in rows[:-1]]
    lines.append(r"\midrule")
    lines.append(" & ".join(rf"\textbf{{{_tex(c)}}}" if c else "" for c in rows[-1]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    lines += [f"% {note}" for note in _notes(table)]
    return "\n".join(lines) + "\n"


RENDER = {"md": markdown, "csv": csv_text, "latex": latex}


def render(table: CardTable, fmt: Format, **kw: bool) -> str:
    return RENDER[fmt](table, **kw)


def format_of(path: Path) -> Format:
    """The format a file's suffix asks for, or a one-line error."""
    if path.suffix.lower() not in FORMATS:
        raise BadRequest("output", f"{path.name}: use a .md, .csv or .tex name for --output")
    return FORMATS[path.suffix.lower()]


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename: never a half-written table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
