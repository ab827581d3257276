"""GRPO rewards on hand-written completions, the zero-advantage warning, and the rubric judge.

The rubric reward asks a real judge: the embedded model behind `galen serve` (its verdicts mean
nothing at 135M parameters; the test checks the plumbing and the arithmetic's range).
"""

from __future__ import annotations

import asyncio
import doctest
import io

from rich.console import Console
from transformers import TrainerControl, TrainerState, TrainingArguments

import galen.train.callbacks
import galen.train.rewards
from galen.evals.extract import extract_choice
from galen.train.callbacks import ZERO_ADVANTAGE, ZeroAdvantageMonitor
from galen.train.rewards import (
    REWARDS,
    RubricReward,
    answer_part,
    answer_reward,
    get_answer_reward,
    get_overlong_penalty,
    get_think_format_reward,
    think_format_reward,
    zero_advantage_fraction,
)


def chat(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def test_docstring_examples():
    for module in (galen.train.rewards, galen.train.callbacks):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__


def test_answer_reward_multiple_choice_reads_after_the_reasoning():
    completions = [
        chat('B fits the potassium.\n</think>\n\n{"answer": "B"}'),  # right, JSON field
        chat("A or B? B.\n</think>\n\nThe answer is (C)."),  # a letter named while thinking does not count
        chat("I think it is B"),  # never closed its reasoning: no answer
        chat('Done.\n</think>\n\n{"answer": "E"}'),  # not an option of this item
        chat("Done.\n</think>\n\nA 45-year-old man: most likely gout."),  # the article is not an answer
    ]
    rewards = answer_reward(
        completions, answer=["B", "B", "B", "B", "A"], kind=["choice"] * 5, choices=[["w", "x", "y", "z"]] * 5
    )
    assert rewards == [1.0, 0.0, 0.0, 0.0, 0.0]


def test_answer_reward_labels_and_open_rows():
    completions = [
        "Significant fall.\n</think>\n\nFinal decision: yes",
        'Interval crosses zero.\n</think>\n\n{"answer": "Maybe"}',
        "Underpowered.\n</think>\n\nno",
        "Explained it.\n</think>\n\nFree text answer",
    ]
    rewards = answer_reward(
        completions,
        answer=["yes", "maybe", "yes", ""],
        kind=["label", "label", "label", "open"],
        choices=None,
    )
    assert rewards == [1.0, 1.0, 0.0, None]  # open rows have nothing to check: TRL skips None


def test_answer_reward_uses_the_eval_extractor():
    reply = 'Reasoning.\n</think>\n\nOn balance the answer is option D, so {"answer": "C"}'
    assert answer_part(reply) == 'On balance the answer is option D, so {"answer": "C"}'
    expected = float(extract_choice(answer_part(reply), "ABCD").answer == "C")
    assert answer_reward([reply], ["C"], ["choice"], [["a", "b", "c", "d"]]) == [expected] == [1.0]


def test_thinking_off_reads_the_whole_reply():
    no_think = get_answer_reward(thinking=False)
    assert no_think(['{"answer": "A"}'], ["A"], ["choice"], [["p", "q"]]) == [1.0]
    assert answer_reward(['{"answer": "A"}'], ["A"], ["choice"], [["p", "q"]]) == [0.0]  # still "thinking"
    assert no_think(['<think>\nhmm\n</think>\n\n{"answer": "A"}'], ["A"], ["choice"], [["p", "q"]]) == [1.0]


def test_think_format_reward():
    completions = [
        "Hyperkalaemia peaks T waves.\n</think>\n\nB",
        "<think>\nOpened again.\n</think>\n\nB",
        "\n</think>\n\nB",  # empty reasoning
        "No reasoning block at all, answer B",
        "One.</think> Two.</think> B",
    ]
    assert think_format_reward([chat(c) for c in completions]) == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert get_think_format_reward(thinking=False)(["<think>\nok\n</think>\n\nB", "B"]) == [1.0, 0.0]


def test_overlong_penalty():
    penalty = get_overlong_penalty(max_tokens=100, buffer=20)
    lengths = [10, 80, 90, 100, 130]
    assert penalty([""] * 5, [[1] * n for n in lengths]) == [0.0, 0.0, -0.5, -1.0, -1.0]
    assert get_overlong_penalty(max_tokens=100, buffer=100)([""], [[1] * 50]) == [
        -0.5
    ]  # a plain length penalty


def test_registry_names_match_trl_log_names():
    import functools

    from trl.trainer.utils import get_callable_name

    names = {
        k: get_callable_name(f)
        for k, f in (("answer", get_answer_reward()), ("overlong", get_overlong_penalty(64)))
    }
    assert names == {"answer": "answer_reward", "overlong": "overlong_penalty"}
    assert isinstance(get_overlong_penalty(64), functools.partial)  # picklable, unlike a closure
    assert set(REWARDS) == {"answer", "think_format", "overlong", "rubric"}


def test_zero_advantage_fraction_and_warning():
    assert zero_advantage_fraction([0.5, 0.5, 1.0, 0.0], group_size=2) == 0.5
    assert zero_advantage_fraction([1.0] * 8, group_size=4) == 1.0
    assert zero_advantage_fraction([0.0, 1.0, 0.2, 0.3], group_size=4) == 0.0
    out = io.StringIO()
    monitor = ZeroAdvantageMonitor(Console(file=out, width=300))
    state, control = TrainerState(), TrainerControl()
    args = TrainingArguments(output_dir="unused", report_to="none", use_cpu=True)
    for step, fraction in ((1, 0.0), (2, 0.5), (3, 1.0)):
        state.global_step = step
        monitor.on_log(args, state, control, logs={"loss": 0.1, ZERO_ADVANTAGE: fraction})
    text = out.getvalue()
    assert "step 1" not in text  # no warning while every group has a signal
    assert "step 2: 50% of prompt groups got the same reward" in text
    assert "step 3: 100%" in text and "no group moved the policy" in text
    assert monitor.mean == 0.5


def test_rubric_reward_asks_a_real_judge(agent_server):
    judge = agent_server  # the session's embedded server with a window long enough for the grader prompt
    reward = RubricReward(
        judge.base_url,
        rubric=[{"criterion": "Names hyperkalaemia as the cause", "points": 5}],
        max_tokens=24,
        max_retries=1,
    )
    prompts = [[{"role": "user", "content": "What causes peaked T waves?"}]] * 3
    completions = [
        chat("Potassium is high.\n</think>\n\nHyperkalaemia."),
        chat("Still thinking about it"),  # no answer: scored 0 without asking
        chat("Done.\n</think>\n\nHyperkalaemia."),
    ]
    rubrics = [None, None, [{"criterion": "Avoids the word potassium", "points": -2}]]  # no positive points
    scores = asyncio.run(reward(completions, prompts=prompts, rubrics=rubrics))
    assert scores[0] in (0.0, 1.0) and scores[1] == 0.0 and scores[2] is None


def test_rubric_reward_skips_rows_when_the_judge_is_down():
    import pytest

    reward = RubricReward("http://127.0.0.1:9/v1", rubric=[{"criterion": "x", "points": 1}], max_retries=1)
    with pytest.warns(UserWarning, match="rubric judge failed"):
        assert asyncio.run(reward([chat("r\n</think>\n\nA")], prompts=["q"])) == [None]
