"""Exports of the other families at toy size: Gemma 3 (card 004's snippet, its GGUF) and Qwen3's GGUF.

Gemma-3-27B-MeditronFO's card loads the model with `AutoModelForCausalLM.from_pretrained(...,
torch_dtype=torch.bfloat16, device_map="auto")` and decodes greedily for 512 tokens. Here the
model is a random-weight Gemma 3 (`Gemma3ForCausalLM`, 2 layers, hidden 64) with the real Gemma 3
tokenizer (read from the embedded gemma3-270m GGUF), exported by `galen train export` with
galen's Gemma 3 template; the snippet runs unchanged but for the model id, in its own Python
process on the CPU. The same export, and one of a random Qwen3 (`Qwen3ForCausalLM`, the real
Qwen tokenizer), go through `--gguf q8_0` and run on llama.cpp (architectures gemma3 and qwen3).
"""

# ruff: noqa: E501 (the card's snippet is quoted as published, long lines included)
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from galen.cli.main import app

# The card's snippet as published; only `model_id` is replaced.
CARD_SNIPPET = '''
from transformers import AutoModelForCausalLM, AutoTokenizer
import torch

model_id = "EPFLiGHT/Gemma-3-27B-MeditronFO"

tokenizer = AutoTokenizer.from_pretrained(model_id)
model = AutoModelForCausalLM.from_pretrained(
    model_id,
    torch_dtype=torch.bfloat16,
    device_map="auto",
)

messages = [
    {"role": "user", "content": "A 62-year-old woman presents with a three-day history of dyspnea on exertion and a productive cough. What is the differential diagnosis?"},
]

inputs = tokenizer.apply_chat_template(
    messages,
    add_generation_prompt=True,
    tokenize=True,
    return_dict=True,
    return_tensors="pt",
).to(model.device)

outputs = model.generate(**inputs, max_new_tokens=512, do_sample=False)
print(tokenizer.decode(outputs[0][inputs["input_ids"].shape[-1]:], skip_special_tokens=True))
'''


def build_tiny_gemma(dest: Path) -> Path:
    """A random Gemma 3 text model at toy size with the real Gemma 3 tokenizer."""
    import torch
    import transformers

    from galen.models.embedded import gemma3_270m_path

    gguf = gemma3_270m_path()
    tokenizer = transformers.AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    config = transformers.Gemma3TextConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, head_dim=32, sliding_window=64,
        max_position_embeddings=2048, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    torch.manual_seed(0)
    transformers.Gemma3ForCausalLM(config).save_pretrained(dest)
    tokenizer.save_pretrained(dest)
    return dest


@pytest.fixture(scope="module")
def gemma_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("gemma")
    base = build_tiny_gemma(work / "tiny-gemma3")
    result = CliRunner().invoke(
        app, ["train", "export", str(base), "--chat-template", "gemma3", "--output", str(work / "export")]
    )
    assert result.exit_code == 0, result.output
    return work / "export"


def build_tiny_qwen3(dest: Path) -> Path:
    """A random Qwen3 (dense) model at toy size with the real Qwen tokenizer."""
    import torch
    import transformers

    from galen.models.qwen import QWEN_VOCAB_SIZE, qwen_tokenizer

    tokenizer = qwen_tokenizer()
    config = transformers.Qwen3Config(
        vocab_size=QWEN_VOCAB_SIZE, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, head_dim=32, max_position_embeddings=4096,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    torch.manual_seed(0)
    transformers.Qwen3ForCausalLM(config).save_pretrained(dest)
    tokenizer.save_pretrained(dest)
    return dest


def gguf_runs(export: Path, architecture: str, family: str) -> None:
    """`--gguf q8_0` of an export: llama.cpp's architecture, galen's family, and llama.cpp runs it."""
    import xllamacpp

    from galen.models.gguf_meta import read_gguf_metadata
    from galen.train.gguf import export_gguf

    file = next(export_gguf(export, "q8_0").glob("*.gguf"))
    meta = read_gguf_metadata(file)
    assert meta["general.architecture"] == architecture and meta["galen.family"] == family
    params = xllamacpp.CommonParams()
    params.model.path, params.n_ctx, params.cpuparams.n_threads = str(file), 256, 1
    reply = xllamacpp.Server(params).handle_completions({"prompt": "Hello", "n_predict": 4, "temperature": 0})
    assert reply["usage"]["completion_tokens"] == 4


def test_the_export_decodes_greedily_by_default(gemma_export: Path):
    generation = json.loads((gemma_export / "generation_config.json").read_text())
    assert generation["do_sample"] is False  # the Gemma profile's thinking-off default, as card 004
    stamp = json.loads((gemma_export / "galen_export.json").read_text())
    assert stamp["family"] == "gemma3"


def test_card_004_snippet_runs_unchanged_on_the_export(gemma_export: Path):
    code = CARD_SNIPPET.replace('"EPFLiGHT/Gemma-3-27B-MeditronFO"', repr(str(gemma_export)))
    assert code.count("\n") == CARD_SNIPPET.count("\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip()  # a random model writes noise, but it writes


def test_the_gemma_export_runs_as_a_gguf(gemma_export: Path):
    gguf_runs(gemma_export, "gemma3", "gemma3")


def test_a_qwen3_export_runs_as_a_gguf(tmp_path: Path):
    base = build_tiny_qwen3(tmp_path / "tiny-qwen3")
    result = CliRunner().invoke(
        app, ["train", "export", str(base), "--chat-template", "chatml_think", "--output", str(tmp_path / "export")]
    )
    assert result.exit_code == 0, result.output
    gguf_runs(tmp_path / "export", "qwen3", "chatml-think")
