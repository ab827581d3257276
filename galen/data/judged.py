"""The judged evaluations as benchmark items: HealthBench prompts and the pairwise vignettes.

galen eval scores two sets outside its task registry: HealthBench (`galen eval healthbench`,
subsets all / hard / consensus: conversations graded on rubrics) and the pairwise preference
vignettes (`galen eval pairwise`). A training record that contains one of their prompts would
inflate those scores the same way a leaked MedQA item does, so decontamination protects them too,
read by galen eval's own loaders from the same files:

    decontamination:
      benchmarks:
        healthbench: ../healthbench/2025-05-07-06-14-12_oss_eval.jsonl   # or "official" (download)
        healthbench_hard: ../healthbench/hard_2025-05-08-21-00-10.jsonl
        healthbench_consensus: ../healthbench/consensus_2025-05-09-20-00-46.jsonl
        pairwise: ../vignettes.jsonl                                    # {"id", "prompt"} rows

Without a path each reads galen's bundled sample (which protects nothing real; the report says
so). A HealthBench conversation is one item: the text of all its turns. A multi-turn
conversation also gives one item per user turn long enough to be specific (at least 2 x ngram
words), so a record that copies only the last question of a long conversation is caught too.
The rubrics and ideal completions are not protected (only prompts are: a limit, in docs/data.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from galen.data.benchmark_index import BenchmarkItem
from galen.data.ngrams import words
from galen.errors import BadRequest, GalenError
from galen.files import sha256_file

SUBSETS = {"healthbench": "all", "healthbench_hard": "hard", "healthbench_consensus": "consensus"}


@dataclass
class JudgedSet:
    """One judged set's items, where they came from, and its ids."""

    name: str
    source: str
    items: list[BenchmarkItem]
    ids: set[str]


def describe(where: str | None, path: Path, sample: Path) -> str:
    """As galen eval names a source: sample:NAME or the path, then the file's sha256."""
    ref = f"sample:{path.name}" if where is None and path == sample else str(where or path)
    return f"{ref} [{path.name} sha256:{sha256_file(path)}]"


def healthbench_items(name: str, where: str | None, ngram: int) -> JudgedSet:
    from galen.evals.judges.healthbench import SUBSET_SAMPLES, healthbench_file, load_healthbench

    subset = SUBSETS[name]
    path = healthbench_file(where, subset)
    items = []
    for example in load_healthbench(path, subset=subset):
        turns = [(m.get("role"), _content(m.get("content"))) for m in example.prompt]
        items.append(BenchmarkItem(name, example.prompt_id, "\n".join(text for _, text in turns)))
        users = [text for role, text in turns if role == "user"]
        if len(turns) > 1:
            for k, text in enumerate(users):
                if len(words(text)) >= 2 * ngram:
                    items.append(BenchmarkItem(name, f"{example.prompt_id}#user{k}", text))
    ids = {item.id.split("#")[0] for item in items}
    return JudgedSet(name, describe(where, path, SUBSET_SAMPLES[subset]), items, ids)


def _content(content: object) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def vignette_items(where: str | None) -> JudgedSet:
    from galen.evals.judges.pairwise import VIGNETTES_PATH, load_vignettes

    path = Path(where) if where else VIGNETTES_PATH
    if not path.is_file():
        raise BadRequest(None, f"no vignettes file at {path}")
    try:
        vignettes = load_vignettes(path)
    except (json.JSONDecodeError, TypeError, UnicodeDecodeError) as exc:
        raise BadRequest(None, f"{path}: not {{id, prompt}} rows ({exc})") from None
    items = [BenchmarkItem("pairwise", v.id, v.prompt) for v in vignettes]
    return JudgedSet("pairwise", describe(where, path, VIGNETTES_PATH), items, {v.id for v in vignettes})


def load_judged(name: str, where: str | None, ngram: int) -> JudgedSet:
    """One judged set's items; a file that cannot be read is a BadRequest naming the file."""
    try:
        if name == "pairwise":
            return vignette_items(where)
        return healthbench_items(name, where, ngram)
    except GalenError as exc:
        message = exc.message.removeprefix(f"{exc.param}: ") if exc.param else exc.message
        raise BadRequest(f"decontamination.benchmarks.{name}", message) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadRequest(f"decontamination.benchmarks.{name}", f"cannot read {where}: {exc}") from None
