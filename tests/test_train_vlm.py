"""The tiny Qwen3.6 vision-language model trains and exports whole.

galen trains the language model (LoRA on its linear layers); transformers loads neither the
vision tower nor the `mtp.*` head for that, so the export carries them over from the base
(`galen.train.carry`). Checked here on one SFT step: the export holds every tensor of the base,
the vision tower and MTP head byte for byte, the language layers changed; the processor configs
are the base's; the export answers an image request through `galen serve` on transformers; and
its GGUF (llama.cpp's `qwen35`, with the MTP layer) runs on llama.cpp.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from galen.cli.main import app
from galen.train.carry import PROCESSOR_FILES, tensor_files
from tests.media_samples import png

runner = CliRunner()
SFT = [
    "model.base=tiny-qwen3.6",
    "model.chat_template=qwen3_6",
    "trl.max_steps=1",
    "trl.warmup_steps=0",  # the recipe warms up from a learning rate of 0: one step would change nothing
    "trl.per_device_train_batch_size=2",
    "trl.max_length=128",
    "trl.save_steps=1",
    "data.limit=2",
    "peft.r=4",
    "peft.alpha=8",
    "threads=1",
]


def invoke(env: dict[str, str], *args: str) -> str:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def tensor_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every tensor's bytes, by name, over all the folder's safetensors files."""
    import torch
    from safetensors import safe_open

    found = {}
    for name, file in tensor_files(folder).items():
        with safe_open(folder / file, "pt") as f:
            tensor = f.get_tensor(name).contiguous()
        found[name] = hashlib.sha256(tensor.view(-1).view(torch.uint8).numpy().tobytes()).hexdigest()
    return found


@pytest.fixture(scope="module")
def vlm(tmp_path_factory: pytest.TempPathFactory, tiny_qwen_cache: Path) -> tuple[Path, dict[str, str]]:
    """(the SFT run, its environment) on the tiny Qwen3.6 VLM, exported."""
    env = {"GALEN_CACHE": str(tiny_qwen_cache)}
    run = tmp_path_factory.mktemp("vlm") / "sft"
    sets = [item for o in SFT for item in ("--set", o)]
    invoke(env, "train", "sft", "cpu-smollm2-sft", *sets, "--output-dir", str(run))
    invoke(env, "train", "export", str(run))
    return run, env


def test_the_export_is_whole(vlm: tuple[Path, dict[str, str]], tiny_qwen_cache: Path):
    run, _ = vlm
    base, export = tiny_qwen_cache / "tiny-qwen3.6-vl-v2", run / "export"
    before, after = tensor_hashes(base), tensor_hashes(export)
    assert set(after) == set(before)  # nothing lost, nothing added
    untrained = [n for n in before if n.startswith(("model.visual.", "mtp."))]
    assert len([n for n in untrained if n.startswith("mtp.")]) == 15 and len(untrained) > 40
    assert all(after[n] == before[n] for n in untrained)  # byte for byte
    changed = [n for n in before if after[n] != before[n]]
    assert changed and all(n.startswith("model.language_model.layers.") for n in changed)  # LoRA, merged
    for name in PROCESSOR_FILES[:2]:
        assert (export / name).read_bytes() == (base / name).read_bytes()
    config = json.loads((export / "config.json").read_text())
    assert config["architectures"] == ["Qwen3_5ForConditionalGeneration"] and "vision_config" in config
    stamp = json.loads((export / "galen_export.json").read_text())
    assert stamp["carried_from_base"] == len(untrained)
    card = (export / "README.md").read_text()
    assert "pipeline_tag: image-text-to-text" in card and "license: apache-2.0" in card


def test_the_export_answers_an_image_request(vlm: tuple[Path, dict[str, str]], server_factory):
    from openai import OpenAI

    run, env = vlm
    server = server_factory(
        "--model", str(run / "export"), "--threads", "1", "--context-length", "768", env=env
    )  # fmt: skip
    client = OpenAI(base_url=server.base_url, api_key="EMPTY", max_retries=0, timeout=300)
    url = "data:image/png;base64," + base64.b64encode(png()).decode()
    reply = client.chat.completions.create(
        model="export",
        messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}},
                                               {"type": "text", "text": "What is shown?"}]}],
        max_tokens=8,
    )  # fmt: skip
    assert reply.usage.prompt_tokens > 100  # the image's tokens are in the prompt
    assert reply.choices[0].finish_reason in ("stop", "length")


def test_the_exports_gguf_runs_on_llamacpp(vlm: tuple[Path, dict[str, str]]):
    import xllamacpp

    from galen.models.gguf_meta import open_gguf, read_gguf_metadata

    run, env = vlm
    invoke(env, "train", "export", str(run), "--gguf", "q8_0")
    file = run / "export-q8_0" / "sft-q8_0.gguf"
    meta = read_gguf_metadata(file)
    assert meta["general.architecture"] == "qwen35" and meta["galen.family"] == "qwen3.6"
    assert meta["qwen35.nextn_predict_layers"] == 1  # the MTP layer came along
    assert any(".nextn." in t.name for t in open_gguf(file).tensors)
    params = xllamacpp.CommonParams()
    params.model.path, params.n_ctx, params.cpuparams.n_threads = str(file), 256, 1
    reply = xllamacpp.Server(params).handle_completions({"prompt": "Hello", "n_predict": 4, "temperature": 0})
    assert reply["usage"]["completion_tokens"] == 4
