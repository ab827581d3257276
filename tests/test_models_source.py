"""Where weights come from: embedded names, GGUF files, HF folders, hub ids and URLs."""

from __future__ import annotations

import json

import pytest

from galen.errors import ModelLoadError
from galen.models.embedded import smollm2_path
from galen.models.families import FAMILIES, detect_family
from galen.models.gguf_meta import open_gguf, read_gguf_metadata
from galen.models.source import resolve


def test_gguf_metadata_reads_keys_and_special_tokens_fast():
    meta = read_gguf_metadata(smollm2_path())
    assert meta["general.architecture"] == "llama"
    assert meta["llama.context_length"] == 8192
    assert meta["tokenizer.ggml.eos_token"] == "<|im_end|>"
    assert meta["tokenizer.ggml.tokens"] == 49152  # arrays are skipped, their length kept


def test_open_gguf_and_rewrite_read_and_write_what_gguf_does(tmp_path):
    """open_gguf reads array values in one pass and rewrite packs them in one go (gguf's reader
    and writer go element by element: ~20 s for Gemma's 262K-entry vocabulary). On a file with
    every kind of value: the same keys, types, values and tensors as gguf.GGUFReader, and a
    rewrite byte-identical to one through gguf's own reader and writer."""
    import numpy as np
    from gguf import GGUFReader, GGUFValueType, GGUFWriter

    from galen.models import requantize

    source = tmp_path / "all.gguf"
    writer = GGUFWriter(source, "llama")
    writer.add_array("tokenizer.ggml.tokens", ["<s>", "é", "▁the", "", "🦙"])
    writer.add_array("tokenizer.ggml.token_type", [3, 1, 1, 1, 6])
    writer.add_array("tokenizer.ggml.scores", [0.0, -1.5, -2.25, 0.5, 3.0])
    writer.add_key_value("x.flags", [True, False, True], GGUFValueType.ARRAY, sub_type=GGUFValueType.BOOL)
    writer.add_key_value("x.nested", [[1, 2], [3]], GGUFValueType.ARRAY, sub_type=GGUFValueType.ARRAY)
    writer.add_uint32("llama.block_count", 2)
    writer.add_string("general.name", "tiny")
    writer.add_tensor("token_embd.weight", np.arange(64, dtype=np.float32).reshape(8, 8))
    writer.add_tensor("output_norm.weight", np.ones(8, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    slow, fast = GGUFReader(str(source)), open_gguf(source)
    assert list(fast.fields) == list(slow.fields)
    for key, field in slow.fields.items():
        assert (fast.fields[key].types, fast.fields[key].contents()) == (field.types, field.contents()), key
    assert fast.fields["tokenizer.ggml.tokens"].contents() == ["<s>", "é", "▁the", "", "🦙"]
    assert [(t.name, t.tensor_type, t.data_offset, t.data.tolist()) for t in fast.tensors] == [
        (t.name, t.tensor_type, t.data_offset, t.data.tolist()) for t in slow.tensors
    ]

    extra = {"galen.family": ("chatml", GGUFValueType.STRING)}
    requantize.rewrite(source, tmp_path / "fast.gguf", None, extra, drop=("general.name",))
    with pytest.MonkeyPatch.context() as mp:  # the same rewrite through gguf's own reader and writer
        mp.setattr(requantize, "open_gguf", lambda path: GGUFReader(str(path)))
        mp.setattr(requantize, "_ArraysWriter", GGUFWriter)
        requantize.rewrite(source, tmp_path / "slow.gguf", None, extra, drop=("general.name",))
    assert (tmp_path / "fast.gguf").read_bytes() == (tmp_path / "slow.gguf").read_bytes()


def test_not_a_gguf_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"NOPE" + b"\0" * 32)
    with pytest.raises(ModelLoadError, match="not a GGUF file"):
        resolve(str(bad))


def test_embedded_default_is_smollm2():
    source = resolve()
    assert source.kind == "gguf" and source.model_id == "smollm2"
    assert source.context_length == 8192 and source.chat_template


def test_chat_template_override_by_name_picks_the_family():
    assert resolve("smollm2", chat_template="chatml_think").profile.family == "chatml-think"
    assert resolve("smollm2", family="qwen3").profile.family == "qwen3"


def test_hf_folder_reads_template_context_and_vision(tmp_path):
    (tmp_path / "config.json").write_text(
        json.dumps(
            {"model_type": "qwen3_5", "vision_config": {}, "text_config": {"max_position_embeddings": 262144}}
        )
    )
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"eos_token": "<|im_end|>"}))
    (tmp_path / "chat_template.jinja").write_text("{{ '<function=' }}")
    source = resolve(str(tmp_path))
    assert source.kind == "hf" and source.vision and source.context_length == 262144
    assert source.profile.family == "qwen3.6" and source.eos_token == "<|im_end|>"


def test_hub_id_uses_the_local_cache_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ModelLoadError, match="cannot find 'EpistemeAI/Reasoning-Medical-27B'"):
        resolve("EpistemeAI/Reasoning-Medical-27B")
    snapshot = tmp_path / "models--org--tiny" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text(
        json.dumps({"model_type": "llama", "max_position_embeddings": 4096})
    )
    refs = tmp_path / "models--org--tiny" / "refs"
    refs.mkdir()
    (refs / "main").write_text("abc123")
    source = resolve("org/tiny")
    assert source.kind == "hf" and source.model_id == "org/tiny" and source.context_length == 4096


def test_unknown_model_names_the_choices():
    with pytest.raises(ModelLoadError, match="smollm2"):
        resolve("no-such-model")


def test_family_detection():
    assert detect_family("<start_of_turn>").family == "gemma3"
    assert detect_family("<tool_call><function=x>").family == "qwen3.6"
    assert detect_family("<think> <tool_call>").family == "qwen3"
    assert detect_family("<|im_start|>").family == "chatml"
    assert {"qwen3.6", "gemma3", "chatml", "chatml-think"} <= set(FAMILIES)
