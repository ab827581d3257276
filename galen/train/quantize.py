"""Q4_K_M for `galen train export --gguf q4_k_m`: llama.cpp's kernels, llama.cpp's mix of types.

llama.cpp makes Q4_K_M with its `llama-quantize` program (`llama_model_quantize` in libllama).
Neither is installable on this project's machines: no PyPI package ships a build of it that runs
on glibc 2.36. The quantization kernels themselves are exported by the llama.cpp that galen
already serves with (`ggml_quantize_chunk` in the `xllamacpp` extension), so galen calls those,
and chooses each tensor's type by the rule llama.cpp documents for Q4_K_M:

- Q4_K for the 2-D weights, and Q6_K for the output projection (the token embedding when the
  output is tied to it) and for `attn_v` and `ffn_down` in the layers that get more bits (the
  first and last eighth of the stack, and every third layer in between); fused QKV gets Q5_K;
- K-quants pack 256 values a block: a row length that is not a multiple of 256 falls back to
  Q5_0 (for Q4_K), Q5_1 (Q5_K) or Q8_0 (Q6_K), and to F16 when it is not a multiple of 32;
- what the converter kept in F32 (norms, biases, SSM state parameters) stays F32, and so does
  the Gated DeltaNet's short convolution (`ssm_conv1d`), which llama.cpp never quantizes.

No importance matrix is used (llama-quantize's default). The result is a valid Q4_K_M file that
llama.cpp loads; it may differ from llama-quantize's in a tensor where llama.cpp has an
architecture-specific exception this rule does not repeat.
"""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFValueType, quants

from galen.models.gguf_meta import open_gguf

Q = GGMLQuantizationType
LLAMA_FTYPE_MOSTLY_Q4_K_M = 15  # llama.cpp's file type number for Q4_K_M
QUANTIZED_FROM = (Q.F16, Q.BF16)  # what the converter wrote for a weight it may quantize
FALLBACK = {Q.Q4_K: Q.Q5_0, Q.Q5_K: Q.Q5_1, Q.Q6_K: Q.Q8_0}
_LAYER = re.compile(r"^blk\.(\d+)\.")


def more_bits(layer: int, layers: int) -> bool:
    """The layers Q4_K_M gives Q6_K in attn_v and ffn_down.

    >>> [i for i in range(16) if more_bits(i, 16)]
    [0, 1, 4, 7, 10, 13, 14, 15]
    """
    eighth = layers // 8
    return layer < eighth or layer >= 7 * layers // 8 or (layer - eighth) % 3 == 2


def fits(qtype: GGMLQuantizationType, row: int) -> GGMLQuantizationType:
    """`qtype`, or its fallback when a row of `row` values does not fill whole blocks.

    >>> fits(Q.Q4_K, 1536).name, fits(Q.Q4_K, 576).name, fits(Q.Q6_K, 576).name, fits(Q.Q4_K, 100).name
    ('Q4_K', 'Q5_0', 'Q8_0', 'F16')
    """
    if row % GGML_QUANT_SIZES[qtype][0] == 0:
        return qtype
    fallback = FALLBACK.get(qtype, Q.F16)
    return fallback if row % GGML_QUANT_SIZES[fallback][0] == 0 else Q.F16


@cache
def _quantize_chunk() -> Any:
    """`ggml_quantize_chunk` from the llama.cpp build inside xllamacpp."""
    import xllamacpp.xllamacpp as ext

    fn = ctypes.CDLL(ext.__file__).ggml_quantize_chunk
    fn.restype = ctypes.c_size_t
    fn.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
                   ctypes.c_int64, ctypes.c_void_p]  # fmt: skip
    return fn


def quantize_rows(weights: np.ndarray, qtype: GGMLQuantizationType) -> np.ndarray:
    """Rows of float32 weights (last axis: one row) as `qtype` blocks, by llama.cpp's kernels."""
    rows = np.ascontiguousarray(weights, dtype=np.float32).reshape(-1, weights.shape[-1])
    if qtype == Q.F16:
        return rows.astype(np.float16).reshape(weights.shape)
    block, size = GGML_QUANT_SIZES[qtype]
    out = np.empty((rows.shape[0], rows.shape[1] // block * size), dtype=np.uint8)
    written = _quantize_chunk()(int(qtype), rows.ctypes.data, out.ctypes.data, 0, rows.shape[0],
                                rows.shape[1], None)  # fmt: skip
    if written != out.nbytes:
        raise RuntimeError(f"ggml_quantize_chunk wrote {written} bytes, expected {out.nbytes}")
    return out.reshape(*weights.shape[:-1], out.shape[-1])


@dataclass(frozen=True)
class Q4KMixer:
    """Picks and makes each tensor's type (see the module docstring); a `rewrite` retype."""

    layers: int
    tied_output: bool

    @classmethod
    def for_file(cls, path: Path) -> Q4KMixer:
        reader = open_gguf(path)
        arch = str(reader.fields["general.architecture"].contents())
        count = reader.fields.get(f"{arch}.block_count")
        names = {t.name for t in reader.tensors}
        return cls(int(count.contents()) if count else 1, "output.weight" not in names)

    def type_for(self, name: str, row: int) -> GGMLQuantizationType:
        layer = _LAYER.match(name)
        if name == "output.weight" or (self.tied_output and name == "token_embd.weight"):
            wanted = Q.Q6_K
        elif layer and name.endswith(("attn_v.weight", "ffn_down.weight")):
            wanted = Q.Q6_K if more_bits(int(layer.group(1)), self.layers) else Q.Q4_K
        elif name.endswith("attn_qkv.weight"):
            wanted = Q.Q5_K
        else:
            wanted = Q.Q4_K
        return fits(wanted, row)

    def __call__(self, tensor: Any) -> tuple[np.ndarray, GGMLQuantizationType] | None:
        if tensor.tensor_type not in QUANTIZED_FROM or len(tensor.shape) < 2 or "ssm_conv1d" in tensor.name:
            return None
        qtype = self.type_for(tensor.name, int(tensor.shape[0]))
        weights = quants.dequantize(tensor.data, tensor.tensor_type)
        return quantize_rows(weights, qtype), qtype


def file_type_keys() -> dict[str, tuple[int, GGUFValueType]]:
    return {"general.file_type": (LLAMA_FTYPE_MOSTLY_Q4_K_M, GGUFValueType.UINT32)}
