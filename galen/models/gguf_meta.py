"""Read the key-value metadata of a GGUF file without touching its tensors, and open a whole
GGUF file quickly.

`gguf.GGUFReader` maps every tensor and parses the whole vocabulary, which takes seconds even
for a 135M model; serving only needs a handful of keys (architecture, context length, chat
template, special tokens), so `read_gguf_metadata` walks the header and skips array values.
`open_gguf` is GGUFReader with array values read in one pass (see `_ArraysReader`), for the
code that needs the tensors and every key (`galen.models.requantize.rewrite`).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from gguf import GGUFReader, GGUFValueType

from galen.errors import ModelLoadError

_SCALARS: dict[GGUFValueType, str] = {
    GGUFValueType.UINT8: "<B",
    GGUFValueType.INT8: "<b",
    GGUFValueType.UINT16: "<H",
    GGUFValueType.INT16: "<h",
    GGUFValueType.UINT32: "<I",
    GGUFValueType.INT32: "<i",
    GGUFValueType.FLOAT32: "<f",
    GGUFValueType.BOOL: "<?",
    GGUFValueType.UINT64: "<Q",
    GGUFValueType.INT64: "<q",
    GGUFValueType.FLOAT64: "<d",
}


def _read(f: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize(fmt)
    data = f.read(size)
    if len(data) != size:
        raise ValueError("file ends inside the metadata")
    return struct.unpack(fmt, data)[0]


def _read_string(f: BinaryIO) -> str:
    length = _read(f, "<Q")
    return f.read(length).decode("utf-8", errors="replace")


def _read_value(f: BinaryIO, vtype: GGUFValueType) -> Any:
    if vtype == GGUFValueType.STRING:
        return _read_string(f)
    if vtype == GGUFValueType.ARRAY:
        return _skip_array(f)
    return _read(f, _SCALARS[vtype])


def _skip_array(f: BinaryIO) -> int:
    """Skip an array value and return its length (vocabularies are arrays; we only need sizes)."""
    item_type = GGUFValueType(_read(f, "<I"))
    count = _read(f, "<Q")
    if item_type == GGUFValueType.STRING:
        for _ in range(count):
            f.seek(_read(f, "<Q"), 1)
    elif item_type == GGUFValueType.ARRAY:
        for _ in range(count):
            _skip_array(f)
    else:
        f.seek(count * struct.calcsize(_SCALARS[item_type]), 1)
    return count


def _add_special_token_texts(f: BinaryIO, tokens_at: int, meta: dict[str, Any]) -> None:
    """Look up the text of BOS/EOS (templates need `bos_token`, engines need EOS strings)."""
    wanted = {
        name: meta[f"tokenizer.ggml.{name}_token_id"]
        for name in ("bos", "eos")
        if f"tokenizer.ggml.{name}_token_id" in meta
    }
    if not wanted:
        return
    f.seek(tokens_at + 8)  # skip the value type and the item type
    count = _read(f, "<Q")
    last = min(max(wanted.values()), count - 1)
    texts = []
    for _ in range(last + 1):
        texts.append(_read_string(f))
    for name, index in wanted.items():
        if index < len(texts):
            meta[f"tokenizer.ggml.{name}_token"] = texts[index]


def read_gguf_metadata(path: str | Path) -> dict[str, Any]:
    """Scalar and string metadata of a GGUF file; array values are replaced by their length."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            if f.read(4) != b"GGUF":
                raise ValueError("not a GGUF file (bad magic number)")
            version = _read(f, "<I")
            if version < 2:
                raise ValueError(f"GGUF version {version} is too old")
            _read(f, "<Q")  # tensor count
            n_kv = _read(f, "<Q")
            meta: dict[str, Any] = {}
            tokens_at = None
            for _ in range(n_kv):
                key = _read_string(f)
                if key == "tokenizer.ggml.tokens":
                    tokens_at = f.tell()
                meta[key] = _read_value(f, GGUFValueType(_read(f, "<I")))
            if tokens_at is not None:
                _add_special_token_texts(f, tokens_at, meta)
            return meta
    except (OSError, ValueError, KeyError) as exc:
        raise ModelLoadError(f"cannot read GGUF metadata from {path}: {exc}") from exc


class _ArraysReader(GGUFReader):
    """GGUFReader, reading each array value in one pass instead of element by element.

    GGUFReader makes two numpy views for every element of an array (and calls itself for each):
    about 10 s for the 248K-token vocabularies of Qwen and Gemma (tokens, merges, token types),
    each time a file is opened. Here a numeric array is one view, and the elements of a string
    array are memoryview slices found in one loop. `ReaderField.contents()` returns the same
    values; what differs is the layout of `parts` (a string's length is not a part) and `data`
    (one index for a numeric array's values), which only GGUFReader's own parsing uses.
    """

    def _get_field_parts(
        self, orig_offs: int, raw_type: int
    ) -> tuple[int, list[Any], list[int], list[GGUFValueType]]:
        if raw_type != GGUFValueType.ARRAY or self.byte_order != "I":
            return super()._get_field_parts(orig_offs, raw_type)
        raw_itype, alen = self._get(orig_offs, np.uint32), self._get(orig_offs + 4, np.uint64)
        itype, count, offs = GGUFValueType(int(raw_itype[0])), int(alen[0]), orig_offs + 12
        types = [GGUFValueType.ARRAY, itype]
        if itype == GGUFValueType.STRING and count:
            buffer, parts = memoryview(self.data), [raw_itype, alen]
            for _ in range(count):
                (length,) = struct.unpack_from("<Q", buffer, offs)
                parts.append(buffer[offs + 8 : offs + 8 + length])
                offs += 8 + length
            return offs - orig_offs, parts, list(range(2, 2 + count)), types
        nptype = self.gguf_scalar_to_np.get(itype)
        if nptype is None or not count:  # nested arrays, empty arrays: GGUFReader's own way
            return super()._get_field_parts(orig_offs, raw_type)
        values = self._get(offs, nptype, count)
        return offs + int(values.nbytes) - orig_offs, [raw_itype, alen, values], [2], types


def open_gguf(path: str | Path) -> GGUFReader:
    """A GGUFReader of `path` (its tensors memory-mapped), whose array values read in one pass."""
    return _ArraysReader(str(path))
