"""`galen train export`: a run's weights as a Hugging Face folder that galen serve and eval load.

For a LoRA run the adapter in `final/` is merged into the base; a full fine-tune is copied. The
folder gets what serving a thinking model needs:

- `chat_template.jinja`: the template the run trained with (galen's templates carry a
  `galen:family=` marker, so `galen serve --model FOLDER` picks the right think tags);
- `generation_config.json`: the end-of-turn tokens as EOS, and the family's sampling preset
  for thinking (the model card's `thinking-general`: temperature 1.0, top_p 0.95, top_k 20);
- the parts training does not load, carried over from the base unchanged (`galen.train.carry`):
  a vision-language model's vision tower, MTP head and image/video processor configs;
- `README.md`, a model card (`galen.train.card`): hub front matter (licence, base model,
  datasets, tags, eval results) and the recipe, data lineage, limitations and research notice;
- `galen_export.json` (the run, step, base model and data hashes it came from, and the export's
  own weights hash);
- `provenance.json` (`galen.provenance`): the training run it was merged from (with its final
  weights' hash), the corpus manifest, the base model, and every file of the export with its
  sha256. `galen lineage` follows it from an eval result back to the corpus's source files.

`export(RUN)` writes RUN/export (reused while the run is unchanged); `export(MODEL, OUTPUT)`
converts any base galen can load (a GGUF, an embedded name), which gives the "before" model of a
before/after evaluation the same engine and template as the "after" one.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from galen import __version__
from galen.engine.sampling import PRESETS
from galen.errors import BadRequest
from galen.files import weights_sha256
from galen.models.families import get_family
from galen.models.fingerprint import fingerprint, model_input
from galen.models.profile import ModelProfile
from galen.provenance import PROVENANCE, FileRef, config_file, file_input, write_provenance
from galen.train import card
from galen.train.carry import carry_over
from galen.train.config import ModelSpec
from galen.train.model import Base, load_tokenizer, prepare_base
from galen.train.run_folder import RunFolder, is_run_folder

STAMP = "galen_export.json"


def generation_config(model: Any, tokenizer: Any, profile: ModelProfile) -> Any:
    """The model's generation config with every end-of-turn id as EOS, and the family's preset for
    its default mode (thinking-general for thinking families; greedy for Gemma 3, as card 004)."""
    config = model.generation_config
    current = config.eos_token_id
    eos = [current] if isinstance(current, int) else list(current or [])
    if isinstance(tokenizer.eos_token_id, int) and tokenizer.eos_token_id not in eos:
        eos.append(tokenizer.eos_token_id)  # chat tokenizers name their end-of-turn token as EOS
    preset = PRESETS[profile.default_preset(profile.thinks_by_default)]
    config.eos_token_id = eos if len(eos) > 1 else eos[0]
    config.pad_token_id = tokenizer.pad_token_id
    config.do_sample = preset.temperature > 0
    if config.do_sample:
        config.temperature, config.top_p, config.top_k = preset.temperature, preset.top_p, preset.top_k
    else:  # greedy (Gemma with thinking off): sampling fields unset, as transformers requires
        config.temperature = config.top_p = config.top_k = None
    return config


def _model_card(stamp: dict[str, Any], output: Path, profile: ModelProfile, vision: bool) -> str:
    """README.md for the export, checked as the hub would read it (`card.validate`)."""
    hub_id, licence = card.base_origin(stamp.get("base"), stamp.get("base_folder"))
    data = stamp.get("data") or {}
    sources, datasets = card.corpus_sources(data.get("manifest"))
    recipe = stamp.get("recipe") or {}
    facts = card.CardFacts(
        title=Path(stamp["source"]).name if stamp.get("stage") else output.name,
        licence=licence,
        base_model=hub_id,
        relation="finetune" if stamp.get("stage") else None,
        vision=vision,
        thinks=profile.thinks_by_default,
        family=profile.family,
        stage=stamp.get("stage"),
        global_step=stamp.get("global_step") or 0,
        peft=(recipe.get("peft") or {}).get("method"),
        recipe=recipe,
        data=data or None,
        sources=sources,
        datasets=datasets,
        evals=card.eval_summaries([Path(p) for p in stamp.get("evals") or []]),
        usage=f"`galen serve --model {output}` (OpenAI-compatible API); `galen eval run --model {output} "
        "--tasks medqa`; or transformers' `AutoModelForCausalLM.from_pretrained` on this folder.",
    )
    text = card.render(facts)
    card.validate(text)
    return text


def write_export(
    model: Any,
    tokenizer: Any,
    output: Path,
    profile: ModelProfile,
    stamp: dict[str, Any],
    inputs: list[FileRef] | None = None,
    base_folder: Path | None = None,
) -> Path:
    """Save model, tokenizer, template, generation config, model card and provenance, atomically.
    `inputs`: what the export was made from, for provenance.json. `base_folder`: the base model's
    folder, whose untrained parts (vision tower, MTP head, processor configs) are carried over."""
    if output.exists() and not (output / STAMP).is_file() and any(output.iterdir()):
        raise BadRequest("--output", f"{output} exists and is not a galen export; choose another folder")
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}-"))
    tmp.chmod(0o755)  # mkdtemp makes it private; an export is meant to be read by others
    try:
        model.generation_config = generation_config(model, tokenizer, profile)
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        carried = carry_over(Path(base_folder), tmp) if base_folder else []
        template = tokenizer.chat_template
        if isinstance(template, str):
            (tmp / "chat_template.jinja").write_text(template)
            stamp["chat_template_sha256"] = hashlib.sha256(template.encode()).hexdigest()
        stamp = {**stamp, "family": profile.family, "galen_version": __version__}
        stamp["carried_from_base"] = len(carried)
        stamp["weights_sha256"] = weights_sha256(tmp)
        vision = "vision_config" in json.loads((tmp / "config.json").read_text())
        (tmp / "README.md").write_text(_model_card(stamp, output, profile, vision))
        (tmp / STAMP).write_text(json.dumps(stamp, indent=1, default=str) + "\n")
        written = sorted(p for p in tmp.rglob("*") if p.is_file())
        given = config_file(None, source=stamp.get("source"), output=str(output))
        write_provenance(
            tmp, "export", config=given, resolved=stamp, inputs=inputs or [], output_files=written
        )
        if output.exists():
            shutil.rmtree(output)
        tmp.rename(output)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return output


def _run_stamp(run: RunFolder, evals: list[Path] | None = None) -> dict[str, Any]:
    import yaml

    info = run.info()
    recipe = yaml.safe_load(run.recipe_file.read_text()) if run.recipe_file.is_file() else None
    return {
        "source": str(run.path.resolve()),
        "stage": info.get("stage"),
        "global_step": info.get("global_step"),
        "finished": info.get("finished"),
        "base": (info.get("base") or {}).get("spec"),
        "base_folder": (info.get("base") or {}).get("folder"),
        "data": info.get("data"),
        "recipe": recipe,
        "evals": [str(Path(p).resolve()) for p in evals or []],
    }


def _is_current(output: Path, stamp: dict[str, Any]) -> bool:
    file = output / STAMP
    if not file.is_file():
        return False
    old = json.loads(file.read_text())
    return all(old.get(k) == v for k, v in stamp.items())


def export_run(path: Path, output: Path | None = None, evals: list[Path] | None = None) -> Path:
    """Merge a finished run's final weights into `output` (default RUN/export); reused if current.
    `evals`: `galen eval run` folders whose scores go into the model card."""
    import transformers

    run = RunFolder(Path(path))
    info = run.info()
    if info.get("status") != "finished" or not run.final.is_dir():
        raise BadRequest(
            "run",
            f"{run.path} has no final weights (status: {info.get('status', 'none')}); run or resume it first",
        )
    output = output or run.path / "export"
    stamp = _run_stamp(run, evals)
    if _is_current(output, stamp) and (output / PROVENANCE).is_file():
        return output
    tokenizer = transformers.AutoTokenizer.from_pretrained(run.final)
    if (run.final / "adapter_config.json").is_file():
        from peft import PeftModel

        base = transformers.AutoModelForCausalLM.from_pretrained(stamp["base_folder"], dtype="auto")
        model = PeftModel.from_pretrained(base, run.final).merge_and_unload()
    else:
        model = transformers.AutoModelForCausalLM.from_pretrained(run.final, dtype="auto")
    profile = get_family((info.get("base") or {}).get("family") or "chatml")
    base_folder = Path(stamp["base_folder"]) if stamp.get("base_folder") else None
    return write_export(model, tokenizer, output, profile, stamp, run_inputs(run), base_folder)


def run_inputs(run: RunFolder) -> list[FileRef]:
    """An export's inputs: the run (its final weights' hash), its corpus manifest, its base."""
    info, path = run.info(), str(run.path.resolve())
    found = [FileRef(role="run", path=path, sha256=weights_sha256(run.final), folder=path)]
    data = info.get("data") or {}
    if data.get("manifest") and Path(data["manifest"]).is_file():
        manifest = Path(data["manifest"])
        build = str(manifest.parent.resolve()) if (manifest.parent / PROVENANCE).is_file() else None
        found.append(file_input("manifest", manifest, folder=build))
    base = info.get("base") or {}
    if base.get("folder"):
        folder = base["folder"]
        link = base["spec"] if is_run_folder(str(base.get("spec"))) else None
        found.append(FileRef(role="base", path=folder, sha256=weights_sha256(Path(folder)), folder=link))
    return found


def base_for_training(spec: ModelSpec) -> Base:
    """The base of a run: a run folder stands for its merged export (made on first use), so GRPO
    can start from an SFT run; anything else is located as galen serve locates it."""
    if is_run_folder(spec.base):
        return prepare_base(spec, export_run(Path(spec.base)))
    return prepare_base(spec)


def export_model(
    spec: str,
    output: Path,
    chat_template: str | None = None,
    family: str | None = None,
    evals: list[Path] | None = None,
) -> Path:
    """Any model galen can train from, as a served/evaluated folder (no training)."""
    import transformers

    base = prepare_base(ModelSpec(base=spec, chat_template=chat_template, family=family))
    model = transformers.AutoModelForCausalLM.from_pretrained(base.folder, dtype="auto")
    stamp = {
        "source": spec,
        "stage": None,
        "global_step": 0,
        "base": spec,
        "base_folder": str(base.folder),
        "data": None,
        "evals": [str(Path(p).resolve()) for p in evals or []],
    }
    inputs = [model_input(fingerprint(base.source), role="base")]
    return write_export(model, load_tokenizer(base), output, base.profile, stamp, inputs, base.folder)


def export(
    source: str | Path,
    output: Path | None = None,
    chat_template: str | None = None,
    family: str | None = None,
    evals: list[Path] | None = None,
) -> Path:
    """A run folder (merged) or a model spec (converted) -> a Hugging Face folder."""
    if is_run_folder(source):
        if chat_template or family:
            raise BadRequest("--chat-template", "a run exports with the template it trained with")
        return export_run(Path(source), output, evals)
    if output is None:
        raise BadRequest("--output", f"{source} is not a run folder; say where to write the converted model")
    return export_model(str(source), output, chat_template, family, evals)
