"""Keep an export whole: what training does not load, carried over from the base unchanged.

galen trains the language model (`AutoModelForCausalLM`). For a vision-language checkpoint such
as Qwen3.6 that is the text part only: transformers loads neither the vision tower nor the
multi-token-prediction head (`mtp.*`, which it ignores on load), so a merged model saved as it is
would lose both, with the image and video processor configs. `carry_over` puts them back:

- every base tensor the saved model does not hold is copied from the base's safetensors into
  `model-base-only.safetensors` (byte for byte: read and written in their own dtype), and
  `model.safetensors.index.json` maps each tensor to its file;
- the base's `config.json` replaces the text-only one (the architecture is the base's: LoRA and
  SFT change weights, not shapes);
- the base's image and video processor configs are copied (tokenizers do not save them).

A text-only model (SmolLM2) has nothing to carry, and its export is left as saved.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from galen.errors import ModelLoadError

INDEX = "model.safetensors.index.json"
SINGLE = "model.safetensors"
TRAINED = "model-trained.safetensors"
BASE_ONLY = "model-base-only.safetensors"
# Files a processor needs to turn images and video into the model's inputs.
PROCESSOR_FILES = ("preprocessor_config.json", "video_preprocessor_config.json", "processor_config.json")


def tensor_files(folder: Path) -> dict[str, str]:
    """Tensor name -> safetensors file name, for a single-file or sharded checkpoint."""
    from safetensors import safe_open

    index = folder / INDEX
    if index.is_file():
        return dict(json.loads(index.read_text())["weight_map"])
    single = folder / SINGLE
    if not single.is_file():
        return {}
    with safe_open(single, "pt") as f:
        return {name: SINGLE for name in f.keys()}


def _read(folder: Path, names: list[str], files: dict[str, str]) -> dict[str, object]:
    from safetensors import safe_open

    tensors: dict[str, object] = {}
    for file in sorted({files[n] for n in names}):
        with safe_open(folder / file, "pt") as f:
            tensors.update({n: f.get_tensor(n) for n in names if files[n] == file})
    return tensors


def carry_over(base: Path, export: Path) -> list[str]:
    """Add to `export` what `base` has and the trained model lacks; returns the carried tensor
    names (empty for a text-only model)."""
    from safetensors.torch import save_file

    base_files, saved = tensor_files(base), tensor_files(export)
    unknown = sorted(set(saved) - set(base_files))
    if base_files and unknown:
        raise ModelLoadError(f"the trained model has tensors its base lacks ({', '.join(unknown[:3])}, ...)")
    for name in PROCESSOR_FILES:
        if (base / name).is_file() and not (export / name).is_file():
            shutil.copyfile(base / name, export / name)
    missing = sorted(set(base_files) - set(saved))
    if not missing:
        return []
    save_file(_read(base, missing, base_files), export / BASE_ONLY, metadata={"format": "pt"})
    if (export / SINGLE).is_file():
        (export / SINGLE).rename(export / TRAINED)
        saved = {name: TRAINED for name in saved}
    weight_map = {**saved, **{name: BASE_ONLY for name in missing}}
    total = sum((export / f).stat().st_size for f in set(weight_map.values()))
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    (export / INDEX).write_text(json.dumps(index, indent=2) + "\n")
    shutil.copyfile(base / "config.json", export / "config.json")
    return missing
