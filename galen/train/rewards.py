"""Reward functions for GRPO, with TRL's signature: `reward(completions, **kwargs) -> list[float]`.

TRL calls each reward with the batch's `prompts`, `completions` and `completion_ids`, plus every
dataset column by name (`answer`, `kind`, `choices` in galen's GRPO rows). A completion is the
text after the prompt; galen's thinking templates open `<think>` in the prompt, so with
`thinking=True` (the default) a completion is expected to start inside the reasoning and close
it with `</think>`. A reward returns None for a row it cannot judge; TRL leaves that row out.

| name (recipes) | function | reward |
|---|---|---|
| `answer` | `answer_reward` | 1 when the answer after the reasoning is the gold letter / label, else 0 |
| `think_format` | `think_format_reward` | 1 for exactly one closed think block followed by an answer |
| `overlong` | `overlong_penalty` | 0 up to `max_tokens - buffer` tokens, then down to -1 at `max_tokens` |
| `rubric` | `RubricReward` | a judge model grades the answer against rubric items (HealthBench) |

The answer is read exactly as `galen eval` reads it: the chat layer's parser splits the
reasoning off (`galen.chat.parser`), then `extract_choice` / `extract_label` read the letter or
label (`galen.evals.extract`). A reply whose reasoning never closed has no answer.
"""

from __future__ import annotations

import asyncio
import functools
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from galen.chat.parser import parse_output
from galen.evals.extract import extract_choice, extract_label
from galen.evals.task import LETTERS
from galen.models.profile import ThinkTags

RewardFunc = Callable[..., Any]
LABELS = ("yes", "no", "maybe")
THINK = ThinkTags()


def completion_text(completion: Any) -> str:
    """The text of one completion: a string, or TRL's conversational `[{"role", "content"}]`.

    >>> completion_text([{"role": "assistant", "content": "Fine."}])
    'Fine.'
    """
    if isinstance(completion, str):
        return completion
    return "".join(m.get("content") or "" for m in completion if m.get("role", "assistant") == "assistant")


def answer_part(text: str, thinking: bool = True) -> str | None:
    """The answer after the reasoning, as the chat layer splits it; None if reasoning never closed.

    >>> answer_part('The ECG shows peaked T waves.\\n</think>\\n\\n{"answer": "B"}')
    '{"answer": "B"}'
    >>> answer_part("Still weighing the options") is None
    True
    >>> answer_part('{"answer": "B"}', thinking=False)
    '{"answer": "B"}'
    """
    parsed = parse_output(text, think=THINK, starts_in_reasoning=thinking)
    return parsed.content if parsed.reasoning_closed else None


def _column(values: Sequence[Any] | None, n: int) -> Sequence[Any]:
    return values if values is not None else [None] * n


def option_letters(choices: Sequence[str] | None) -> str:
    """The letters an answer may take: `choices` as galen data exports them (the option letters),
    or option texts, whose count gives the letters; four when there are none.

    >>> option_letters(["A", "B", "C"]), option_letters(["Peaked T waves", "U waves"]), option_letters(None)
    ('ABC', 'AB', 'ABCD')
    """
    if choices and all(len(c) == 1 and c.isalpha() and c.isupper() for c in choices):
        return "".join(choices)
    return LETTERS[: len(choices)] if choices else LETTERS[:4]


def judge_answer(reply: str, gold: str, kind: str, choices: Sequence[str] | None) -> float | None:
    """1.0 / 0.0 for a `choice` or `label` row; None for `open` rows (nothing to check).

    >>> judge_answer('{"answer": "c"}', "C", "choice", ["x", "y", "z", "w"])
    1.0
    >>> judge_answer("Final decision: maybe", "no", "label", None)
    0.0
    """
    if kind == "choice":
        return float(extract_choice(reply, option_letters(choices)).answer == gold.strip().upper())
    if kind == "label":
        found = extract_label(reply, list(choices) if choices else list(LABELS)).answer
        return float(found is not None and found.casefold() == gold.strip().casefold())
    if kind == "open":
        return None
    raise ValueError(f"unknown row kind {kind!r}; expected choice, label or open")


def answer_reward(
    completions: list[Any],
    answer: list[str],
    kind: list[str],
    choices: list[list[str]] | None = None,
    thinking: bool = True,
    **kwargs: Any,
) -> list[float | None]:
    """1.0 when the answer after the reasoning is the gold answer, 0.0 when it is not (or absent).

    Multiple choice reads the option letter with `galen eval`'s cascade (JSON `"answer"`, then
    "answer is", boxed, last option letter), limited to the item's letters (`option_letters`);
    yes / no / maybe reads the label. `open` rows get None. The reasoning is stripped first, so a letter
    named while thinking never counts, and an unclosed reasoning block scores 0.

    >>> completions = [
    ...     [{"role": "assistant", "content": 'K+ is 7.1: peaked T.\\n</think>\\n\\n{"answer": "B"}'}],
    ...     [{"role": "assistant", "content": 'Maybe B? No, A.\\n</think>\\n\\nThe answer is A.'}],
    ...     [{"role": "assistant", "content": 'B looks right but I ran out of'}],
    ...     [{"role": "assistant", "content": 'It worked.\\n</think>\\n\\n{"answer": "yes"}'}],
    ... ]
    >>> kinds = ["choice", "choice", "choice", "label"]
    >>> options = [["p", "q", "r", "s"]] * 3 + [["yes", "no", "maybe"]]
    >>> answer_reward(completions, answer=["B", "B", "B", "yes"], kind=kinds, choices=options)
    [1.0, 0.0, 0.0, 1.0]
    """
    rewards: list[float | None] = []
    for completion, gold, row_kind, options in zip(
        completions, answer, kind, _column(choices, len(completions)), strict=True
    ):
        reply = answer_part(completion_text(completion), thinking)
        if row_kind == "open":
            rewards.append(None)
        else:
            rewards.append(0.0 if reply is None else judge_answer(reply, gold, row_kind, options))
    return rewards


def think_format_reward(completions: list[Any], thinking: bool = True, **kwargs: Any) -> list[float]:
    """1.0 when the text holds exactly one closed think block, with reasoning in it, then an answer.

    With `thinking=True` the prompt already opened the block, so the completion must not open
    another one: it reasons, writes `</think>` once, then answers. With `thinking=False` the
    completion must open and close the block itself.

    >>> think_format_reward([
    ...     "Low ferritin means iron deficiency.\\n</think>\\n\\nC",  # one block, then an answer
    ...     "<think>again</think> C",                               # a second block opened
    ...     "Reasoning that never ends",                            # never closed
    ...     "Reasoning.</think>\\n\\n",                              # no answer after it
    ...     "A.</think>B</think>C",                                 # closed twice
    ... ])
    [1.0, 0.0, 0.0, 0.0, 0.0]
    >>> think_format_reward(["<think>\\nShort.\\n</think>\\n\\nB"], thinking=False)
    [1.0]
    """
    rewards = []
    for completion in completions:
        text = (THINK.open if thinking else "") + completion_text(completion)
        body = text.lstrip()
        ok = (
            body.startswith(THINK.open)
            and text.count(THINK.open) == 1
            and text.count(THINK.close) == 1
            and bool(body[len(THINK.open) : body.find(THINK.close)].strip())
            and bool(body[body.find(THINK.close) + len(THINK.close) :].strip())
        )
        rewards.append(1.0 if ok else 0.0)
    return rewards


def overlong_penalty(
    completions: list[Any], completion_ids: list[list[int]], max_tokens: int, buffer: int = 64, **kwargs: Any
) -> list[float]:
    """DAPO's soft overlong punishment: 0 up to `max_tokens - buffer` tokens, then linear to -1.

    A completion cut at `max_tokens` scores -1; `buffer = max_tokens` makes it a plain length
    penalty. (Yu et al., 2025, https://huggingface.co/papers/2503.14476, section 3.4.)

    >>> overlong_penalty([""] * 4, [[0] * 50, [0] * 96, [0] * 112, [0] * 128], max_tokens=128, buffer=32)
    [0.0, 0.0, -0.5, -1.0]
    """
    limit = max_tokens - buffer
    rewards = []
    for ids in completion_ids:
        n = len(ids)
        rewards.append(0.0 if n <= limit else max(-1.0, (limit - n) / buffer))
    return rewards


class RubricReward:
    """A judge model grades each answer against rubric items, HealthBench style (async).

    Each row's rubric comes from its `rubrics` column (HealthBench format: `[{"criterion": ...,
    "points": 5}, ...]`), else from `rubric` given here; a row with neither gets None. The
    reward is met points over positive points (negative points subtract), from
    `galen.evals.judges.healthbench`: one grader call per item, unparseable verdicts retried.
    `judge` is the base URL of any OpenAI-compatible server (galen serve, vLLM), reached through
    galen's one client with the served model `model` and the key in the environment variable
    `api_key_env` (a recipe names the variable, never the key, so no key reaches the run folder),
    or a `ModelClient`. TRL runs async rewards concurrently with the others. A failed judge call
    skips its row (None) with a warning instead of ending the run.
    """

    __name__ = "rubric_reward"

    def __init__(
        self,
        judge: Any,
        model: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        rubric: list[dict[str, Any]] | None = None,
        max_tokens: int = 512,
        max_retries: int = 2,
        thinking: bool = True,
    ) -> None:
        self.judge, self.model, self.api_key_env = judge, model, api_key_env
        self.rubric = rubric
        self.max_tokens, self.max_retries, self.thinking = max_tokens, max_retries, thinking
        self._endpoint: Any = None  # connected on first use: checking a recipe reaches no server

    def _client(self) -> Any:
        if not isinstance(self.judge, str):
            return self.judge
        if self._endpoint is None:
            from galen.engine.endpoint import EndpointClient

            self._endpoint = EndpointClient(self.judge, self.model, api_key_env=self.api_key_env)
        return self._endpoint

    async def _grade(self, prompt: Any, completion: Any, rubrics: Any) -> float | None:
        from galen.evals.clients import GenParams
        from galen.evals.judges.healthbench import HealthBenchExample, RubricItem, grade_example

        items = rubrics or self.rubric
        if not items or not any(float(i["points"]) > 0 for i in items):
            return None  # no positive points: HealthBench's score is undefined, so ask nothing
        reply = answer_part(completion_text(completion), self.thinking)
        if reply is None:
            return 0.0
        example = HealthBenchExample(
            "row",
            prompt if isinstance(prompt, list) else [{"role": "user", "content": str(prompt)}],
            [RubricItem(i["criterion"], float(i["points"]), tuple(i.get("tags", ()))) for i in items],
        )
        params = GenParams(max_tokens=self.max_tokens, temperature=0.0)
        try:
            grade = await grade_example(example, reply, self._client(), None, self.max_retries, params)
        except Exception as exc:  # a judge outage must not end a long run: skip the row, say so
            warnings.warn(f"rubric judge failed, row skipped: {type(exc).__name__}: {exc}", stacklevel=1)
            return None
        return grade.score

    async def __call__(
        self,
        completions: list[Any],
        prompts: list[Any] | None = None,
        rubrics: list[Any] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        n = len(completions)
        return list(
            await asyncio.gather(
                *(
                    self._grade(p, c, r)
                    for p, c, r in zip(_column(prompts, n), completions, _column(rubrics, n), strict=True)
                )
            )
        )


def zero_advantage_fraction(rewards: Sequence[float], group_size: int) -> float:
    """The fraction of prompt groups whose completions all got the same total reward.

    GRPO's advantage is a completion's reward minus its group's mean, so such a group has zero
    advantage everywhere and teaches nothing. Rewards come in groups of `group_size`
    consecutive completions of one prompt, as TRL orders them.

    >>> zero_advantage_fraction([1.0, 1.0, 0.0, 1.0, 0.5, 0.5], group_size=2)
    0.6666666666666666
    """
    groups = [rewards[i : i + group_size] for i in range(0, len(rewards), group_size)]
    if not groups:
        return 0.0
    flat = sum(1 for g in groups if max(g) - min(g) <= 1e-6 * max(1.0, abs(max(g))))
    return flat / len(groups)


# -- factories, by the names recipes use ----------------------------------------------------------


def get_answer_reward(thinking: bool = True) -> RewardFunc:
    return answer_reward if thinking else functools.partial(answer_reward, thinking=False)


def get_think_format_reward(thinking: bool = True) -> RewardFunc:
    return think_format_reward if thinking else functools.partial(think_format_reward, thinking=False)


def get_overlong_penalty(max_tokens: int, buffer: int = 64) -> RewardFunc:
    if not 0 < buffer <= max_tokens:
        raise ValueError(f"buffer ({buffer}) must be between 1 and max_tokens ({max_tokens})")
    return functools.partial(overlong_penalty, max_tokens=max_tokens, buffer=buffer)


REWARDS: dict[str, Callable[..., RewardFunc]] = {
    "answer": get_answer_reward,
    "think_format": get_think_format_reward,
    "overlong": get_overlong_penalty,
    "rubric": RubricReward,
}


def build_rewards(specs: Sequence[Any]) -> tuple[list[RewardFunc], list[float]]:
    """Reward functions and weights from a recipe's `rewards` list (already validated)."""
    return [REWARDS[s.name](**s.args) for s in specs], [s.weight for s in specs]
