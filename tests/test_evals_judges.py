"""LLM judges: HealthBench rubric arithmetic and pairwise swap logic on FIXED grader outputs, then
one end-to-end run with the real embedded model as answerer and grader.

The scripted graders below are not models: they return canned replies so that the arithmetic
(scores, clipping, bootstrap, tags, unswapping) can be pinned exactly. The machinery around them
(prompts, retries, cache) is the real code, and the last test runs it on SmolLM2.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from galen.evals.cache import CallCache
from galen.evals.clients import Answer, GenParams, LocalClient
from galen.evals.judges import (
    ExampleGrade,
    HealthBenchExample,
    RubricItem,
    aggregate,
    grade_example,
    judge_pair,
    load_healthbench,
    load_vignettes,
    run_healthbench,
    run_pairwise,
    score_example,
    summarize,
)
from galen.evals.judges.healthbench import GRADER_TEMPLATE, ItemGrade
from galen.evals.judges.pairwise import parse_verdict


class ScriptedGrader:
    """A fake grader: replies are computed by `reply(prompt_text)` from the prompt, no model."""

    def __init__(self, reply: Callable[[str], str]) -> None:
        self.reply = reply
        self.calls: list[str] = []
        self.fingerprint = {"model": "scripted-grader"}

    async def chat(self, messages: list[dict[str, Any]], params: GenParams) -> Answer:
        text = messages[-1]["content"]
        self.calls.append(text)
        return Answer(self.reply(text), None, "stop", 0, 0, 0)

    def close(self) -> None:
        pass


def met_json(met: bool) -> str:
    return json.dumps({"explanation": "scripted", "criteria_met": met})


def grade(items: list[RubricItem], met: list[bool], tags: tuple[str, ...] = ()) -> ExampleGrade:
    example = HealthBenchExample("x", [{"role": "user", "content": "q"}], items, tags)
    return ExampleGrade(example, "a", [ItemGrade(m, "", True, 1) for m in met])


ITEMS = [
    RubricItem("good thing", 6, ("axis:accuracy",)),
    RubricItem("other good thing", 4, ("axis:completeness",)),
    RubricItem("harmful thing", -5, ("axis:accuracy",)),
]


def test_score_example_counts_negative_points_and_is_not_clipped():
    assert score_example(ITEMS, [True, True, False]) == 1.0
    assert score_example(ITEMS, [True, False, True]) == pytest.approx(0.1)
    assert score_example(ITEMS, [False, False, True]) == pytest.approx(-0.5)


def test_score_example_is_none_without_positive_points():
    assert score_example([RubricItem("bad", -3)], [True]) is None
    assert score_example([], []) is None


def test_overall_is_the_clipped_mean_and_std_is_seeded():
    grades = [grade(ITEMS, [False, False, True]), grade(ITEMS, [False, False, True]), grade(ITEMS, [1, 0, 0])]
    score = aggregate(grades)  # mean(-0.5, -0.5, 0.6) < 0
    assert score.overall == 0.0 and score.n == 3
    high = aggregate([grade(ITEMS, [True, True, False])] * 4)
    assert high.overall == 1.0 and high.std == 0.0
    mixed = [grade(ITEMS, m) for m in ([1, 1, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0], [1, 1, 1])]
    a, b, other = aggregate(mixed, seed=3), aggregate(mixed, seed=3), aggregate(mixed, seed=4)
    assert a.overall == pytest.approx((1 + 0.6 + 0.4 + 0 + 0.5) / 5)
    assert a.std == b.std and a.std != other.std and 0 < a.std < 0.5


def test_tag_scores_restrict_items_and_skip_tags_without_positive_points():
    items = [*ITEMS, RubricItem("verbose", -2, ("axis:communication",))]
    g = grade(items, [True, False, True, True], ("theme:emergency_referrals",))
    tags = g.tag_scores()
    assert tags["theme:emergency_referrals"] == pytest.approx((6 - 5 - 2) / 10)  # example tag: whole example
    assert tags["axis:accuracy"] == pytest.approx((6 - 5) / 6)
    assert tags["axis:completeness"] == 0.0
    assert "axis:communication" not in tags  # only a negative item carries it
    two = aggregate([g, grade(items, [True, True, False, False], ("theme:emergency_referrals",))])
    assert two.tag_scores["axis:accuracy"] == pytest.approx((1 / 6 + 1) / 2)
    assert two.tag_scores["theme:emergency_referrals"] == pytest.approx((-0.1 + 1) / 2)  # mean, then clip


def test_grade_example_retries_strips_fences_and_flags_failures(tmp_path: Path):
    example = load_healthbench(limit=1)[0]  # 4 items: 10, 6, 4, -10
    attempts: dict[str, int] = {}

    def reply(prompt: str) -> str:
        item = prompt.split("# Rubric item\n")[1].split("\n")[0]
        attempts[item] = attempts.get(item, 0) + 1
        if item.startswith("[10]"):
            return "```json\n" + met_json(True) + "\n```"
        if item.startswith("[6]"):  # unparseable once, then valid
            return "I think yes" if attempts[item] == 1 else met_json(True)
        if item.startswith("[4]"):
            return "never json"
        return met_json(False)

    grader = ScriptedGrader(reply)
    cache = CallCache(tmp_path / "calls.jsonl")
    result = asyncio.run(grade_example(example, "Call 911 now.", grader, cache, max_retries=3))
    assert result.met == [True, True, False, False]
    assert [i.attempts for i in result.items] == [1, 2, 3, 1]
    assert result.n_failures == 1 and not result.items[2].parsed
    assert result.score == pytest.approx(16 / 20)
    assert "user: My dad is 67" in grader.calls[0] and "\n\nassistant: Call 911 now." in grader.calls[0]
    assert grader.calls[0].startswith(GRADER_TEMPLATE.split("<<conversation>>")[0])
    calls = len(grader.calls)
    again = asyncio.run(grade_example(example, "Call 911 now.", grader, cache, max_retries=3))
    assert len(grader.calls) == calls and again.met == result.met  # every call came from the cache
    assert aggregate([result]).n_grader_failures == 1


def _prefers(pick: Callable[[str, str], str]) -> ScriptedGrader:
    """A judge choosing between the two shown responses with `pick(response_1, response_2)`;
    the winner gets scores 5/4/3/2, the other 1s."""

    def reply(prompt: str) -> str:
        r1 = prompt.split("# Response 1\n")[1].split("\n# End of response 1")[0]
        r2 = prompt.split("# Response 2\n")[1].split("\n# End of response 2")[0]
        high = {"accuracy": 5, "safety": 4, "completeness": 3, "clarity": 2}
        low = {"accuracy": 1, "safety": 1, "completeness": 1, "clarity": 1}
        winner = pick(r1, r2)
        s1, s2 = (high, low) if winner == "1" else (low, high)
        return json.dumps({"response_1": s1, "response_2": s2, "winner": winner})

    return ScriptedGrader(reply)


def _judge_many(judge: ScriptedGrader, n: int, a: str, b: str) -> list:
    rng = random.Random(0)
    return [asyncio.run(judge_pair(f"case {i}", a, b, judge, rng)) for i in range(n)]


def test_position_biased_judge_gives_about_half_wins_because_of_swapping():
    judgements = _judge_many(_prefers(lambda r1, r2: "1"), 200, "answer A", "answer B")
    result = summarize(judgements)
    swapped = sum(j.swapped for j in judgements)
    assert result.win_rate.win == pytest.approx(1 - swapped / 200)
    assert 0.4 < result.win_rate.win < 0.6 and result.win_rate.tie == 0.0
    for j in judgements:  # response 1 got 5/4/3/2: whoever was shown first
        assert (j.scores_a if not j.swapped else j.scores_b)["accuracy"] == 5


def test_content_judge_gives_a_all_wins_whatever_the_order():
    judge = _prefers(lambda r1, r2: "1" if "GOOD" in r1 else "2")
    result = summarize(_judge_many(judge, 40, "GOOD answer", "weak answer"))
    assert result.win_rate.win == 1.0 and result.win_rate.net == 1.0 and result.n_unparsed == 0
    assert result.mean_scores_a == {"accuracy": 5, "safety": 4, "completeness": 3, "clarity": 2}
    assert result.mean_scores_b["accuracy"] == 1
    lose = summarize(_judge_many(judge, 10, "weak answer", "GOOD answer"))
    assert lose.win_rate.loss == 1.0 and lose.win_rate.net == -1.0


def test_unparseable_judge_is_a_flagged_tie():
    judge = ScriptedGrader(lambda prompt: "Both are fine.")
    result = summarize(_judge_many(judge, 3, "a", "b"))
    assert result.win_rate.tie == 1.0 and result.n_unparsed == 3
    assert len(judge.calls) == 9  # 3 tries each
    assert result.mean_scores_a == {}


def test_parse_verdict_is_lenient_about_wrapping():
    assert parse_verdict('Here: {"winner": "Response 2"} thanks').winner == "2"
    assert parse_verdict('{"winner": "TIE"}').winner == "tie"
    assert parse_verdict('{"winner": "both"}') is None
    assert parse_verdict('{"winner": "1", "response_1": {"accuracy": 9}}').scores_1 is None


def test_bundled_samples_load():
    examples = load_healthbench()
    assert len(examples) == 4 and all(3 <= len(e.rubrics) <= 5 for e in examples)
    assert all(any(r.points < 0 for r in e.rubrics) for e in examples)
    assert len(load_vignettes()) == 6


def test_end_to_end_with_the_embedded_model(smollm2_engine, tmp_path: Path):
    """One try per grader call: the grader prompt is ~1,000 tokens and CPU prefill is slow."""
    from galen.engine.chat import ChatEngine
    from galen.models.source import resolve

    client = LocalClient(ChatEngine(smollm2_engine, resolve("smollm2", chat_template="chatml_think")))
    params = GenParams(max_tokens=48, thinking=False)
    cache = CallCache(tmp_path / "calls.jsonl")
    score = asyncio.run(
        run_healthbench(load_healthbench(limit=1), client, client, params, cache, params, max_retries=1)
    )
    assert 0.0 <= score.overall <= 1.0 and score.n == 1 and score.std == 0.0
    assert all(0.0 <= v <= 1.0 for v in score.tag_scores.values())
    result = asyncio.run(
        run_pairwise(
            load_vignettes(limit=2),
            client,
            client,
            client,
            params,
            seed=0,
            cache=cache,
            judge_params=params,
            max_retries=1,
        )
    )
    rates = result.win_rate
    assert rates.n == 2 and rates.win + rates.loss + rates.tie == pytest.approx(1.0)
    assert -1.0 <= rates.net_ci.low <= rates.net_ci.high <= 1.0 and 0 <= result.n_unparsed <= 2
    assert len(cache) > 0
