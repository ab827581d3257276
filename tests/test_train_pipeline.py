"""The pipeline end to end at its smallest size: galen data build -> SFT -> GRPO -> export ->
galen serve -> galen eval.

`galen data build` runs on its own sample recipe, and both training stages read its exports
(export/sft.jsonl, export/grpo.jsonl, manifest.json). The real embedded SmolLM2-135M trains (no
stubs): a few steps of each stage, on a few rows, with LoRA rank 4. Training is checked by its
effect (the LoRA B matrices start at zero, so any non-zero entry is an update), the run folders
by their files, and the export by serving it and evaluating it before (the untrained base,
converted the same way) and after.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors.torch import load_file
from typer.testing import CliRunner

import galen.data
from galen.cli.main import app

runner = CliRunner()
SFT = [
    "trl.max_steps=3",
    "trl.per_device_train_batch_size=2",
    "trl.max_length=256",
    "trl.save_steps=2",
    "data.limit=8",
    "peft.r=4",
    "peft.alpha=8",
    "threads=1",
]
GRPO = [
    "trl.max_steps=2",
    "trl.per_device_train_batch_size=4",
    "trl.num_generations=2",
    "trl.max_completion_length=40",
    "trl.save_steps=2",
    "data.limit=4",
    "peft.r=4",
    "peft.alpha=8",
    "threads=1",
]


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def train(stage: str, recipe: str, overrides: list[str], output: Path) -> str:
    sets = [item for o in overrides for item in ("--set", o)]
    return invoke("train", stage, recipe, *sets, "--output-dir", str(output))


def lora_update(adapter: Path) -> float:
    """The largest |entry| of the LoRA B matrices: they start at zero, so > 0 means trained."""
    tensors = load_file(adapter / "adapter_model.safetensors")
    b = [t for name, t in tensors.items() if "lora_B" in name]
    assert b, f"no LoRA B weights in {adapter}"
    return max(float(t.abs().max()) for t in b)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("train")


@pytest.fixture(scope="module")
def data_build(work: Path) -> Path:
    recipe = Path(galen.data.__file__).parent / "samples" / "recipe.yaml"
    invoke("data", "build", str(recipe), "--output", str(work / "data"))
    assert (work / "data" / "export" / "grpo.jsonl").is_file()
    return work / "data"


@pytest.fixture(scope="module")
def sft_run(work: Path, data_build: Path) -> Path:
    output = train("sft", "cpu-smollm2-sft", [*SFT, f"data.path={data_build}"], work / "sft")
    assert "run folder:" in output
    return work / "sft"


@pytest.fixture(scope="module")
def grpo_run(work: Path, data_build: Path, sft_run: Path) -> Path:
    overrides = [*GRPO, f"model.base={sft_run}", f"data.path={data_build}"]
    output = train("grpo", "cpu-smollm2-grpo", overrides, work / "grpo")
    assert "zero-advantage groups:" in output
    return work / "grpo"


def test_sft_trains_the_adapter_and_writes_the_run_folder(data_build: Path, sft_run: Path):
    assert lora_update(sft_run / "final") > 0
    info = json.loads((sft_run / "run.json").read_text())
    assert info["data"]["file"] == str(data_build / "export" / "sft.jsonl")
    assert info["data"]["manifest"] == str(data_build / "manifest.json")
    assert info["status"] == "finished" and info["global_step"] == 3 and info["stage"] == "sft"
    assert info["base"]["family"] == "chatml-think"  # trained with galen's thinking template
    assert info["data"]["rows"] == 8 and len(info["data"]["sha256"]) == 64 and info["data"]["manifest_sha256"]
    assert info["versions"]["trl"] == "1.16.0"
    recipe = (sft_run / "recipe.yaml").read_text()
    assert "max_steps: 3" in recipe and "chat_template: chatml_think" in recipe  # resolved, defaults filled
    steps = [json.loads(line) for line in (sft_run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in steps if "loss" in r] == [1, 2, 3]
    assert (sft_run / "curves" / "loss.png").stat().st_size > 1000
    assert {p.name for p in (sft_run / "checkpoints").iterdir()} >= {"checkpoint-2", "checkpoint-3"}
    template = (sft_run / "final" / "chat_template.jinja").read_text()
    assert "galen:family=chatml-think" in template


def test_grpo_continues_from_the_sft_run(sft_run: Path, grpo_run: Path):
    assert lora_update(grpo_run / "final") > 0
    info = json.loads((grpo_run / "run.json").read_text())
    assert info["base"]["folder"] == str(sft_run / "export")  # the SFT run, merged
    assert json.loads((sft_run / "export" / "galen_export.json").read_text())["global_step"] == 3
    logged = [json.loads(line) for line in (grpo_run / "metrics.jsonl").read_text().splitlines()]
    per_step = [r for r in logged if "reward" in r]
    assert [r["step"] for r in per_step] == [1, 2]
    for row in per_step:
        assert 0.0 <= row["zero_advantage_groups"] <= 1.0
        assert {
            "rewards/answer_reward/mean",
            "rewards/think_format_reward/mean",
            "rewards/overlong_penalty/mean",
        } <= set(row)
    assert (grpo_run / "curves" / "reward.png").is_file() and (
        grpo_run / "curves" / "zero_advantage.png"
    ).is_file()
    assert info["zero_advantage_groups_mean"] is not None


def test_export_serves_and_evaluates_before_and_after(work: Path, grpo_run: Path, server_factory):
    from openai import OpenAI

    invoke("train", "export", str(grpo_run))
    export = grpo_run / "export"
    stamp = json.loads((export / "galen_export.json").read_text())
    assert stamp["stage"] == "grpo" and stamp["global_step"] == 2 and stamp["family"] == "chatml-think"
    generation = json.loads((export / "generation_config.json").read_text())
    assert (
        generation["do_sample"] and generation["top_k"] == 20 and generation["top_p"] == 0.95
    )  # thinking preset
    assert "Research use only" in (export / "README.md").read_text()
    assert not (export / "adapter_config.json").exists()  # merged: a plain model folder

    server = server_factory("--model", str(export), "--threads", "1", "--context-length", "1024")
    client = OpenAI(base_url=server.base_url, api_key="EMPTY", max_retries=0, timeout=300)
    assert client.models.list().data[0].id == "export"
    reply = client.chat.completions.create(
        model="export",
        messages=[{"role": "user", "content": "Name one cause of hyperkalaemia."}],
        max_tokens=24,
    )
    assert reply.choices[0].finish_reason in ("stop", "length")
    assert "serving export (chatml-think" in server.log_text()  # the exported template names its family

    after = work / "eval-after"
    invoke(
        "eval",
        "run",
        "--model",
        server.base_url,
        "--tasks",
        "medqa,pubmedqa",
        "--limit",
        "2",
        "--max-tokens",
        "16",  # the folders are checked, not the answers
        "--output",
        str(after),
    )
    base = work / "base-export"
    invoke("train", "export", "smollm2", "--chat-template", "chatml_think", "--output", str(base))
    assert json.loads((base / "galen_export.json").read_text())["stage"] is None
    before = work / "eval-before"
    invoke(
        "eval",
        "run",
        "--model",
        str(base),
        "--tasks",
        "medqa,pubmedqa",
        "--limit",
        "2",
        "--max-tokens",
        "16",  # the folders are checked, not the answers
        "--output",
        str(before),
    )
    for folder in (before, after):
        tasks = json.loads((folder / "results.json").read_text())["tasks"]
        assert set(tasks) == {"medqa", "pubmedqa"} and all(t["n"] == 2 for t in tasks.values())


def test_export_never_replaces_a_folder_it_did_not_write(tmp_path: Path):
    from galen.errors import BadRequest
    from galen.models.families import CHATML_THINK
    from galen.train.export import write_export

    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(BadRequest, match="not a galen export"):
        write_export(None, None, tmp_path, CHATML_THINK, {})
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_lineage_from_an_eval_result_to_the_source_files(work: Path, data_build: Path, sft_run: Path):
    """data build -> SFT -> export -> eval, then `galen lineage` back from the eval result: every
    link checked, the corpus's source files reached with their sha256 and licence; a training file
    changed afterwards is a broken link."""
    invoke("train", "export", str(sft_run))  # reused when the GRPO stage already exported it
    export = sft_run / "export"
    result = work / "eval-sft"
    invoke(
        "eval", "run", "--model", str(export), "--tasks", "medqa", "--limit", "1", "--max-tokens", "4",
        "--no-think", "--output", str(result),
    )  # fmt: skip
    stamp = json.loads((export / "galen_export.json").read_text())
    model = json.loads((result / "results.json").read_text())["model"]
    assert model["weights_sha256"] == stamp["weights_sha256"] and len(stamp["weights_sha256"]) == 64
    traced = runner.invoke(app, ["lineage", str(result)], env={"COLUMNS": "240"})
    assert traced.exit_code == 0, traced.output
    text = traced.output
    for kind in ("eval:", "export:", "train:", "data-build:"):
        assert kind in text, text
    assert stamp["data"]["manifest_sha256"] in text  # the corpus manifest the export was trained on
    build = json.loads((data_build / "provenance.json").read_text())
    medqa = next(i for i in build["inputs"] if i["role"] == "source" and "medqa_train" in i["path"])
    assert f"{medqa['path']} (medqa@sample) sha256 {medqa['sha256']} licence MIT" in text
    assert "every recorded hash matches" in text

    trained_on = data_build / "export" / "sft.jsonl"
    original = trained_on.read_bytes()
    trained_on.write_bytes(original[:-2] + b" \n")  # one byte changed
    try:
        broken = runner.invoke(app, ["lineage", str(result)], env={"COLUMNS": "240"})
    finally:
        trained_on.write_bytes(original)
    assert broken.exit_code == 1
    assert f"data {trained_on}" in broken.output and "BROKEN: sha256 is now" in broken.output
    assert "1 broken link(s)" in broken.output


def test_a_finished_run_without_provenance_gets_it_when_run_again(data_build: Path, sft_run: Path):
    """A run folder written before provenance.json existed: the same command writes it."""
    (sft_run / "provenance.json").unlink()
    output = train("sft", "cpu-smollm2-sft", [*SFT, f"data.path={data_build}"], sft_run)
    assert "already finished" in output
    record = json.loads((sft_run / "provenance.json").read_text())
    assert record["kind"] == "train" and {i["role"] for i in record["inputs"]} == {"data", "manifest", "base"}


def test_export_model_card_validates_and_carries_eval_results(work: Path, grpo_run: Path):
    """The card's front matter: licence and base from SmolLM2's terms, the relation, tags; the
    scores of `galen eval run` folders given with --eval become model-index entries."""
    from galen.train.card import validate

    scores = work / "eval-after"  # written by the test above; made here when run alone
    if not (scores / "results.json").is_file():
        invoke("train", "export", str(grpo_run))
        invoke("eval", "run", "--model", str(grpo_run / "export"), "--tasks", "medqa,pubmedqa",
               "--limit", "1", "--max-tokens", "4", "--no-think", "--output", str(scores))  # fmt: skip
    invoke("train", "export", str(grpo_run), "--eval", str(scores))
    data = validate((grpo_run / "export" / "README.md").read_text())
    assert data["license"] == "apache-2.0" and data["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert data["base_model_relation"] == "finetune" and data["pipeline_tag"] == "text-generation"
    assert {"medical", "grpo", "lora", "reasoning"} <= set(data["tags"])
    results = data["model-index"][0]["results"]
    assert {r["dataset"]["name"] for r in results} == {"medqa", "pubmedqa"}
    text = (grpo_run / "export" / "README.md").read_text()
    for heading in ("## Training recipe", "## Data lineage", "## Evaluation", "## Limitations"):
        assert heading in text
    assert "| medqa | accuracy |" in text and "learning_rate=" in text


# Q8_0 against the float32 safetensors export, measured on these prompts (16 greedy tokens each):
# mean |difference| of a token's log-probability 0.02-0.05 nats, the largest 0.35.
Q8_MEAN_NATS, Q8_MAX_NATS = 0.1, 0.6
PROMPTS = (
    "Name one cause of hyperkalaemia.",
    "What is the first-line treatment of anaphylaxis?",
    "Define anemia.",
)


def test_gguf_export_matches_the_safetensors_export(sft_run: Path):
    """`--gguf q8_0` on the CPU recipe's run: llama.cpp on the GGUF and transformers on the
    export choose the same greedy tokens, with log-probabilities within the stated tolerance."""
    import torch
    import transformers
    import xllamacpp

    from galen.models.gguf_meta import read_gguf_metadata
    from galen.models.source import resolve

    output = invoke("train", "export", str(sft_run), "--gguf", "q8_0")
    file = sft_run / "export-q8_0" / "sft-q8_0.gguf"
    assert f"gguf (q8_0): {file}" in output
    meta = read_gguf_metadata(file)
    assert meta["galen.family"] == "chatml-think" and meta["galen.think.close"] == "</think>"
    assert "galen:family=chatml-think" in meta["tokenizer.chat_template"] and meta["general.file_type"] == 7
    assert resolve(str(file)).profile.family == "chatml-think"
    record = json.loads((sft_run / "export-q8_0" / "provenance.json").read_text())
    assert record["inputs"][0]["folder"] == str((sft_run / "export").resolve())

    export = sft_run / "export"
    tokenizer = transformers.AutoTokenizer.from_pretrained(export)
    model = transformers.AutoModelForCausalLM.from_pretrained(export, dtype=torch.float32).eval()
    params = xllamacpp.CommonParams()
    params.model.path, params.n_ctx, params.cpuparams.n_threads = str(file), 512, 1
    server = xllamacpp.Server(params)
    for prompt in PROMPTS:
        ids = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=True, return_dict=True
        )["input_ids"]
        reply = server.handle_completions({"prompt": ids, "n_predict": 16, "temperature": 0, "n_probs": 1})
        tokens = reply["choices"][0]["logprobs"]["content"]
        generated = [t["id"] for t in tokens]
        with torch.no_grad():
            greedy = model.generate(torch.tensor([ids]), max_new_tokens=16, do_sample=False)[0, len(ids) :]
            logits = model(torch.tensor([ids + generated])).logits[0, len(ids) - 1 : -1]
        assert greedy.tolist() == generated, prompt
        logprobs = torch.log_softmax(logits, -1)[torch.arange(len(generated)), torch.tensor(generated)]
        diffs = [abs(float(a) - t["logprob"]) for a, t in zip(logprobs, tokens, strict=True)]
        assert sum(diffs) / len(diffs) <= Q8_MEAN_NATS and max(diffs) <= Q8_MAX_NATS, (prompt, diffs)


def test_gguf_q4_k_m_loads_on_llamacpp_and_traces_back(sft_run: Path):
    """Q4_K_M (llama.cpp's kernels, its mix of types) is a file llama.cpp runs, and `galen
    lineage` goes from it to the training run and the data build."""
    from collections import Counter

    import xllamacpp

    from galen.models.gguf_meta import open_gguf

    invoke("train", "export", str(sft_run), "--gguf", "q4_k_m")
    file = sft_run / "export-q4_k_m" / "sft-q4_k_m.gguf"
    types = Counter(t.tensor_type.name for t in open_gguf(file).tensors)
    assert types["Q4_K"] and types["Q6_K"] and types["F32"], types  # rows of 576 fall back to Q5_0 / Q8_0
    params = xllamacpp.CommonParams()
    params.model.path, params.n_ctx, params.cpuparams.n_threads = str(file), 256, 1
    server = xllamacpp.Server(params)
    reply = server.handle_completions({"prompt": "Anaemia is", "n_predict": 4, "temperature": 0})
    assert reply["usage"]["completion_tokens"] == 4
    traced = runner.invoke(app, ["lineage", str(sft_run / "export-q4_k_m")], env={"COLUMNS": "240"})
    assert traced.exit_code == 0, traced.output
    for kind in ("export:", "train:", "data-build:"):
        assert kind in traced.output
