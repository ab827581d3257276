"""A recipe: which sources to read and how to clean, decontaminate, export and distil them.

YAML only fills in these models (on galen's config base, `galen.config`); every field has a default
except `name` and `sources`, and every mistake is reported at once, with the path of the field at
fault (`sources[2].format: unknown format 'medqq'; known: medqa, ...`). Relative paths are
relative to the recipe file.

    name: demo
    output: out/demo                      # default: data/<name> in the current folder
    sources:
      - format: medqa                     # an adapter in data/sources/
        path: ../medqa/train.jsonl        # omitted: galen's bundled sample; "hub": pinned revision
        split: train
    decontamination:
      benchmarks: {medqa: ../shared/benchmarks/medqa/test.jsonl}   # others: bundled samples
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from galen.config import ConfigError, ConfigModel, read_yaml, refuse_keys, validate

# The judged evaluations galen runs besides the registry's tasks (galen eval healthbench /
# pairwise); decontamination protects their prompts too (data/judged.py).
JUDGED = ("healthbench", "healthbench_hard", "healthbench_consensus", "pairwise")


class SourceConfig(ConfigModel):
    format: str = Field(
        description="The adapter that reads it: medqa, medmcqa, ..., jsonl, messages, sharegpt."
    )
    name: str | None = Field(
        None, description="Unique name of the source (default: the format); ids start with it."
    )
    path: str | None = Field(
        None,
        description='A file or folder, "hub" (pinned revision), "hf://ID@COMMIT", or omitted (the sample; '
        "for format synth, the recipe's synth output).",
    )
    split: str = Field("train", description="The split to read; a folder or hub snapshot is searched for it.")
    subset: str | None = Field(None, description="Adapter-specific subset (MedExpQA: the language).")
    licence: str | None = Field(
        None, description="Overrides the adapter's licence, which every record carries."
    )
    limit: int | None = Field(None, ge=1, description="Read only the first N rows.")
    columns: dict[str, str] = Field(
        default_factory=dict, description="Our field name -> the file's column name."
    )

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        from galen.data.sources import ADAPTERS

        if value not in ADAPTERS:
            raise ValueError(f"unknown format {value!r}; known: {', '.join(ADAPTERS)}")
        return value

    @property
    def source_name(self) -> str:
        return self.name or self.format


class MinHashConfig(ConfigModel):
    enabled: bool = Field(False, description="Also drop near duplicates (MinHash LSH, data/near_dedup.py).")
    threshold: float = Field(
        0.7, gt=0, le=1, description="Jaccard similarity of word shingles that makes a near duplicate."
    )
    num_perm: int = Field(
        128, ge=16, le=1024, description="MinHash permutations (more: fewer misses, slower)."
    )
    shingle: int = Field(2, ge=1, le=16, description="Words per shingle.")
    fields: list[Literal["prompt", "answer"]] = Field(
        default_factory=lambda: ["prompt", "answer"], min_length=1, description="Which texts are compared."
    )
    seed: int = Field(1, description="MinHash seed; the same seed gives the same result.")


class DedupConfig(ConfigModel):
    enabled: bool = Field(True, description="Drop later copies of the same prompt and answer.")
    minhash: MinHashConfig = Field(default_factory=MinHashConfig)


class DecontamConfig(ConfigModel):
    enabled: bool = True
    ngram: int = Field(8, ge=2, description="Stage 1: words in a shared run that makes a candidate.")
    min_block: int = Field(5, ge=1, description="Stage 2: shortest matching block that counts.")
    threshold: float = Field(
        0.5, gt=0, le=1, description="Stage 2: covered fraction of a benchmark item to remove."
    )
    boilerplate: int | None = Field(
        None,
        ge=1,
        description="A run in more benchmark items than this makes no candidate (default max(2, 0.1%).",
    )
    check: list[Literal["prompt", "answer"]] = Field(
        default_factory=lambda: ["prompt", "answer"],
        min_length=1,
        description="Which texts of a record to check.",
    )
    tasks: list[str] | Literal["all"] = Field(
        "all", description="galen eval tasks to protect, and the judged sets (healthbench, pairwise...)."
    )
    benchmarks: dict[str, str] = Field(
        default_factory=dict,
        description="task -> its data (file, folder, hub; HealthBench: official); else the bundled sample.",
    )

    @model_validator(mode="after")
    def _known_tasks(self) -> DecontamConfig:
        from galen.evals import tasks as _  # noqa: F401 - registers the tasks
        from galen.evals.task import TASKS

        known = {*TASKS, *JUDGED}
        named = [] if self.tasks == "all" else list(self.tasks)
        for task in [*named, *self.benchmarks]:
            if task not in known:
                raise ValueError(f"unknown task {task!r}; known: {', '.join(sorted(known))}")
        return self

    def task_names(self) -> list[str]:
        """The multiple-choice tasks of galen eval's registry to protect."""
        from galen.evals.task import TASKS

        names = sorted(TASKS) if self.tasks == "all" else list(self.tasks)
        return [name for name in names if name not in JUDGED]

    def judged_names(self) -> list[str]:
        """The judged sets (HealthBench subsets, pairwise vignettes) to protect."""
        return list(JUDGED) if self.tasks == "all" else [name for name in JUDGED if name in self.tasks]


class ReviewConfig(ConfigModel):
    required: list[str] = Field(
        default_factory=list,
        description="Sources whose records are held back until a reviewer accepts or edits them.",
    )


class ExportConfig(ConfigModel):
    think_open: str = Field("<think>", description="Opens the reasoning in SFT assistant messages.")
    think_close: str = Field("</think>", description="Closes it.")
    family: str | None = Field(None, description="Take the think tags from this model family (galen/models).")
    parquet: bool = Field(True, description="Also write .parquet twins of the JSONL exports.")


class DistillConfig(ConfigModel):
    model: str | None = Field(
        None, description="Teacher model id at the endpoint (default: the first it lists)."
    )
    api_key_env: str = Field(
        "OPENAI_API_KEY", description="Environment variable holding the teacher's key (never the key)."
    )
    tries: int = Field(8, ge=1, description="Attempts per item before it is rejected.")
    max_tokens: int = Field(2048, ge=1)
    temperature: float = Field(0.6, ge=0, le=2)
    top_p: float = Field(0.95, gt=0, le=1)
    top_k: int = Field(20, ge=0)
    seed: int = 0
    thinking: bool | None = Field(True, description="Ask the teacher to think (None: its default).")
    concurrency: int = Field(4, ge=1, description="Teacher calls in flight.")
    shard_size: int = Field(64, ge=1, description="Items per output shard; a finished shard is never redone.")
    limit: int | None = Field(None, ge=1, description="Distil only the first N labelled items.")

    _no_key = model_validator(mode="before")(refuse_keys)


class GuidelinesConfig(ConfigModel):
    path: str | None = Field(
        None,
        description='Guideline files or folder (.jsonl, .md, .txt), "hub" (epfl-llm/guidelines, pinned), '
        '"hf://ID@COMMIT"; omitted: galen\'s original sample.',
    )
    licence: str | None = Field(None, description="Overrides the licence the files or the corpus give.")
    limit: int | None = Field(None, ge=1, description="Read only the first N guidelines.")
    columns: dict[str, str] = Field(
        default_factory=dict, description="jsonl: our field (id, title, text, url, source, licence) -> yours."
    )
    chunk_words: int = Field(300, ge=20, description="Longest chunk in words; one item is made per chunk.")
    min_chunk_words: int = Field(20, ge=1, description="Shorter chunks are skipped (too little to ground).")


class SynthConfig(ConfigModel):
    output: str | None = Field(None, description="Output folder (default: <recipe output>/synth).")
    guidelines: GuidelinesConfig = Field(default_factory=GuidelinesConfig)
    generators: list[Literal["guideline_qa", "mcq", "vignette"]] = Field(
        default_factory=lambda: ["guideline_qa", "mcq", "vignette"],
        min_length=1,
        description="Which components to make; one item per chunk for each.",
    )
    prompts: dict[Literal["guideline_qa", "mcq", "vignette", "verify"], str] = Field(
        default_factory=dict, description="generator -> its prompt file (default: galen/data/prompts/)."
    )
    model: str | None = Field(None, description="Teacher model id (default: the first the endpoint lists).")
    api_key_env: str = Field(
        "OPENAI_API_KEY", description="Environment variable holding the teachers' key (never the key)."
    )
    structured: Literal["auto", "on", "off"] = Field(
        "auto",
        description=(
            "Ask for JSON matching each generator's schema (response_format): auto when every "
            "teacher's /v1/models says it can (galen serve), on always (vLLM), off: labelled text."
        ),
    )
    tries: int = Field(3, ge=1, description="Attempts per item before it is rejected.")
    max_tokens: int = Field(512, ge=1)
    temperature: float = Field(0.7, ge=0, le=2)
    top_p: float = Field(0.95, gt=0, le=1)
    top_k: int = Field(20, ge=0)
    seed: int = 0
    thinking: bool | None = Field(False, description="Ask the teacher to think (None: its default).")
    verify: bool = Field(False, description="guideline_qa: also ask the teacher if the passage supports it.")
    min_quote_words: int = Field(6, ge=1, description="guideline_qa: shortest quote that grounds an answer.")
    concurrency: int = Field(4, ge=1, description="Calls in flight per teacher URL.")
    shard_size: int = Field(16, ge=1, description="Items per output shard; a finished shard is never redone.")
    limit: int | None = Field(None, ge=1, description="Use only the first N chunks.")

    _no_key = model_validator(mode="before")(refuse_keys)


class Recipe(ConfigModel):
    name: str = Field(min_length=1, pattern=r"^[\w.-]+$")
    output: str | None = Field(
        None,
        description="Output folder, relative to the recipe (default: data/<name> in the current folder).",
    )
    shard_size: int = Field(50_000, ge=1, description="Records per output shard.")
    sources: list[SourceConfig] = Field(min_length=1)
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    decontamination: DecontamConfig = Field(default_factory=DecontamConfig)
    export: ExportConfig = Field(default_factory=ExportConfig)
    distill: DistillConfig = Field(default_factory=DistillConfig)
    synth: SynthConfig = Field(default_factory=SynthConfig)
    review: ReviewConfig = Field(default_factory=ReviewConfig)
    base: Path = Field(Path("."), exclude=True, description="The recipe file's folder.")

    @model_validator(mode="after")
    def _unique_names(self) -> Recipe:
        seen: set[str] = set()
        for k, source in enumerate(self.sources):
            if source.source_name in seen:
                raise ValueError(
                    f"sources[{k}]: two sources are named {source.source_name!r}; give one a `name`"
                )
            seen.add(source.source_name)
        for k, name in enumerate(self.review.required):
            if name not in seen:
                raise ValueError(f"review.required[{k}]: no source is named {name!r}")
        return self

    @property
    def output_dir(self) -> Path:
        return self.resolve(self.output) if self.output else Path("data") / self.name

    @property
    def synth_dir(self) -> Path:
        return self.resolve(self.synth.output) if self.synth.output else self.output_dir / "synth"

    def resolve(self, path: str) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.base / p)

    def benchmark_source(self, task: str) -> str | None:
        """Where a task's benchmark items come from: a resolved path, "hub"/"hf://", HealthBench's
        "official" or a URL, or None (sample)."""
        where = self.decontamination.benchmarks.get(task)
        if (
            where is None
            or where in ("hub", "official")
            or where.startswith(("hf://", "http://", "https://"))
        ):
            return where
        return str(self.resolve(where))


def parse_recipe(data: Any, base: Path, source: str = "recipe") -> Recipe:
    """Validate a recipe; every mistake is reported at once, each naming its field."""
    if not isinstance(data, dict):
        raise ConfigError([("recipe", f"expected a mapping of settings, not {type(data).__name__}")], source)
    return validate(Recipe, {**data, "base": base}, source=source, root="recipe")


def load_recipe(path: Path) -> Recipe:
    """Read a YAML recipe; any mistake is a ConfigError naming the file or the fields."""
    return parse_recipe(read_yaml(path, "recipe"), path.resolve().parent, str(path))
