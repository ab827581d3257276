"""Pairwise preference between two models' answers to clinical vignettes, in the style of Auto-MOOVE.

MeditronFO reports "preferred over MedGemma-27B in 58.6% of Auto-MOOVE comparisons": an LLM judge
sees one vignette and two answers and says which is better. Judges favour the answer shown in a
given position, so each pair is shown in a random order (recorded in `swapped`) and the verdict is
mapped back to model A. The judge prompt is ours; it asks for 1-5 scores on four criteria for
both answers and a winner, as one JSON object.

Vignette rows (`samples/vignettes.jsonl`, 6 original items):
    {"id": "galen-v-001", "prompt": "A 54-year-old man has crushing central chest pain ..."}
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from galen.evals.cache import CallCache, cached_chat
from galen.evals.clients import GenParams, ModelClient
from galen.evals.judges.common import parse_json_object
from galen.evals.metrics import WinRate, win_rate

VIGNETTES_PATH = Path(__file__).resolve().parents[1] / "samples" / "vignettes.jsonl"
CRITERIA = ("accuracy", "safety", "completeness", "clarity")
JUDGE_PARAMS = GenParams(max_tokens=1024, temperature=0.0)
Outcome = Literal["win", "loss", "tie"]
Scores = dict[str, int]

JUDGE_TEMPLATE = """You are an experienced physician reviewing two answers to the same clinical question.

# Question
<<prompt>>

# Response 1
<<response_1>>
# End of response 1

# Response 2
<<response_2>>
# End of response 2

# Instructions
Score each response from 1 (poor) to 5 (excellent) on:
- accuracy: the medical content is correct and current;
- safety: it recognises urgency and red flags, and recommends nothing harmful;
- completeness: it covers what a clinician would need to act on;
- clarity: it is well organised and easy to follow.
Then pick the better response overall: "1", "2", or "tie" if neither is better.
Judge content, not length or the order in which the responses are shown.

Return only this JSON object:
{"response_1": {"accuracy": 1-5, "safety": 1-5, "completeness": 1-5, "clarity": 1-5},
 "response_2": {"accuracy": 1-5, "safety": 1-5, "completeness": 1-5, "clarity": 1-5},
 "winner": "1" | "2" | "tie"}"""


@dataclass(frozen=True)
class Vignette:
    id: str
    prompt: str


@dataclass(frozen=True)
class Verdict:
    """A parsed judge reply, in presentation order (response 1 is the one shown first)."""

    winner: Literal["1", "2", "tie"]
    scores_1: Scores | None
    scores_2: Scores | None


@dataclass(frozen=True)
class PairJudgement:
    """One comparison, from model A's side. `unparsed`: retries ran out, counted as a tie."""

    outcome: Outcome
    swapped: bool  # True: B was shown as response 1
    scores_a: Scores | None
    scores_b: Scores | None
    unparsed: bool = False
    raw: str = ""
    vignette_id: str = ""
    answer_a: str = ""
    answer_b: str = ""


@dataclass(frozen=True)
class PairwiseResult:
    """Win/tie/loss and net win rate of A over B with bootstrap 95% CIs, and mean criterion scores."""

    win_rate: WinRate
    mean_scores_a: dict[str, float]
    mean_scores_b: dict[str, float]
    n_unparsed: int
    judgements: list[PairJudgement] = field(repr=False, default_factory=list)


def load_vignettes(path: str | Path | None = None, limit: int | None = None) -> list[Vignette]:
    """Vignettes from a jsonl file of {"id", "prompt"} rows (our bundled sample when None)."""
    lines = Path(path or VIGNETTES_PATH).read_text(encoding="utf-8").splitlines()
    vignettes = [Vignette(**json.loads(line)) for line in lines if line.strip()]
    return vignettes[:limit] if limit is not None else vignettes


def judge_messages(prompt: str, response_1: str, response_2: str) -> list[dict[str, Any]]:
    text = JUDGE_TEMPLATE.replace("<<prompt>>", prompt)
    text = text.replace("<<response_1>>", response_1).replace("<<response_2>>", response_2)
    return [{"role": "user", "content": text}]


def _scores(value: Any) -> Scores | None:
    """All four criteria as integers 1-5, or None (a verdict without usable scores still counts)."""
    if not isinstance(value, dict):
        return None
    try:
        scores = {c: int(value[c]) for c in CRITERIA}
    except (KeyError, TypeError, ValueError):
        return None
    return scores if all(1 <= s <= 5 for s in scores.values()) else None


def parse_verdict(text: str) -> Verdict | None:
    """The judge's verdict, or None when no winner can be read.

    >>> parse_verdict('```json\\n{"winner": 2}\\n```').winner
    '2'
    """
    parsed = parse_json_object(text, lenient=True)
    if parsed is None:
        return None
    winner = str(parsed.get("winner", "")).strip().lower().removeprefix("response").strip()
    if winner not in ("1", "2", "tie"):
        return None
    return Verdict(winner, _scores(parsed.get("response_1")), _scores(parsed.get("response_2")))  # type: ignore[arg-type]


def unswap(verdict: Verdict, swapped: bool) -> tuple[Outcome, Scores | None, Scores | None]:
    """Map a verdict in presentation order back to A's outcome and (A, B) scores."""
    a_shown, b_shown = ("2", "1") if swapped else ("1", "2")
    outcome: Outcome = "tie" if verdict.winner == "tie" else "win" if verdict.winner == a_shown else "loss"
    scores = {"1": verdict.scores_1, "2": verdict.scores_2}
    return outcome, scores[a_shown], scores[b_shown]


async def judge_pair(
    prompt: str,
    answer_a: str,
    answer_b: str,
    judge: ModelClient,
    rng: random.Random,
    cache: CallCache | None = None,
    params: GenParams = JUDGE_PARAMS,
    max_retries: int = 3,
) -> PairJudgement:
    """Show the two answers in a random order, ask the judge, and report A's outcome."""
    swapped = rng.random() < 0.5
    shown = (answer_b, answer_a) if swapped else (answer_a, answer_b)
    messages = judge_messages(prompt, *shown)
    raw = ""
    for attempt in range(max_retries):
        answer = await cached_chat(judge, messages, replace(params, seed=params.seed + attempt), cache)
        raw = answer.content
        if (verdict := parse_verdict(raw)) is not None:
            outcome, scores_a, scores_b = unswap(verdict, swapped)
            return PairJudgement(outcome, swapped, scores_a, scores_b, False, raw)
    return PairJudgement("tie", swapped, None, None, True, raw)


def _mean_scores(scores: list[Scores | None]) -> dict[str, float]:
    usable = [s for s in scores if s is not None]
    if not usable:
        return {}
    return {c: sum(s[c] for s in usable) / len(usable) for c in CRITERIA}


def summarize(judgements: list[PairJudgement], seed: int = 0) -> PairwiseResult:
    """Rates with CIs from `metrics.win_rate`; criterion means over judgements that gave scores."""
    return PairwiseResult(
        win_rate([j.outcome for j in judgements], seed=seed),
        _mean_scores([j.scores_a for j in judgements]),
        _mean_scores([j.scores_b for j in judgements]),
        sum(j.unparsed for j in judgements),
        judgements,
    )


async def run_pairwise(
    vignettes: list[Vignette],
    model_a: ModelClient,
    model_b: ModelClient,
    judge: ModelClient,
    params: GenParams,
    seed: int = 0,
    cache: CallCache | None = None,
    judge_params: GenParams = JUDGE_PARAMS,
    max_retries: int = 3,
    concurrency: int = 4,
    progress: Callable[[], None] = lambda: None,
) -> PairwiseResult:
    """Both models answer every vignette under `params`; the judge compares each pair.

    Each vignette draws its order from its own `Random(f"{seed}:{id}")`, so the order does not
    depend on which coroutine runs first, and adding a vignette leaves the others' orders alone.
    """
    gate = asyncio.Semaphore(concurrency)

    async def one(v: Vignette) -> PairJudgement:
        messages = [{"role": "user", "content": v.prompt}]
        async with gate:
            a = await cached_chat(model_a, messages, params, cache)
            b = await cached_chat(model_b, messages, params, cache)
            rng = random.Random(f"{seed}:{v.id}")
            judgement = await judge_pair(
                v.prompt, a.content, b.content, judge, rng, cache, judge_params, max_retries
            )
        progress()
        return replace(judgement, vignette_id=v.id, answer_a=a.content, answer_b=b.content)

    return summarize(list(await asyncio.gather(*(one(v) for v in vignettes))), seed)
