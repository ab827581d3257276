"""Rewrite a GGUF file: its tensors retyped, its metadata extended; and the embedded SmolLM2's
Q4_1 tensors as Q8_0, so llama.cpp can batch them.

The prebuilt llama.cpp repacks Q8_0 (and Q4_0) weights into layouts its AVX2 matrix kernels
multiply for several sequences at once, but not Q4_1, the type the embedded SmolLM2 ships in.
Q8_0 holds every Q4_1 weight to within 8-bit rounding, so the model is the same for practical
purposes, and concurrent decoding is about 1.3x faster (docs/PERFORMANCE.md).

`rewrite` is the one way galen rewrites a GGUF: `batched_copy` here, and `galen train export
--gguf` (galen.train.gguf), which adds galen's keys and makes Q4_K_M, use it.
"""

from __future__ import annotations

import os
import struct
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGMLQuantizationType, GGUFEndian, GGUFReader, GGUFValueType, GGUFWriter, quants
from gguf.gguf_reader import ReaderTensor

from galen.errors import ModelLoadError
from galen.files import cache_dir
from galen.models.gguf_meta import open_gguf

SLOW_TYPES = (GGMLQuantizationType.Q4_1,)
TARGET = GGMLQuantizationType.Q8_0

# A tensor as written: its data (raw bytes for quantized types) and its type.
Retyped = tuple[np.ndarray, GGMLQuantizationType]
Retype = Callable[[ReaderTensor], Retyped | None]  # None: copy the tensor as it is


# Each numeric GGUF type as little-endian numpy, for packing an array in one go.
_NUMPY = {vtype: np.dtype(t).newbyteorder("<") for vtype, t in GGUFReader.gguf_scalar_to_np.items()}


class _ArraysWriter(GGUFWriter):
    """GGUFWriter, packing an array value in one go: GGUFWriter packs it element by element
    (seconds for a 248K-token vocabulary's tokens, merges and types). The bytes are the same."""

    def _pack_val(
        self, val: Any, vtype: GGUFValueType, add_vtype: bool, sub_type: GGUFValueType | None = None
    ) -> bytes:
        simple = vtype == GGUFValueType.ARRAY and val and self.endianess == GGUFEndian.LITTLE
        if not simple or not (sub_type == GGUFValueType.STRING or sub_type in _NUMPY):
            return super()._pack_val(val, vtype, add_vtype, sub_type)
        head = (struct.pack("<I", vtype) if add_vtype else b"") + struct.pack("<IQ", sub_type, len(val))
        if sub_type == GGUFValueType.STRING:
            encoded = [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in val]
            return head + b"".join(struct.pack("<Q", len(e)) + e for e in encoded)
        return head + np.asarray(val, dtype=_NUMPY[sub_type]).tobytes()


def _copy_metadata(reader: GGUFReader, writer: GGUFWriter, replaced: set[str]) -> None:
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture" or key in replaced:
            continue  # written by GGUFWriter itself, or replaced by the caller
        vtype = field.types[0]
        sub_type = field.types[-1] if vtype == GGUFValueType.ARRAY else None
        writer.add_key_value(key, field.contents(), vtype, sub_type=sub_type)


def _copy_tensors(reader: GGUFReader, writer: GGUFWriter, retype: Retype | None) -> None:
    for tensor in reader.tensors:
        new = retype(tensor) if retype else None
        data, qtype = new if new is not None else (tensor.data, tensor.tensor_type)
        writer.add_tensor(tensor.name, data, raw_dtype=qtype)


def rewrite(
    source: Path,
    target: Path,
    retype: Retype | None = None,
    metadata: Mapping[str, tuple[Any, GGUFValueType]] | None = None,
    drop: tuple[str, ...] = (),
) -> Path:
    """Write `target` from `source` (atomically: other processes never see half a file), each
    tensor through `retype`, with `metadata` keys set or replaced and `drop` keys left out."""
    reader = open_gguf(source)  # GGUFReader, with the vocabulary read in one pass
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".gguf.tmp")
    os.close(fd)
    extra = dict(metadata or {})
    try:
        writer = _ArraysWriter(tmp, str(reader.fields["general.architecture"].contents()))
        _copy_metadata(reader, writer, set(extra) | set(drop))
        for key, (value, vtype) in extra.items():
            writer.add_key_value(key, value, vtype)
        _copy_tensors(reader, writer, retype)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a model file is meant to be read by others
        os.replace(tmp, target)
    except Exception as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ModelLoadError(f"could not rewrite {source}: {exc}") from exc
    return target


def _q4_1_as_q8_0(tensor: ReaderTensor) -> Retyped | None:
    if tensor.tensor_type not in SLOW_TYPES:
        return None
    weights = quants.dequantize(tensor.data, tensor.tensor_type)
    return quants.quantize(weights, TARGET), TARGET


def requantize(source: Path, target: Path) -> Path:
    """`source` with its Q4_1 tensors as Q8_0 (`general.file_type` is dropped: no longer true)."""
    return rewrite(source, target, _q4_1_as_q8_0, drop=("general.file_type",))


def batched_copy(source: Path) -> Path:
    """A cached Q8_0 copy of `source` (built on first use, a few seconds for 135M weights)."""
    stat = source.stat()
    target = cache_dir() / f"{source.stem}.q8_0-{stat.st_size}.gguf"
    return target if target.exists() else requantize(source, target)
