"""Sampling defaults come from the model's own files first, then from its family's profile."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from galen.engine.chat import ChatEngine
from galen.engine.sampling import PRESETS
from galen.models.generation import folder_defaults, gguf_defaults
from galen.models.source import resolve


def test_generation_config_fields_become_defaults(tmp_path: Path):
    (tmp_path / "generation_config.json").write_text(json.dumps({"do_sample": False, "max_new_tokens": 512}))
    assert folder_defaults(tmp_path) == {"temperature": 0.0, "max_tokens": 512}
    (tmp_path / "generation_config.json").write_text(
        json.dumps({"temperature": 0.6, "top_k": 20, "eos_token_id": 1})
    )
    assert folder_defaults(tmp_path) == {"temperature": 0.6, "top_k": 20}
    (tmp_path / "generation_config.json").write_text("{not json")
    assert folder_defaults(tmp_path) == {}
    assert gguf_defaults({"general.sampling.temp": 0.0, "general.sampling.top_k": 40}) == {
        "temperature": 0.0,
        "top_k": 40,
    }


def test_a_folder_source_reads_its_generation_config(tmp_path: Path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (folder / "generation_config.json").write_text(json.dumps({"do_sample": True, "temperature": 0.3}))
    assert resolve(str(folder), chat_template="chatml_think").generation == {"temperature": 0.3}


def test_the_models_defaults_apply_in_its_default_mode_only(smollm2_engine):
    source = resolve("smollm2", chat_template="chatml_think")  # thinks by default
    own = dataclasses.replace(source, generation={"temperature": 0.2, "max_tokens": 64})
    chat = ChatEngine(smollm2_engine, own)
    thinking = chat.default_sampling(True)
    assert thinking.temperature == 0.2 and thinking.max_tokens == 64 and thinking.top_k == 20  # rest: preset
    assert chat.default_sampling(False) == PRESETS["instruct"]  # another mode: the family's preset
    assert ChatEngine(smollm2_engine, source).default_sampling(True) == PRESETS["thinking-general"]


def test_gemma_decodes_greedily_when_it_does_not_think(smollm2_engine):
    gemma = resolve("smollm2", chat_template="gemma3")  # the Gemma 3 profile, on any engine
    assert gemma.profile.family == "gemma3" and not gemma.profile.thinks_by_default
    chat = ChatEngine(smollm2_engine, gemma)
    assert chat.default_sampling(False).temperature == 0.0
    assert chat.default_sampling(True) == PRESETS["thinking-precise"]
