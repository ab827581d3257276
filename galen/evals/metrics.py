"""Scores and their uncertainty: accuracy, macro-F1, confidence intervals, paired tests, votes.

Pure functions on plain sequences, standard library only. A prediction of None (nothing could
be extracted) always counts as wrong. Bootstraps draw from `random.Random(seed)`, so the same
inputs and seed give the same interval; percentile intervals interpolate linearly between order
statistics, as numpy's default `percentile` does.

>>> accuracy(["A", "B", "C", "D"], ["A", "B", None, "A"])
0.5
>>> [round(x, 4) for x in wilson_ci(2, 4)]
[0.15, 0.85]
"""

from __future__ import annotations

import math
import random
import statistics
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

Stat = Callable[[Sequence[float]], float]
OUTCOMES = ("win", "loss", "tie")


class Interval(NamedTuple):
    """A confidence interval; unpacks as `low, high = ...`."""

    low: float
    high: float


class MeanStderr(NamedTuple):
    """A mean and its standard error; unpacks as `mean, stderr = ...`."""

    mean: float
    stderr: float


@dataclass(frozen=True)
class PairedDiff:
    """B minus A on the same items: mean difference, percentile CI, two-sided bootstrap p-value."""

    mean_diff: float
    ci_low: float
    ci_high: float
    p_value: float


@dataclass(frozen=True)
class McNemar:
    """Exact McNemar test. b01: items A got wrong and B right; b10: A right and B wrong.

    statistic: min(b01, b10), as statsmodels' `mcnemar(table, exact=True)` reports it.
    """

    b01: int
    b10: int
    statistic: float
    p_value: float


@dataclass(frozen=True)
class WinRate:
    """Pairwise judgement rates with bootstrap CIs; net = win - loss."""

    n: int
    win: float
    loss: float
    tie: float
    net: float
    win_ci: Interval
    loss_ci: Interval
    tie_ci: Interval
    net_ci: Interval


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean; raises ValueError on no values.

    >>> mean([1, 0, 1, 1])
    0.75
    """
    if not values:
        raise ValueError("values: need at least one value to average")
    return math.fsum(values) / len(values)


def _check_paired(a: Sequence[object], b: Sequence[object], names: str) -> None:
    if len(a) != len(b):
        raise ValueError(f"{names}: lengths differ ({len(a)} vs {len(b)}); pass one entry per item")


def accuracy(golds: Sequence[str], preds: Sequence[str | None]) -> float:
    """Fraction of exact matches; None predictions are wrong.

    >>> accuracy(["yes", "no"], ["yes", None])
    0.5
    """
    _check_paired(golds, preds, "golds/preds")
    return mean([float(p is not None and p == g) for g, p in zip(golds, preds, strict=True)])


def mean_stderr(values: Sequence[float]) -> MeanStderr:
    """Mean and sample standard error (ddof=1); stderr is 0 for fewer than two values.

    No values give (0.0, 0.0), so an empty run scores 0 rather than failing its report.

    >>> m, se = mean_stderr([1, 0, 1, 0])
    >>> m, round(se, 4)
    (0.5, 0.2887)
    """
    if not values:
        return MeanStderr(0.0, 0.0)
    m = mean(values)
    if len(values) < 2:
        return MeanStderr(m, 0.0)
    return MeanStderr(m, statistics.stdev(values) / math.sqrt(len(values)))


def wilson_ci(successes: int, n: int, z: float = 1.96) -> Interval:
    """Wilson score interval for a proportion; (0, 1) when n is 0.

    >>> low, high = wilson_ci(0, 10)
    >>> low, round(high, 4)
    (0.0, 0.2775)
    """
    if not 0 <= successes <= n:
        raise ValueError(f"successes: must be between 0 and n ({n}), got {successes}")
    if n == 0:
        return Interval(0.0, 1.0)
    p = successes / n
    z2 = z * z
    denom = 1 + z2 / n
    center = (p + z2 / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    low = 0.0 if successes == 0 else max(0.0, center - half)
    high = 1.0 if successes == n else min(1.0, center + half)
    return Interval(low, high)


def normal_ci(mean: float, stderr: float, z: float = 1.96) -> Interval:
    """Normal-approximation interval mean +/- z * stderr.

    >>> normal_ci(0.5, 0.1)
    Interval(low=0.304, high=0.696)
    """
    return Interval(mean - z * stderr, mean + z * stderr)


def _f1(tp: int, fp: int, fn: int) -> float:
    denom = 2 * tp + fp + fn
    return 2 * tp / denom if denom else 0.0


def macro_f1(golds: Sequence[str], preds: Sequence[str | None], labels: Sequence[str]) -> float:
    """Per-label F1 averaged over `labels`, as sklearn's f1_score(average="macro", zero_division=0).

    A None or out-of-label prediction is a miss for the gold label and a false positive for none.

    >>> macro_f1(["yes", "yes", "no", "maybe"], ["yes", "no", "no", None], ["yes", "no", "maybe"])
    0.4444444444444444
    """
    _check_paired(golds, preds, "golds/preds")
    if not labels:
        raise ValueError("labels: need at least one label to average over")
    scores = []
    for label in labels:
        tp = sum(g == label and p == label for g, p in zip(golds, preds, strict=True))
        fp = sum(g != label and p == label for g, p in zip(golds, preds, strict=True))
        fn = sum(g == label and p != label for g, p in zip(golds, preds, strict=True))
        scores.append(_f1(tp, fp, fn))
    return mean(scores)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th quantile (0 <= q <= 1), linear between order statistics (numpy's default).

    >>> percentile([1, 2, 3, 4], 0.5)
    2.5
    """
    xs = sorted(values)
    pos = q * (len(xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _resample_indices(n: int, n_resamples: int, seed: int) -> Iterator[list[int]]:
    """n_resamples draws of n item indices with replacement, reproducible from `seed`."""
    rng = random.Random(seed)
    for _ in range(n_resamples):
        yield rng.choices(range(n), k=n)


def _bootstrap(values: Sequence[float], stat: Stat, n_resamples: int, seed: int) -> list[float]:
    if not values:
        raise ValueError("values: need at least one value to bootstrap")
    return [stat([values[i] for i in idx]) for idx in _resample_indices(len(values), n_resamples, seed)]


def _interval(stats: Sequence[float], alpha: float) -> Interval:
    return Interval(percentile(stats, alpha / 2), percentile(stats, 1 - alpha / 2))


def bootstrap_ci(
    values: Sequence[float], stat: Stat = mean, n_resamples: int = 1000, seed: int = 0, alpha: float = 0.05
) -> Interval:
    """Percentile bootstrap (1 - alpha) interval of `stat` over `values`.

    >>> bootstrap_ci([1.0] * 5)
    Interval(low=1.0, high=1.0)
    """
    return _interval(_bootstrap(values, stat, n_resamples, seed), alpha)


def bootstrap_std(
    values: Sequence[float], n_resamples: int = 1000, seed: int = 0, *, stat: Stat = mean
) -> float:
    """Standard deviation (ddof=1) of `stat` over bootstrap resamples: a bootstrap stderr.

    >>> bootstrap_std([0.0, 0.0, 0.0])
    0.0
    """
    return statistics.stdev(_bootstrap(values, stat, n_resamples, seed))


def _two_sided_p(diffs: Sequence[float], observed: float) -> float:
    """2 x the fraction of resampled diffs on the other side of 0 from `observed` (or at 0)."""
    if observed == 0:
        return 1.0
    against = sum(d <= 0 for d in diffs) if observed > 0 else sum(d >= 0 for d in diffs)
    return min(1.0, 2 * against / len(diffs))


def paired_bootstrap(
    a: Sequence[float], b: Sequence[float], n_resamples: int = 1000, seed: int = 0, alpha: float = 0.05
) -> PairedDiff:
    """Is B better than A on the same items? Resamples items, keeping each item's pair.

    >>> paired_bootstrap([0, 0, 0, 0], [1, 1, 1, 1])
    PairedDiff(mean_diff=1.0, ci_low=1.0, ci_high=1.0, p_value=0.0)
    """
    _check_paired(a, b, "a/b")
    deltas = [y - x for x, y in zip(a, b, strict=True)]
    diffs = _bootstrap(deltas, mean, n_resamples, seed)
    observed = mean(b) - mean(a)
    low, high = _interval(diffs, alpha)
    return PairedDiff(observed, low, high, _two_sided_p(diffs, observed))


def binom_two_sided_half(k: int, n: int) -> float:
    """Exact two-sided binomial p-value of k successes in n trials at p = 1/2.

    >>> round(binom_two_sided_half(1, 10), 6)
    0.021484
    """
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(k, n - k) + 1))
    return min(1.0, 2 * tail / 2**n)


def mcnemar(a_correct: Sequence[bool], b_correct: Sequence[bool]) -> McNemar:
    """Exact McNemar test on discordant pairs, as statsmodels' mcnemar(table, exact=True).

    >>> mcnemar([True] * 9 + [False], [False] * 9 + [True])
    McNemar(b01=1, b10=9, statistic=1.0, p_value=0.021484375)
    """
    _check_paired(a_correct, b_correct, "a_correct/b_correct")
    pairs = list(zip(a_correct, b_correct, strict=True))
    b01 = sum(not x and bool(y) for x, y in pairs)
    b10 = sum(bool(x) and not y for x, y in pairs)
    return McNemar(b01, b10, float(min(b01, b10)), binom_two_sided_half(min(b01, b10), b01 + b10))


def majority_vote(answers: Sequence[str | None]) -> str | None:
    """Most common answer, ignoring None; ties go to the answer seen first. None if all None.

    >>> majority_vote(["B", None, "C", "C", "B"])
    'B'
    """
    counts = Counter(a for a in answers if a is not None)
    if not counts:
        return None
    top = max(counts.values())
    return next(a for a in answers if a is not None and counts[a] == top)


def maj_at_k(answers: Sequence[str | None], gold: str, k: int) -> bool:
    """Whether the majority vote of the first k sampled answers is the gold answer.

    >>> maj_at_k(["A", "B", "B", "A", "A"], "B", 3)
    True
    """
    if not 1 <= k <= len(answers):
        raise ValueError(f"k: must be between 1 and the number of answers ({len(answers)}), got {k}")
    return majority_vote(answers[:k]) == gold


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples of which c are correct (Chen et al., 2021).

    >>> pass_at_k(4, 1, 2)
    0.5
    """
    if not (0 <= c <= n and 1 <= k <= n):
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def _rates(outcomes: Sequence[str]) -> tuple[float, float, float, float]:
    n = len(outcomes)
    win, loss = outcomes.count("win") / n, outcomes.count("loss") / n
    return win, loss, outcomes.count("tie") / n, win - loss


def win_rate(outcomes: Sequence[str], n_resamples: int = 1000, seed: int = 0, alpha: float = 0.05) -> WinRate:
    """Win, loss, tie and net (win - loss) rates of "win"/"loss"/"tie" judgements, with bootstrap CIs.

    >>> r = win_rate(["win", "win", "loss", "tie"])
    >>> (r.win, r.loss, r.tie, r.net)
    (0.5, 0.25, 0.25, 0.25)
    """
    if not outcomes:
        raise ValueError("outcomes: need at least one judgement")
    unknown = sorted(set(outcomes) - set(OUTCOMES))
    if unknown:
        raise ValueError(f"outcomes: expected 'win', 'loss' or 'tie', got {unknown}")
    resampled = [
        _rates([outcomes[i] for i in idx]) for idx in _resample_indices(len(outcomes), n_resamples, seed)
    ]
    cis = [_interval([r[j] for r in resampled], alpha) for j in range(4)]
    return WinRate(len(outcomes), *_rates(outcomes), *cis)
