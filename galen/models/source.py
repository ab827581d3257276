"""Where weights come from: a GGUF file, a Hugging Face folder (or hub id), an embedded model,
or a remote OpenAI-compatible server. `resolve()` turns what the user typed into a ModelSource.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from galen.errors import ModelLoadError
from galen.models.embedded import DEFAULT_MODEL, EMBEDDED, THINKING_BUDGETS
from galen.models.families import detect_family, get_family
from galen.models.generation import folder_defaults, gguf_defaults
from galen.models.gguf_meta import read_gguf_metadata
from galen.models.profile import ModelProfile

SourceKind = Literal["gguf", "hf", "remote"]


@dataclass(frozen=True)
class ModelSource:
    """A located model and what its files say about it."""

    kind: SourceKind
    location: str
    model_id: str
    profile: ModelProfile
    chat_template: str | None = None
    context_length: int | None = None
    bos_token: str | None = None
    eos_token: str | None = None
    vision: bool = False
    architecture: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # The model's own sampling defaults (galen.models.generation), e.g. {"temperature": 0.0}.
    generation: dict[str, Any] = field(default_factory=dict)
    # Reasoning tokens allowed when a request sets no `thinking_budget` (None: no limit but
    # max_tokens); only embedded models never trained to close a think block have one.
    thinking_budget: int | None = None


def shipped_template(name: str) -> str:
    """A chat template that ships with galen (models/templates/NAME.jinja)."""
    file = name if name.endswith(".jinja") else f"{name}.jinja"
    try:
        return resources.files("galen.models").joinpath("templates").joinpath(file).read_text()
    except FileNotFoundError:
        raise ModelLoadError(f"no chat template named {name!r} ships with galen") from None


def _template_override(chat_template: str | None) -> str | None:
    """`--chat-template` takes a file path or the name of a shipped template."""
    if not chat_template:
        return None
    path = Path(chat_template)
    return path.read_text() if path.is_file() else shipped_template(chat_template)


def _finish(
    kind: SourceKind, location: str, model_id: str, template: str | None, family: str | None, **info: Any
) -> ModelSource:
    profile = get_family(family) if family else detect_family(template, info.get("architecture"))
    if template is None and profile.template_file:
        template = shipped_template(profile.template_file)
    return ModelSource(kind, location, model_id, profile, chat_template=template, **info)


def from_gguf(path: Path, model_id: str | None, template: str | None, family: str | None) -> ModelSource:
    meta = read_gguf_metadata(path)
    arch = meta.get("general.architecture", "")
    # `galen train export --gguf` records the family; a --chat-template given here decides instead.
    return _finish(
        "gguf",
        str(path),
        model_id or path.stem,
        template or meta.get("tokenizer.chat_template"),
        family or (None if template else meta.get("galen.family")),
        context_length=meta.get(f"{arch}.context_length"),
        bos_token=meta.get("tokenizer.ggml.bos_token"),
        eos_token=meta.get("tokenizer.ggml.eos_token"),
        architecture=arch,
        generation=gguf_defaults(meta),
    )


def _hf_template(folder: Path, tok_config: dict[str, Any]) -> str | None:
    jinja = folder / "chat_template.jinja"
    if jinja.exists():
        return jinja.read_text()
    template = tok_config.get("chat_template")
    return template if isinstance(template, str) else None


def _token_text(value: Any) -> str | None:
    return value.get("content") if isinstance(value, dict) else value


def from_hf_folder(
    folder: Path, model_id: str | None, template: str | None, family: str | None
) -> ModelSource:
    config = json.loads((folder / "config.json").read_text())
    tok_file = folder / "tokenizer_config.json"
    tok_config = json.loads(tok_file.read_text()) if tok_file.exists() else {}
    text_config = config.get("text_config", config)
    return _finish(
        "hf",
        str(folder),
        model_id or folder.name,
        template or _hf_template(folder, tok_config),
        family,
        context_length=text_config.get("max_position_embeddings"),
        bos_token=_token_text(tok_config.get("bos_token")),
        eos_token=_token_text(tok_config.get("eos_token")),
        vision="vision_config" in config,
        architecture=config.get("model_type"),
        generation=folder_defaults(folder),
    )


def from_hub(repo_id: str, revision: str | None) -> Path:
    """A hub id resolves to a local snapshot; offline (the default here) only the cache is used."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:
        raise ModelLoadError(
            f"{repo_id!r} is not a local path, and huggingface_hub is not installed"
        ) from exc
    offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false")
    try:
        cache = os.environ.get("HF_HUB_CACHE")  # read now: huggingface_hub reads it once, at import
        return Path(snapshot_download(repo_id, revision=revision, cache_dir=cache, local_files_only=offline))
    except Exception as exc:  # hub errors are many; all mean "not available here"
        raise ModelLoadError(
            f"cannot find {repo_id!r} locally or on the Hugging Face hub ({type(exc).__name__}); "
            "pass a local GGUF file or folder with --model"
        ) from exc


def resolve(
    spec: str | None = None,
    *,
    model_id: str | None = None,
    chat_template: str | None = None,
    family: str | None = None,
    revision: str | None = None,
) -> ModelSource:
    """Locate a model: embedded name, GGUF file, HF folder, hub id, or http(s) URL of a server."""
    spec = spec or DEFAULT_MODEL
    template = _template_override(chat_template)
    if spec.startswith(("http://", "https://")):
        # A server publishes no template: the family comes from --chat-template or --family.
        return _finish(
            "remote", spec.rstrip("/"), model_id or spec, template, family or (None if template else "chatml")
        )
    if spec in EMBEDDED:
        source = resolve(
            str(EMBEDDED[spec]()), model_id=model_id or spec, chat_template=chat_template, family=family
        )
        # The default budget only means something where the template opens a think block.
        budget = THINKING_BUDGETS.get(spec) if source.profile.supports_thinking else None
        return replace(source, thinking_budget=budget)
    path = Path(spec).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return from_gguf(path, model_id, template, family)
    if path.is_dir() and (path / "config.json").exists():
        return from_hf_folder(path, model_id, template, family)
    if path.exists():
        raise ModelLoadError(f"{spec}: expected a .gguf file or a folder with config.json")
    if spec.count("/") == 1 and not spec.startswith((".", "/")):
        return from_hf_folder(from_hub(spec, revision), model_id or spec, template, family)
    raise ModelLoadError(
        f"model {spec!r} not found: give a .gguf file, a Hugging Face folder, a hub id, "
        f"an http(s) URL, or one of the embedded models ({', '.join(EMBEDDED)})"
    )
