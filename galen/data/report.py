"""`galen data report DIR`: what a build produced, as tables (terminal and report.md) and a plot.

- counts per source and stage: rows read, skipped, duplicates, decontaminated, kept;
- answer balance: the share of each gold letter (and yes / no / maybe) per source, since a
  corpus whose answers are mostly "C" teaches a model to answer "C";
- lengths: prompt and answer words per source (median, 90th percentile, maximum);
- contamination: per benchmark, where its items came from and how many records each stage
  removed, with the highest-scoring matches;
- near duplicates (when the recipe ran MinHash dedup) and clinician review per source;
- corpus statistics as the cards state them (`stats`): tokens per source and in total with the
  target model's tokenizer, chain-of-thought coverage, and the cards' figures beside ours (also
  written as stats.json).

`report.png` has the answer balance and the length histograms. Tables are built once
(`Table`) and drawn both by the CLI (rich) and into report.md.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from galen.data.manifest import read_manifest
from galen.data.ngrams import words
from galen.data.record import LABELS, Record
from galen.data.stats import CARD_FIGURES, CorpusStats, corpus_stats
from galen.data.texts import answer_text, prompt_text


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[str]]

    def markdown(self) -> str:
        lines = [
            f"### {self.title}",
            "",
            "| " + " | ".join(self.header) + " |",
            "|" + "---|" * len(self.header),
        ]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines)


def load_records(out: Path) -> list[Record]:
    """The kept records of a build (records/) or of a distillation (shards/kept-*)."""
    files = sorted((out / "records").glob("*.jsonl")) or sorted((out / "shards").glob("kept-*.jsonl"))
    return [Record.model_validate_json(line) for f in files for line in f.read_text().splitlines() if line]


def counts_table(manifest: dict[str, Any]) -> Table:
    by_source = manifest.get("counts", {}).get("by_source", {})
    rows = []
    for name, c in by_source.items():
        skipped = sum(c.get("skipped", {}).values())
        rows.append(
            [name, *(str(v) for v in (c["rows"], skipped, c["read"], c.get("duplicates", 0)))]
            + [str(c.get("decontaminated", 0)), str(c.get("kept", 0))]
        )
    header = ["source", "rows", "skipped", "read", "duplicates", "decontaminated", "kept"]
    return Table("Records per source and stage", header, rows)


def balance_table(records: list[Record]) -> Table:
    answers: dict[str, Counter[str]] = defaultdict(Counter)
    for r in records:
        if r.labelled:
            answers[r.source][r.answer or ""] += 1
    letters = sorted({a for c in answers.values() for a in c if a not in LABELS})
    columns = letters + [label for label in LABELS if any(label in c for c in answers.values())]
    rows = []
    for source, counter in answers.items():
        total = sum(counter.values())
        rows.append([source, str(total), *(f"{100 * counter[a] / total:.0f}%" for a in columns)])
    return Table("Gold answer balance (labelled records)", ["source", "n", *columns], rows)


def lengths(records: list[Record]) -> dict[str, dict[str, list[int]]]:
    found: dict[str, dict[str, list[int]]] = defaultdict(lambda: {"prompt": [], "answer": []})
    for r in records:
        found[r.source]["prompt"].append(len(words(prompt_text(r))))
        found[r.source]["answer"].append(len(words(answer_text(r))))
    return found


def _spread(values: list[int]) -> str:
    if not values:
        return "–"
    p90 = statistics.quantiles(values, n=10, method="inclusive")[-1] if len(values) > 1 else values[0]
    return f"{statistics.median(values):.0f} / {p90:.0f} / {max(values)}"


def length_table(found: dict[str, dict[str, list[int]]]) -> Table:
    rows = [[s, _spread(v["prompt"]), _spread(v["answer"])] for s, v in found.items()]
    return Table("Length in words (median / p90 / max)", ["source", "prompt", "answer"], rows)


def contamination_tables(out: Path) -> list[Table]:
    path = out / "decontam" / "report.json"
    if not path.is_file():
        return []
    report = json.loads(path.read_text())
    rows, top = [], []
    for task, info in report["benchmarks"].items():
        matched = report["by_benchmark"].get(task, {})
        kinds = Counter(matches[0]["kind"] for matches in matched.values())
        source = info["source"].split(" [")[0]
        rows.append(
            [task, source, str(info["items"]), *(str(kinds[k]) for k in ("split", "id", "exact", "overlap"))]
        )
        for record_id, matches in matched.items():
            for m in matches:
                if m["kind"] in ("exact", "overlap"):
                    top.append([f"{m['score']:.2f}", record_id, task, m["benchmark_id"], m["field"]])
    top.sort(key=lambda row: (-float(row[0]), row[1]))
    c = report["counts"]
    summary = [
        [k, str(c[k])]
        for k in (
            "records_in",
            "stage0_split",
            "stage0_id",
            "stage0_exact",
            "stage1_candidate_texts",
            "stage2_pairs_aligned",
            "stage2_removed",
            "records_out",
        )
    ]
    return [
        Table("Decontamination", ["count", "value"], summary),
        Table(
            "Records removed per benchmark and stage",
            ["benchmark", "items from", "items", "split", "id", "exact", "overlap"],
            rows,
        ),
        Table("Highest-scoring matches", ["score", "record", "benchmark", "item", "text"], top[:10]),
    ]


def plot(records: list[Record], found: dict[str, dict[str, list[int]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    letters = Counter(r.answer for r in records if r.kind == "choice")
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    keys = sorted(letters)
    axes[0].bar(keys, [letters[k] for k in keys], color="#4C72B0")
    axes[0].set_title("Gold letters (choice records)")
    for name, ax in (("prompt", axes[1]), ("answer", axes[2])):
        values = [v for per in found.values() for v in per[name]]
        if values:
            ax.hist(values, bins=30, color="#55A868")
        ax.set_title(f"{name.capitalize()} length (words)")
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


def curation_table(manifest: dict[str, Any]) -> Table:
    """Near duplicates and review verdicts per source (columns only for the stages that ran)."""
    by_source = manifest.get("counts", {}).get("by_source", {})
    near = any("near_duplicates" in c for c in by_source.values())
    review = any("review" in c for c in by_source.values())
    header = ["source", *(["near duplicates"] if near else [])]
    header += ["accepted", "edited", "rejected", "pending review"] if review else []
    rows = []
    for name, c in by_source.items():
        row = [name, *([str(c.get("near_duplicates", 0))] if near else [])]
        if review:
            r = c.get("review", {})
            row += [str(r.get(k, 0)) for k in ("accepted", "edited", "rejected", "pending")]
        rows.append(row)
    return Table("Near duplicates and clinician review", header, rows if near or review else [])


def _big(n: int | None) -> str:
    if n is None:
        return "–"
    return f"{n / 1e6:.1f}M" if n >= 1_000_000 else f"{n / 1e3:.1f}K" if n >= 10_000 else str(n)


def stats_tables(stats: CorpusStats) -> list[Table]:
    names = stats.tokenizers
    rows = []
    for source, s in [*stats.by_source.items(), ("total", stats.total())]:
        cot = f"{100 * s.cot / s.records:.0f}%" if s.records else "–"
        rows.append(
            [source, str(s.records), *(_big(s.tokens[n]) for n in names), f"{s.cot} ({cot})", str(s.cot_qa)]
        )
    header = ["source", "records", *(f"tokens ({n})" for n in names), "with CoT", "CoT QA"]
    cards = []
    for label, card, what in CARD_FIGURES:
        ours = stats.figure(what)
        label += f" ({stats.token_basis})" if what == "tokens" and stats.token_basis else ""
        cards.append(
            [label, _big(card), _big(ours), f"{100 * ours / card:.3f}%" if ours is not None else "–"]
        )
    return [
        Table("Tokens and chain-of-thought per source", header, rows),
        Table("This corpus against the cards' figures", ["figure", "card", "this corpus", "share"], cards),
    ]


def build_report(
    out: Path, target: Path | None = None, tokenizers: Sequence[str] = ("qwen3.6",)
) -> tuple[list[Table], Path]:
    """All tables for `out`, with report.md, report.png and stats.json written to `target`
    (default `out`). `tokenizers`: which models' tokens to count (stats.TOKENIZERS)."""
    manifest = read_manifest(out)
    records = load_records(out)
    found = lengths(records)
    stats = corpus_stats(records, list(tokenizers))
    tables = [
        counts_table(manifest),
        curation_table(manifest),
        *stats_tables(stats),
        balance_table(records),
        length_table(found),
        *contamination_tables(out),
    ]
    target = target or out
    target.mkdir(parents=True, exist_ok=True)
    (target / "stats.json").write_text(json.dumps(stats.as_json(), indent=2) + "\n", encoding="utf-8")
    title = manifest.get("recipe", {}).get("name") or out.name
    body = "\n\n".join(t.markdown() for t in tables if t.rows)
    text = f"# galen data report: {title}\n\n{len(records)} records.\n\n{body}\n\n![report](report.png)\n"
    (target / "report.md").write_text(text, encoding="utf-8")
    plot(records, found, target / "report.png")
    return tables, target
