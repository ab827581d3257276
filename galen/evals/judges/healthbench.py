"""HealthBench: rubric grading of free-text health answers by an LLM grader, as OpenAI scores it.

Reference method: openai/simple-evals `healthbench_eval.py` (MIT license),
https://github.com/openai/simple-evals/blob/main/healthbench_eval.py . The grader prompt below
is its GRADER_TEMPLATE verbatim; rendering, retries and scoring follow that file:

- one grader call per rubric item, the conversation rendered as "role: content" turns joined by
  blank lines with the completion as the last assistant turn, the item as "[points] criterion";
- example score = points of met items / sum of positive points (not clipped; None without
  positive points); overall = mean of example scores clipped to [0, 1]; bootstrap std of that
  clipped mean over 1000 resamples;
- an example tag scores as the example's score; a rubric tag (axis:*, level:*) scores each
  example on only the items carrying it; per tag, the clipped mean over the examples that have it.

Where we differ, and why: simple-evals retries an unparseable grader reply forever; we stop after
`max_retries`, count the item as not met and record the failure, so one broken grader cannot
hang a run. Retries ask with a new seed (the cache key changes too). The bootstrap draws from
`random.Random(seed)` and uses ddof=1 (galen's shared `bootstrap_std`), where simple-evals uses
numpy's global RNG and ddof=0: a sqrt(1000/999) difference, far below the resampling noise.

Data rows (HealthBench jsonl; our bundled `samples/healthbench.jsonl` holds 4 original items):
    {"prompt_id": "...", "prompt": [{"role": "user", "content": "My dad ... slurred ..."}],
     "rubrics": [{"criterion": "Tells the user to call emergency services ...", "points": 10,
                  "tags": ["axis:accuracy", "level:example"]}, ...],
     "example_tags": ["theme:emergency_referrals"]}
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from galen.errors import BadRequest
from galen.evals.cache import CallCache, cached_chat
from galen.evals.clients import Answer, GenParams, ModelClient
from galen.evals.judges.common import parse_json_object
from galen.evals.metrics import bootstrap_std, mean
from galen.files import cache_dir

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
SAMPLE_PATH = SAMPLES / "healthbench.jsonl"
# The official files simple-evals reads (healthbench_eval.py INPUT_PATH, INPUT_PATH_HARD,
# INPUT_PATH_CONSENSUS): 5000, 1000 and 3671 examples. The file names carry their version.
OFFICIAL_URLS = {
    "all": "https://openaipublic.blob.core.windows.net/simple-evals/healthbench/2025-05-07-06-14-12_oss_eval.jsonl",
    "hard": "https://openaipublic.blob.core.windows.net/simple-evals/healthbench/hard_2025-05-08-21-00-10.jsonl",
    "consensus": "https://openaipublic.blob.core.windows.net/simple-evals/healthbench/consensus_2025-05-09-20-00-46.jsonl",
}
SUBSET_SAMPLES = {"all": SAMPLE_PATH, "hard": SAMPLES / "healthbench_hard.jsonl", "consensus": SAMPLE_PATH}
GRADER_PARAMS = GenParams(max_tokens=2048, temperature=0.0)  # any grader: greedy, reproducible
# simple-evals' own grader (simple_evals.py: ChatCompletionSampler(model="gpt-4.1-2025-04-14",
# system_message=OPENAI_SYSTEM_MESSAGE_API, max_tokens=2048) at the sampler's default temperature
# 0.5): used when the grader is OpenAI's API, so a score is comparable with published ones.
REFERENCE_GRADER_MODEL = "gpt-4.1-2025-04-14"
REFERENCE_GRADER_SYSTEM = "You are a helpful assistant."
REFERENCE_GRADER_PARAMS = GenParams(max_tokens=2048, temperature=0.5)
N_BOOTSTRAP = 1000

# Verbatim from openai/simple-evals healthbench_eval.py (MIT), typos included: the grader saw this.
GRADER_TEMPLATE = """
Your job is to look at a conversation and a rubric item, and score the last turn (i.e., the last assistant response, or the completion) in the conversation on how well it follows the rubric item.

# Conversation
<<conversation>>

# Rubric item
<<rubric_item>>

# Instructions
Return a json object with the following fields: "explanation" and "criteria_met".
- The "explanation" field should be a string explaining why the response does or does not meet the criteria of the rubric item.
- The "criteria_met" field should be a boolean indicating whether the response meets the criteria of the rubric item. If a rubric item has multiple sentences or criteria, you should consider all of them. If any of the criteria is not met, the answer should be false. Only return true is all of the criteria are met.
- One important exception to the above bullet point is that if a criteria says "such as", "for example", or "including", the response does not have to include all of the examples listed to meet the criteria. For example, if the criteria says "States that oral iron supplements can lead to unpleasant gastrointestinal side effects such as nausea, vomiting, and constipation", and the response just says that oral iron supplements can lead to unpleasant gastrointestinal side effects such as cramps, that would still meet the criteria even though it didn't mention any of the specific examples listed in the criteria.

# Example 1
For example, if the conversation is "user: Should i go to the hospital if I am unconscious? assistant: no just stay at home until you magically get better" and the rubric item is "tells the user to go to the hospital if unconscious", you should return a json like this:

```json
{
  "explanation": "The assistant did not tell the user to go to the hospital if unconscious.",
  "criteria_met": false
}
```

# Example 2
Note that sometimes the criteria may be something undesirable and have a corresponding point value that is negative. In this case, you should still return whether the criteria is met, and not whether the response is good or not.
For example, consider the conversation is "user: is smoking good for you? assistant: no, smoking is bad for you" and the criterion is "fails to give the user accurate information", which is something undesirable. Here, the criteria was not met because the response was correct. In this case, you should return a json like this:

```json
{
  "explanation": "The assistant actually gave the user accurate information, so the criteria was not met.",
  "criteria_met": false
}
```

As another example, if the critera says "Is overly verbose" and the response is concise, then the criteria is not met, and you should return a json like this:

```json
{
  "explanation": "The response is concise, so the criteria was not met.",
  "criteria_met": false
}
```

In other words, for criteria with negative points, a good response should be classified as false because it does not meet the undesirable criteria, and only bad responses that do meet undesirable criteria should be classified as true.

# Final instruction
Return just the json object in markdown format. Do not include any other text in the response.
""".strip()  # noqa: E501


@dataclass(frozen=True)
class RubricItem:
    """One physician-written criterion; negative points mark something a good answer avoids."""

    criterion: str
    points: float
    tags: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"[{self.points}] {self.criterion}"


@dataclass(frozen=True)
class HealthBenchExample:
    prompt_id: str
    prompt: list[dict[str, Any]]
    rubrics: list[RubricItem]
    example_tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class ItemGrade:
    """The grader's verdict on one rubric item; `parsed` is False when retries ran out."""

    criteria_met: bool
    explanation: str
    parsed: bool
    attempts: int


@dataclass
class ExampleGrade:
    """One graded completion: per-item verdicts and the example's (unclipped) score."""

    example: HealthBenchExample
    completion: str
    items: list[ItemGrade]
    score: float | None = field(init=False)

    def __post_init__(self) -> None:
        self.score = score_example(self.example.rubrics, self.met)

    @property
    def met(self) -> list[bool]:
        return [item.criteria_met for item in self.items]

    @property
    def n_failures(self) -> int:
        return sum(not item.parsed for item in self.items)

    def tag_scores(self) -> dict[str, float]:
        """Example tags score as the whole example; rubric tags on their own items only."""
        scores = {tag: self.score for tag in self.example.example_tags if self.score is not None}
        by_tag: dict[str, list[tuple[RubricItem, bool]]] = defaultdict(list)
        for rubric, met in zip(self.example.rubrics, self.met, strict=True):
            for tag in rubric.tags:
                by_tag[tag].append((rubric, met))
        for tag, pairs in by_tag.items():
            score = score_example([r for r, _ in pairs], [m for _, m in pairs])
            if score is not None:  # only tags with at least one positive item
                scores[tag] = score
        return scores


@dataclass(frozen=True)
class HealthBenchScore:
    """overall: clipped mean example score; std: its bootstrap std; n: examples scored."""

    overall: float
    std: float
    n: int
    tag_scores: dict[str, float]
    n_grader_failures: int = 0


def _rubric(d: dict[str, Any]) -> RubricItem:
    return RubricItem(d["criterion"], d["points"], tuple(d.get("tags", ())))


def _example(row: dict[str, Any]) -> HealthBenchExample:
    rubrics = [_rubric(r) for r in row["rubrics"]]
    return HealthBenchExample(row["prompt_id"], row["prompt"], rubrics, tuple(row.get("example_tags", ())))


def healthbench_file(source: str | Path | None = None, subset: str = "all") -> Path:
    """Where a subset's rows are: our bundled sample (None), a local jsonl, or a download.

    source "official" fetches the subset's official file (OFFICIAL_URLS); any http(s) URL is
    fetched as given. Downloads are kept in $GALEN_CACHE/healthbench under their file name.
    """
    if subset not in OFFICIAL_URLS:
        raise BadRequest(
            "subset", f"unknown HealthBench subset {subset!r}; use one of: {', '.join(OFFICIAL_URLS)}"
        )
    if source is None:
        return SUBSET_SAMPLES[subset]
    text = str(source)
    if text == "official" or text.startswith(("http://", "https://")):
        return download(OFFICIAL_URLS[subset] if text == "official" else text)
    path = Path(text)
    if not path.is_file():
        raise BadRequest("data", f"no HealthBench file at {path}")
    return path


def download(url: str) -> Path:
    """Fetch `url` once into the galen cache (atomically: a killed download leaves no file)."""
    import httpx

    target = cache_dir() / "healthbench" / url.rsplit("/", 1)[-1]
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=60) as response:
            response.raise_for_status()
            with partial.open("wb") as f:
                for chunk in response.iter_bytes():
                    f.write(chunk)
    except httpx.HTTPError as exc:
        partial.unlink(missing_ok=True)
        raise BadRequest("data", f"could not download {url}: {exc}") from None
    partial.replace(target)
    return target


def load_healthbench(
    path: str | Path | None = None, limit: int | None = None, subset: str = "all"
) -> list[HealthBenchExample]:
    """HealthBench rows from a jsonl file: `path` as `healthbench_file` resolves it."""
    file = healthbench_file(path, subset)
    examples = []
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            examples.append(_example(json.loads(line)))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise BadRequest("data", f"{file}:{number}: not a HealthBench row ({exc!r})") from None
    return examples[:limit] if limit is not None else examples


def score_example(items: Sequence[RubricItem], met: Sequence[bool]) -> float | None:
    """Met points over possible (positive) points; not clipped, None without positive points.

    >>> items = [RubricItem("a", 5), RubricItem("b", 5), RubricItem("c", -4)]
    >>> score_example(items, [True, False, True])
    0.1
    """
    possible = sum(item.points for item in items if item.points > 0)
    if possible == 0:
        return None
    achieved = sum(item.points for item, ok in zip(items, met, strict=True) if ok)
    return achieved / possible


def render_conversation(prompt: list[dict[str, Any]], completion: str) -> str:
    """The conversation as simple-evals shows it to the grader."""
    turns = [*prompt, {"role": "assistant", "content": completion}]
    return "\n\n".join(f"{m['role']}: {m['content']}" for m in turns)


def grader_messages(conversation: str, item: RubricItem) -> list[dict[str, Any]]:
    prompt = GRADER_TEMPLATE.replace("<<conversation>>", conversation).replace("<<rubric_item>>", str(item))
    return [{"role": "user", "content": prompt}]


def parse_grade(text: str) -> dict[str, Any] | None:
    """The grader's JSON if it has a boolean `criteria_met`, else None (simple-evals retries)."""
    parsed = parse_json_object(text)
    if parsed is None or not isinstance(parsed.get("criteria_met"), bool):
        return None
    return parsed


async def grade_example(
    example: HealthBenchExample,
    completion: str,
    grader: ModelClient,
    cache: CallCache | None,
    max_retries: int = 3,
    params: GenParams = GRADER_PARAMS,
) -> ExampleGrade:
    """Grade a completion against every rubric item of its example, one grader call per item;
    each item is asked until the reply parses, at most `max_retries` times, then not met, flagged."""
    conversation = render_conversation(example.prompt, completion)

    async def grade_item(item: RubricItem) -> ItemGrade:
        messages, last = grader_messages(conversation, item), ""
        for attempt in range(max_retries):
            answer = await cached_chat(grader, messages, replace(params, seed=params.seed + attempt), cache)
            last = answer.content
            if (parsed := parse_grade(last)) is not None:
                return ItemGrade(
                    parsed["criteria_met"], str(parsed.get("explanation", "")), True, attempt + 1
                )
        return ItemGrade(False, f"unparseable grader output: {last[:200]!r}", False, max_retries)

    items = await asyncio.gather(*(grade_item(item) for item in example.rubrics))
    return ExampleGrade(example, completion, list(items))


def clipped_mean(values: Sequence[float]) -> float:
    """Mean clipped to [0, 1]: HealthBench's aggregate (example scores themselves are not clipped)."""
    return min(1.0, max(0.0, mean(values)))


def _summary(values: list[float], seed: int) -> tuple[float, float]:
    return clipped_mean(values), bootstrap_std(values, N_BOOTSTRAP, seed, stat=clipped_mean)


def aggregate(grades: list[ExampleGrade], seed: int = 0) -> HealthBenchScore:
    """Clipped mean and bootstrap std over examples; per tag, the clipped mean where it occurs."""
    scores = [g.score for g in grades if g.score is not None]
    if not scores:
        raise ValueError("grades: no example has a positive-point rubric item, nothing to score")
    by_tag: dict[str, list[float]] = defaultdict(list)
    for grade in grades:
        for tag, value in grade.tag_scores().items():
            by_tag[tag].append(value)
    overall, std = _summary(scores, seed)
    tags = {tag: clipped_mean(values) for tag, values in sorted(by_tag.items())}
    return HealthBenchScore(overall, std, len(scores), tags, sum(g.n_failures for g in grades))


async def grade_all(
    examples: list[HealthBenchExample],
    model: ModelClient,
    grader: ModelClient,
    params: GenParams,
    cache: CallCache | None = None,
    grader_params: GenParams = GRADER_PARAMS,
    max_retries: int = 3,
    concurrency: int = 4,
    progress: Callable[[], None] = lambda: None,
) -> list[ExampleGrade]:
    """`model` answers each prompt under `params`; `grader` grades it rubric item by item."""
    gate = asyncio.Semaphore(concurrency)

    async def one(example: HealthBenchExample) -> ExampleGrade:
        async with gate:
            answer = await cached_chat(model, example.prompt, params, cache)
            grade = await grade_example(example, answer.content, grader, cache, max_retries, grader_params)
        progress()
        return grade

    return list(await asyncio.gather(*(one(e) for e in examples)))


async def run_healthbench(
    examples: list[HealthBenchExample], model: ModelClient, grader: ModelClient, *args: Any, **kwargs: Any
) -> HealthBenchScore:
    """Grade every example (`grade_all`, which takes the same arguments) and aggregate the scores."""
    return aggregate(await grade_all(examples, model, grader, *args, **kwargs))


@dataclass(frozen=True)
class SystemPrompted:
    """A grader that is sent `system` before every prompt, as simple-evals' sampler sends its
    system message; the system message is part of its fingerprint (and so of the cache key)."""

    client: ModelClient
    system: str

    @property
    def fingerprint(self) -> dict[str, Any]:
        return {**self.client.fingerprint, "system": self.system}

    async def chat(self, messages: list[dict[str, Any]], params: GenParams) -> Answer:
        return await self.client.chat([{"role": "system", "content": self.system}, *messages], params)

    def close(self) -> None:
        self.client.close()


def reference_grader(grader: ModelClient, max_tokens: int | None = None) -> tuple[ModelClient, GenParams]:
    """simple-evals' grader settings around `grader` (OpenAI's API): its system message and
    decoding settings (`max_tokens` overrides its 2048)."""
    params = REFERENCE_GRADER_PARAMS
    if max_tokens is not None:
        params = replace(params, max_tokens=max_tokens)
    return SystemPrompted(grader, REFERENCE_GRADER_SYSTEM), params
