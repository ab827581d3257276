"""Batched log-likelihood scoring equals the plain one-pass computation, whatever it shares.

The reference here is the textbook formula: one forward pass over context + continuation, the
log-softmax at each continuation position, summed. The scorer groups by context, reuses cached
prefixes and batches longer continuations; none of that may change a number.
"""

from __future__ import annotations

import math
import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from galen.engine.base import LoglikRequest  # noqa: E402
from galen.engine.loglik import EncodedPair, PrefixScorer, common_prefix, encode_pair  # noqa: E402
from galen.engine.transformers import TransformersEngine  # noqa: E402
from galen.models.qwen import tiny_qwen_path  # noqa: E402

SHOTS = "Fever is a raised body temperature. The heart pumps blood. The lungs exchange gases. " * 4
REQUESTS = [
    LoglikRequest(SHOTS + question, answer)
    for question in ("Q: Which organ pumps blood?\nA:", "Q: Which organ exchanges gases?\nA:")
    for answer in (" the heart", " the lungs and the airways", " B", " kidneys")
] + [LoglikRequest("", "Paris"), LoglikRequest("The capital of France is ", "Paris")]


def reference(engine: TransformersEngine, request: LoglikRequest) -> float:
    ctx, cont = encode_pair(engine.tokenize, request.context, request.continuation, engine._bos_prefix)
    ctx = ctx or engine._start_ids()
    with torch.inference_mode():
        logits = engine.model(input_ids=torch.tensor([ctx + cont])).logits[0].float()
    logprobs = torch.log_softmax(logits, dim=-1)
    return sum(float(logprobs[len(ctx) - 1 + i, token]) for i, token in enumerate(cont))


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models; spinning OpenMP threads hurt on a shared 2-core box
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def smol(smollm2_hf: TransformersEngine) -> TransformersEngine:
    """SmolLM2's shipped GGUF in float32 (the session's engine: loading takes ~20 s)."""
    return smollm2_hf


@pytest.fixture(scope="module")
def tiny(tiny_qwen_cache):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GALEN_CACHE", str(tiny_qwen_cache))
        path = tiny_qwen_path()
    with TransformersEngine(path, model_id="tiny-qwen", dtype="float32") as engine:
        yield engine


def test_encode_pair_moves_trailing_spaces_to_the_continuation() -> None:
    def tokenize(text: str) -> list[int]:
        return [ord(c) for c in text]

    assert encode_pair(tokenize, "Answer: ", "B", []) == ([ord(c) for c in "Answer:"], [ord(" "), ord("B")])
    assert encode_pair(tokenize, "x", "y", [1]) == ([1, ord("x")], [ord("y")])
    assert common_prefix([1, 2, 3], [1, 2, 4, 5]) == 2 and common_prefix([], [1]) == 0


def test_batched_scores_equal_one_pass_each(smol: TransformersEngine) -> None:
    got = smol.loglikelihoods(REQUESTS)
    assert len(got) == len(REQUESTS)
    for request, result in zip(REQUESTS, got, strict=True):
        assert math.isclose(result.logprob, reference(smol, request), abs_tol=1e-4), request
    # " the heart" after "which organ pumps blood" beats " kidneys"; the order of results is the input's.
    assert got[0].logprob > got[3].logprob
    assert got[1].tokens > 2 and got[2].tokens == 1
    assert got[-1].logprob != got[-2].logprob  # from BOS vs after a real context


def test_greedy_flag_follows_argmax(smol: TransformersEngine) -> None:
    context = "The capital of France is"
    first = smol.loglikelihoods([LoglikRequest(context, " Paris")])[0]
    with torch.inference_mode():
        logits = smol.model(input_ids=torch.tensor([smol.tokenize(context)])).logits[0, -1]
    best = smol.tokenizer.decode([int(logits.argmax())])
    assert first.greedy == (best == " Paris")
    assert smol.loglikelihoods([LoglikRequest(context, best)])[0].greedy


def test_shared_prefixes_are_computed_once(smol: TransformersEngine) -> None:
    pairs = []
    for r in REQUESTS[:8]:
        ctx, cont = encode_pair(smol.tokenize, r.context, r.continuation, [])
        pairs.append(EncodedPair(tuple(ctx), tuple(cont)))
    scorer = PrefixScorer(smol.model, smol.device, smol.info.context_length)
    scorer.score(pairs)
    contexts = {p.context for p in pairs}
    naive = sum(len(c) for c in contexts)
    shared = common_prefix(*sorted(contexts))
    # Two contexts sharing a long prefix: the second runs only its own tokens (plus the
    # multi-token continuations' batches, which are short).
    assert scorer.can_crop
    assert scorer.forward_tokens < naive - shared + 40


def test_too_long_for_the_window_is_truncated_from_the_left(smol: TransformersEngine) -> None:
    short = TransformersEngine.__new__(TransformersEngine)
    short.__dict__.update(smol.__dict__)
    short.info = smol.info.__class__(**{**smol.info.__dict__, "context_length": 16})
    got = short.loglikelihoods([LoglikRequest(SHOTS, " the heart")])[0]
    ctx, cont = encode_pair(smol.tokenize, SHOTS, " the heart", [])
    ids = (ctx + cont)[-16:]
    with torch.inference_mode():
        logprobs = torch.log_softmax(smol.model(input_ids=torch.tensor([ids])).logits[0].float(), -1)
    expected = sum(float(logprobs[len(ids) - 1 - len(cont) + i, t]) for i, t in enumerate(cont))
    assert math.isclose(got.logprob, expected, abs_tol=1e-4)


def test_hybrid_model_without_croppable_cache_gives_the_same_numbers(tiny: TransformersEngine) -> None:
    requests = [LoglikRequest("one two three four five six", c) for c in (" seven", " eight nine")] + [
        LoglikRequest("one two three four five ten", " eleven")
    ]
    got = tiny.loglikelihoods(requests)
    for request, result in zip(requests, got, strict=True):
        assert math.isclose(result.logprob, reference(tiny, request), abs_tol=1e-4)


def _whole(engine: TransformersEngine, ids: list[int]) -> torch.Tensor:
    with torch.inference_mode():
        return torch.log_softmax(engine.model(input_ids=torch.tensor([ids])).logits[0].float(), dim=-1)


def test_prompt_scores_equal_one_pass_over_each_prompt(smol: TransformersEngine) -> None:
    """`prompt_logprobs` (galen serve's echo) shares prefixes and runs long prompts in segments;
    every token's log-probability, rank and alternatives are still those of one plain pass."""
    from galen.engine import loglik

    prompts = [SHOTS + "Q: Which organ pumps blood?\nA: the heart", SHOTS, SHOTS + "Q: Lungs?"]
    prompts += [[1, 2, 3], SHOTS]
    segment = loglik.SEGMENT
    loglik.SEGMENT = 16  # several segments per prompt
    try:
        got = smol.prompt_logprobs(prompts, top_n=2)
    finally:
        loglik.SEGMENT = segment
    for prompt, scored in zip(prompts, got, strict=True):
        text = isinstance(prompt, str)
        ids = smol._bos_prefix + smol.tokenize(prompt) if text else [int(t) for t in prompt]
        assert [t.token for t in scored.tokens] == ids and scored.tokens[0].logprob is None
        logprobs = _whole(smol, ids)
        for i, token in enumerate(scored.tokens[1:], start=1):
            expected = float(logprobs[i - 1, ids[i]])
            assert math.isclose(token.logprob, expected, abs_tol=1e-4), (i, token)
            assert token.rank == int((logprobs[i - 1] > logprobs[i - 1, ids[i]]).sum()) + 1
            assert token.top[0][0] == int(logprobs[i - 1].argmax()) and len(token.top) == 2
        assert scored.following.token == int(logprobs[-1].argmax())
    assert got[1].text == SHOTS and got[3].text == smol.detokenize([1, 2, 3])
    assert got[1].tokens == got[4].tokens  # a repeated prompt: the same scores


def test_prompt_scores_on_a_model_that_cannot_crop(tiny: TransformersEngine) -> None:
    prompts = ["one two three four five six", "one two three four five six seven"]
    for scored in tiny.prompt_logprobs(prompts):
        ids = [t.token for t in scored.tokens]
        logprobs = _whole(tiny, ids)
        for i in range(1, len(ids)):
            assert math.isclose(scored.tokens[i].logprob, float(logprobs[i - 1, ids[i]]), abs_tol=1e-4)


def test_zero_shot_contexts_run_batched_with_the_same_numbers(smol: TransformersEngine) -> None:
    asked = ("Fever?", "Which organ pumps blood in the body?", "Urea?")
    questions = [f"Question: {q}\nAnswer:" for q in asked]
    questions += ["Abstract: the kidney filters blood.\nQuestion: Does it?\nAnswer:"]
    requests = [LoglikRequest(q, c) for q in questions for c in (" A", " B", " yes")]
    pairs = []
    for r in requests:
        ctx, cont = encode_pair(smol.tokenize, r.context, r.continuation, smol._bos_prefix)
        pairs.append(EncodedPair(tuple(ctx), tuple(cont)))
    assert all(len(p.continuation) == 1 for p in pairs)
    batched = PrefixScorer(smol.model, smol.device, smol.info.context_length)
    groups = {p.context: [i for i, q in enumerate(pairs) if q.context == p.context] for p in pairs}
    assert len(batched._batchable(sorted(groups), groups, pairs)) == len(questions)
    one_by_one = PrefixScorer(smol.model, smol.device, smol.info.context_length, share_prefix=False)
    with torch.inference_mode():
        got, alone = batched.score(pairs), one_by_one.score(pairs)
    for request, a, b in zip(requests, got, alone, strict=True):
        assert math.isclose(a.logprob, reference(smol, request), abs_tol=1e-4)
        assert math.isclose(a.logprob, b.logprob, abs_tol=1e-4) and a.greedy == b.greedy
