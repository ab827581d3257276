"""llama.cpp through xllamacpp: streaming, sampling, cancellation, errors, JSON schemas."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest

from galen.engine.base import GenerationRequest
from galen.engine.sampling import PRESETS, SamplingParams
from galen.errors import BadRequest, ContextWindowExceeded

PROMPT = "<|im_start|>user\nWhat does the kidney do?<|im_end|>\n<|im_start|>assistant\n"


def test_tokenize_parses_special_tokens(smollm2_engine):
    assert smollm2_engine.tokenize("<|im_start|>user") == [1, 4093]
    assert smollm2_engine.count_tokens("kidney stones") >= 2


def test_stream_and_generate_agree_under_greedy(smollm2_engine):
    request = GenerationRequest(PROMPT, PRESETS["greedy"].updated(max_tokens=20))
    whole = smollm2_engine.generate(request)
    pieces = list(smollm2_engine.stream(request))
    assert "".join(p.text for p in pieces) == whole.text
    assert pieces[-1].finish_reason == "length" and pieces[-1].completion_tokens == 20
    assert pieces[-1].prompt_tokens == whole.prompt_tokens == smollm2_engine.count_tokens(PROMPT)


def test_seed_makes_sampling_reproducible(smollm2_engine):
    def sample(seed: int) -> str:
        return smollm2_engine.generate(
            GenerationRequest(PROMPT, SamplingParams(max_tokens=24, seed=seed))
        ).text

    assert sample(1) == sample(1)
    assert sample(1) != sample(2)


def test_stop_strings_end_generation(smollm2_engine):
    text = smollm2_engine.generate(GenerationRequest(PROMPT, PRESETS["greedy"].updated(max_tokens=40))).text
    stop = text.split()[2]
    cut = smollm2_engine.generate(
        GenerationRequest(PROMPT, PRESETS["greedy"].updated(max_tokens=40, stop=(stop,)))
    )
    assert cut.finish_reason == "stop" and stop not in cut.text and text.startswith(cut.text)


def test_closing_the_stream_cancels(smollm2_engine):
    stream = smollm2_engine.stream(GenerationRequest(PROMPT, SamplingParams(max_tokens=4000, seed=1)))
    next(stream)
    stream.close()
    # The slot is free again: a new request completes normally.
    assert (
        smollm2_engine.generate(GenerationRequest(PROMPT, SamplingParams(max_tokens=3))).completion_tokens
        == 3
    )


def test_whole_answers_come_in_pieces_and_still_cancel(smollm2_engine):
    """stream=False hands text over every HELD_TOKENS tokens, not per token; the same text comes
    out, and closing the stream stops llama.cpp within about one piece."""
    from galen.engine.llamacpp import HELD_TOKENS

    request = GenerationRequest(PROMPT, PRESETS["greedy"].updated(max_tokens=70))
    per_token = list(smollm2_engine.stream(request))
    pieces = list(smollm2_engine.stream(dataclasses.replace(request, stream=False)))
    assert "".join(p.text for p in pieces) == "".join(p.text for p in per_token)
    assert len(pieces) <= 70 // HELD_TOKENS + 2 < len(per_token)
    assert pieces[-1].completion_tokens == per_token[-1].completion_tokens == 70
    long = GenerationRequest(PROMPT, SamplingParams(max_tokens=1500, seed=1), stream=False)
    stream = smollm2_engine.stream(long)
    next(stream)
    before = smollm2_engine.tokens_generated
    stream.close()
    time.sleep(1.0)
    assert smollm2_engine.tokens_generated - before <= 2 * HELD_TOKENS


def test_context_overflow_is_a_typed_error(smollm2_engine):
    with pytest.raises(ContextWindowExceeded):
        smollm2_engine.generate(GenerationRequest("kidney " * 3000, SamplingParams(max_tokens=2)))


def test_json_schema_constrains_output(smollm2_engine):
    schema = {
        "type": "object",
        "properties": {"answer": {"enum": ["A", "B", "C", "D"]}},
        "required": ["answer"],
        "additionalProperties": False,
    }
    out = smollm2_engine.generate(GenerationRequest(PROMPT, SamplingParams(max_tokens=40, seed=3), schema))
    assert json.loads(out.text)["answer"] in "ABCD"


def test_out_of_range_sampling_is_rejected_before_the_engine():
    with pytest.raises(BadRequest) as info:
        SamplingParams(temperature=-1)
    assert info.value.param == "temperature"


@pytest.mark.parametrize("stream", [True, False])
def test_logprobs_come_with_every_token(smollm2_engine, stream):
    # stream=False hands text over 32 tokens at a time: the pieces' log-probabilities must merge.
    params = PRESETS["greedy"].updated(max_tokens=36)
    out = smollm2_engine.generate(GenerationRequest(PROMPT, params, stream=stream, logprobs=2))
    assert out.finish_reason == "length" and len(out.logprobs) == 36
    assert "".join(e.token for e in out.logprobs) == out.text
    for entry in out.logprobs:
        assert len(entry.top) == 2 and entry.top[0].id == entry.id  # greedy: the most likely token
        assert entry.top[0].logprob == pytest.approx(entry.logprob) and entry.logprob <= 0


def test_schema_llguidance_cannot_compile_is_a_400(smollm2_engine):
    with pytest.raises(BadRequest) as info:
        smollm2_engine.check_json_schema({"type": "string", "pattern": "a(?=b)"}, "field")
    assert info.value.param == "field" and info.value.code == "unsupported_json_schema"
