"""galen data: an auditable training corpus, with provenance and benchmark decontamination.

from galen.data import load_recipe, build
result = build(load_recipe(Path("recipe.yaml")))      # shards, exports, manifest under result.out

record.py           Record: one training item and where it came from
sources/            one adapter per upstream format (MedQA, MedMCQA, PubMedQA, MedExpQA, AfriMed-QA,
                    HealthSearchQA, LiveQA; generic jsonl, messages, ShareGPT)
recipe.py           Recipe: what to read and how to clean it (YAML fills it in)
dedup.py            exact deduplication on normalised text
near_dedup.py       near duplicates: MinHash LSH (datasketch), every candidate verified
decontam.py         stage 0 (split, id, exact text), then benchmark_index.py (stages 1 and 2)
judged.py           HealthBench and the pairwise vignettes as protected benchmark items
align.py            difflib's matching blocks, computed from seed runs
export.py           SFT and GRPO exports for galen train (the format is documented there)
manifest.py         processing log, output hashes, verify
build.py            the pipeline behind `galen data build`
report.py           `galen data report`
stats.py            tokens (Qwen3.6, Gemma 3), chain-of-thought coverage, the cards' figures
review.py           clinician verdicts: read, checked, applied (review_sample.py: export;
                    review_import.py: import and rebuild)
distill.py          `galen data distill`: chain-of-thought answers kept only when right
shards.py           resumable teacher jobs (distill, synth): whole shards, plan.json
guidelines.py       guideline ingest: documents with provenance, chunks for grounding
generators.py       the synthetic components: prompts/, reply readers, grounding checks
synth_schemas.py    the JSON Schema each generator's reply is constrained to (response_format)
teachers.py         several teacher URLs as one
synth.py            `galen data synth`: guideline QA, exam MCQ, vignettes, resumable
"""

from galen.data.align import Alignment, align
from galen.data.benchmark_index import BenchmarkIndex, BenchmarkItem, Hit
from galen.data.build import BuildResult, build
from galen.data.decontam import DecontamResult, Match, decontaminate, load_benchmarks
from galen.data.dedup import deduplicate
from galen.data.distill import DistillResult, Teacher, distill_item, run_distill
from galen.data.export import grpo_row, sft_row, write_exports
from galen.data.manifest import Verification, verify
from galen.data.recipe import Recipe, load_recipe, parse_recipe
from galen.data.record import Generation, Message, Record
from galen.data.sources import ADAPTERS, get_adapter
from galen.data.synth import SynthResult, run_synth

__all__ = [
    "ADAPTERS",
    "Alignment",
    "BenchmarkIndex",
    "BenchmarkItem",
    "BuildResult",
    "DecontamResult",
    "DistillResult",
    "Generation",
    "Hit",
    "Match",
    "Message",
    "Recipe",
    "Record",
    "SynthResult",
    "Teacher",
    "Verification",
    "align",
    "build",
    "decontaminate",
    "deduplicate",
    "distill_item",
    "get_adapter",
    "grpo_row",
    "load_benchmarks",
    "load_recipe",
    "parse_recipe",
    "run_distill",
    "run_synth",
    "sft_row",
    "verify",
    "write_exports",
]
