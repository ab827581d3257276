"""The model card of an export: README.md with the Hugging Face hub's YAML front matter and a body
that says how the model was made, from what, how it scored, and what it must not be used for.

Front matter (the keys the hub and users read, as in the cards galen is built from):

    license: apache-2.0            # the base model's terms (its own card, or galen's table)
    base_model: HuggingFaceTB/SmolLM2-135M-Instruct
    base_model_relation: finetune  # quantized for a GGUF of an export
    datasets: [...]                # hub datasets the corpus manifest names (hf://ID@REV)
    language: [en]
    library_name: transformers     # gguf for a GGUF export
    pipeline_tag: text-generation  # image-text-to-text for a vision-language model
    tags: [medical, galen, sft, lora, reasoning, ...]
    model-index: [...]             # `--eval` results, written by huggingface_hub's EvalResult

The card is built with `huggingface_hub.ModelCard` / `ModelCardData` and checked by `validate`
offline (no hub call): the front matter parses back to the same data, every key the hub reads
for the model page is present and well typed, and `base_model_relation` is one the hub knows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from galen import RESEARCH_NOTICE, __version__
from galen.errors import BadRequest

# The relations the hub accepts (huggingface.co/docs/hub/model-cards#specifying-a-base-model).
RELATIONS = ("adapter", "merge", "quantized", "finetune")
REQUIRED = ("license", "language", "library_name", "pipeline_tag", "tags")

LIMITATIONS = (
    "Trained on a small, exam-style corpus: it answers in a format, it does not know medicine. "
    "Scores on a handful of items carry wide confidence intervals and say nothing about safety. "
    "It can be confidently wrong, can omit contraindications and can repeat biases of its data. "
    "It has not been evaluated by clinicians, for any population, in any setting of care."
)


@dataclass
class CardFacts:
    """What a card states, gathered by `galen.train.export` from the run and its inputs."""

    title: str
    licence: str | None
    base_model: str | None  # a hub id, when the base has one
    relation: str | None = "finetune"  # None: an untrained conversion of the base itself
    library: str = "transformers"
    vision: bool = False
    thinks: bool = False
    family: str = "chatml"
    stage: str | None = None  # sft | grpo | None (a converted, untrained model)
    global_step: int = 0
    peft: str | None = None
    recipe: dict[str, Any] | None = None
    data: dict[str, Any] | None = None  # run.json's data: file, sha256, rows, manifest_sha256
    sources: list[dict[str, Any]] = field(default_factory=list)  # name, licence, sha256
    datasets: list[str] = field(default_factory=list)
    evals: list[dict[str, Any]] = field(default_factory=list)  # task, metric, value, n, ci_low, ci_high
    extra_tags: list[str] = field(default_factory=list)
    usage: str = ""


def tags(facts: CardFacts) -> list[str]:
    found = ["medical", "galen", "research-only", facts.family]
    found += [facts.stage] if facts.stage else ["base-model-conversion"]
    found += [facts.peft] if facts.peft else []
    found += ["reasoning"] if facts.thinks else []
    found += ["vision"] if facts.vision else []
    return list(dict.fromkeys(found + facts.extra_tags))


def card_data(facts: CardFacts) -> Any:
    """The front matter as huggingface_hub's ModelCardData (eval results become `model-index`)."""
    from huggingface_hub import EvalResult, ModelCardData

    results = [
        EvalResult(
            task_type="question-answering",
            dataset_type=e["task"],
            dataset_name=e["task"],
            metric_type=e["metric"],
            metric_value=round(float(e["value"]), 4),
        )
        for e in facts.evals
    ]
    extra: dict[str, Any] = (
        {"base_model_relation": facts.relation} if facts.base_model and facts.relation else {}
    )
    return ModelCardData(
        license=facts.licence or "other",
        license_name=None if facts.licence else "see-base-model",
        base_model=facts.base_model,
        datasets=facts.datasets or None,
        language=["en"],
        library_name=facts.library,
        pipeline_tag="image-text-to-text" if facts.vision else "text-generation",
        tags=tags(facts),
        eval_results=results or None,
        model_name=facts.title if results else None,
        **extra,
    )


def _recipe_lines(facts: CardFacts) -> list[str]:
    if not facts.stage:
        return [
            "Not trained: the base model converted to galen's export format, for a before/after "
            "comparison on the same engine and template."
        ]
    lines = [f"- stage: {facts.stage.upper()}, {facts.global_step} optimizer steps, galen {__version__}"]
    recipe = facts.recipe or {}
    peft = recipe.get("peft") or {}
    if peft:
        lines.append(
            f"- adapter: {peft.get('method')} r={peft.get('r')} alpha={peft.get('alpha')} on "
            f"`{peft.get('target_modules')}`, merged into the base for this export"
        )
    trl = recipe.get("trl") or {}
    keys = (
        "learning_rate",
        "per_device_train_batch_size",
        "gradient_accumulation_steps",
        "max_length",
        "num_generations",
        "max_completion_length",
        "beta",
        "seed",
    )
    shown = ", ".join(f"{k}={trl[k]}" for k in keys if k in trl)
    if shown:
        lines.append(f"- TRL settings: {shown}")
    if recipe.get("rewards"):
        lines.append(
            "- rewards: " + ", ".join(f"{r['name']} x{r.get('weight', 1.0)}" for r in recipe["rewards"])
        )
    lines.append(
        "- the whole resolved recipe is in the run folder's `recipe.yaml`; `provenance.json` "
        "beside this card lists every input with its sha256"
    )
    return lines


def _data_lines(facts: CardFacts) -> list[str]:
    data = facts.data or {}
    if not data:
        return ["No training data (an untrained conversion)."]
    lines = [
        f"- training file: `{Path(str(data.get('file'))).name}`, {data.get('rows')} rows, "
        f"sha256 `{data.get('sha256')}`"
    ]
    if data.get("manifest_sha256"):
        lines.append(
            f"- corpus manifest sha256 `{data['manifest_sha256']}` (`galen lineage` follows it "
            "back to every source file)"
        )
    for source in facts.sources:
        licence = source.get("licence") or "licence not recorded"
        digest = f", sha256 `{source['sha256']}`" if source.get("sha256") else ""
        lines.append(f"- source `{source['name']}` ({licence}{digest})")
    return lines


def _eval_lines(facts: CardFacts) -> list[str]:
    if not facts.evals:
        return [
            "Not evaluated with this card: run `galen eval run --model THIS_FOLDER --tasks medqa` "
            "and export again with `--eval RESULTS_FOLDER`."
        ]
    lines = ["| task | metric | value | 95% CI | n |", "|---|---|---:|---|---:|"]
    for e in facts.evals:
        ci = f"{e['ci_low']:.3f}-{e['ci_high']:.3f}" if e.get("ci_low") is not None else ""
        lines.append(f"| {e['task']} | {e['metric']} | {e['value']:.3f} | {ci} | {e.get('n', '')} |")
    return lines


def render(facts: CardFacts) -> str:
    """README.md: front matter, then the body."""
    from huggingface_hub import ModelCard

    base = f"`{facts.base_model}`" if facts.base_model else "a local model"
    body = [
        f"# {facts.title}",
        f"> {RESEARCH_NOTICE}",
        f"A {facts.family} model made with galen from {base}"
        + (f" ({facts.relation})" if facts.relation else " (converted, not trained)")
        + ".",
        "## Training recipe",
        *_recipe_lines(facts),
        "## Data lineage",
        *_data_lines(facts),
        "## Evaluation",
        *_eval_lines(facts),
        "## Usage",
        facts.usage,
        "## Limitations",
        LIMITATIONS,
        "## Intended use",
        "Research on medical language models, auditing and reproduction only. Not validated for "
        "clinical use, patient advice or any decision about care.",
        "## Licence",
        f"`{facts.licence}`, the base model's terms."
        if facts.licence
        else "The base model's licence was not recorded: check its terms before any use or release.",
    ]
    content = "\n\n".join(body) + "\n"
    return str(ModelCard(f"---\n{card_data(facts).to_yaml()}\n---\n\n{content}"))


def validate(text: str) -> dict[str, Any]:
    """Parse a card as the hub would and check its front matter (offline); returns the data.
    Raises BadRequest naming the key at fault."""
    from huggingface_hub import ModelCard

    card = ModelCard(text, ignore_metadata_errors=False)
    data = card.data.to_dict()
    head = yaml.safe_load(text.split("---")[1])
    if head != data:
        raise BadRequest("model card", "front matter does not round-trip through huggingface_hub")
    for key in REQUIRED:
        if not data.get(key):
            raise BadRequest(f"model card {key}", "missing")
    if data.get("base_model_relation") is not None and data["base_model_relation"] not in RELATIONS:
        raise BadRequest("model card base_model_relation", f"must be one of {', '.join(RELATIONS)}")
    if data.get("license") == "other" and not data.get("license_name"):
        raise BadRequest("model card license_name", "needed when license is other")
    if not isinstance(data["tags"], list) or not all(isinstance(t, str) for t in data["tags"]):
        raise BadRequest("model card tags", "must be a list of strings")
    if RESEARCH_NOTICE not in card.text:
        raise BadRequest("model card", "the research-use notice is missing")
    return data


def eval_summaries(folders: list[Path]) -> list[dict[str, Any]]:
    """Scores from `galen eval run` output folders (results.json), for the card."""
    found = []
    for folder in folders:
        path = Path(folder) / "results.json"
        if not path.is_file():
            raise BadRequest("--eval", f"{folder} has no results.json; give a `galen eval run` output folder")
        for task, score in json.loads(path.read_text()).get("tasks", {}).items():
            found.append(
                {"task": task, **{k: score.get(k) for k in ("metric", "value", "n", "ci_low", "ci_high")}}
            )
    return found


def front_matter(folder: Path) -> dict[str, Any]:
    """The YAML front matter of a folder's README.md ({} when there is none)."""
    readme = Path(folder) / "README.md"
    if not readme.is_file():
        return {}
    text = readme.read_text(encoding="utf-8", errors="replace")
    if not text.startswith("---"):
        return {}
    try:
        data = yaml.safe_load(text.split("---", 2)[1])
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def base_origin(spec: str | None, folder: str | Path | None) -> tuple[str | None, str | None]:
    """(hub id, licence) of a base model: galen's table for an embedded model; else its own card
    (a hub snapshot's README, or a galen export's, which names the original base); else a hub id
    as given, licence unknown."""
    from galen.models.embedded import ORIGINS

    if spec in ORIGINS:
        return ORIGINS[spec]
    card = front_matter(Path(folder)) if folder else {}
    hub_id = card.get("base_model") if (Path(folder or "") / "galen_export.json").is_file() else None
    if hub_id is None and spec and spec.count("/") == 1 and not Path(spec).exists():
        hub_id = spec
    base = hub_id[0] if isinstance(hub_id, list) else hub_id
    return base, card.get("license")


def corpus_sources(manifest: str | None) -> tuple[list[dict[str, Any]], list[str]]:
    """(sources, hub dataset ids) of the corpus a run trained on: a data build's provenance.json
    lists its source files with licence and sha256; galen's sample manifest names its sources."""
    from galen.provenance import read_provenance

    if not manifest or not Path(manifest).is_file():
        return [], []
    build = Path(manifest).parent
    record = read_provenance(build)
    if record is not None:
        found = [i for i in record.inputs if i.role == "source"]
        sources = [
            {"name": i.ref or Path(str(i.path)).name, "licence": i.licence, "sha256": i.sha256} for i in found
        ]
        hub = [i.ref[5:].split("@")[0] for i in found if i.ref and i.ref.startswith("hf://")]
        return sources, list(dict.fromkeys(hub))
    declared = json.loads(Path(manifest).read_text()).get("sources") or {}
    sources = [
        {"name": name, "licence": info.get("license") or info.get("licence")}
        for name, info in declared.items()
    ]
    return sources, [name for name in declared if name.count("/") == 1]
