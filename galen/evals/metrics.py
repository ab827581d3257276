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


class ClusteredScore(NamedTuple):
    """A mean over answers grouped into clusters (an item's k samples), with its uncertainty.

    stderr: the cluster-robust standard error (CR1, as statsmodels' OLS on a constant with
    `cov_type="cluster"`); n_clusters: items; n_effective: how many independent answers the
    clustered stderr is worth (Kish's design effect), the n of the Wilson interval `ci`.
    """

    mean: float
    stderr: float
    ci: Interval
    n_clusters: int
    n_effective: float


def clustered_stderr(values: Sequence[float], clusters: Sequence[object]) -> float:
    """Cluster-robust (CR1) standard error of the mean of `values`, clusters given per value.

    sqrt(G/(G-1) * sum_g (sum_{i in g} (x_i - mean))^2) / N, which is statsmodels'
    `OLS(values, ones).fit(cov_type="cluster", cov_kwds={"groups": clusters}).bse[0]`
    (its small-sample factor (N-1)/(N-K) is 1 for one regressor). With one value per cluster it
    is the ordinary sample stderr (ddof=1); with k equal-size clusters it is the sample stderr
    of the cluster means. 0 for fewer than two clusters.

    >>> round(clustered_stderr([1, 1, 0, 0], ["a", "a", "b", "b"]), 4)
    0.5
    """
    _check_paired(values, clusters, "values/clusters")
    if not values:
        return 0.0
    m = mean(values)
    sums: dict[object, float] = {}
    for x, g in zip(values, clusters, strict=True):
        sums[g] = sums.get(g, 0.0) + (x - m)
    g_count = len(sums)
    if g_count < 2:
        return 0.0
    return math.sqrt(g_count / (g_count - 1) * math.fsum(s * s for s in sums.values())) / len(values)


def clustered_score(values: Sequence[float], clusters: Sequence[object], z: float = 1.96) -> ClusteredScore:
    """Mean of 0/1 `values` with a stderr and Wilson interval that respect `clusters`.

    With one value per cluster this is the plain Wilson interval on n. With k answers per item
    the answers are not independent: the interval is Wilson's on the effective sample size
    n_eff = p(1-p) / V, V the plug-in clustered variance of the mean (sum over clusters of the
    squared summed deviations, over N^2): Kish's N / design effect. k identical answers per item
    give n_eff = n items exactly, never a sqrt(k) narrower interval; k independent answers give
    about N.

    >>> s = clustered_score([1, 1, 1, 0, 0, 0], ["a", "a", "a", "b", "b", "b"])
    >>> s.n_clusters, s.n_effective, round(s.stderr, 4)
    (2, 2.0, 0.5)
    """
    if not values:
        return ClusteredScore(0.0, 0.0, Interval(0.0, 1.0), 0, 0.0)
    n, groups = len(values), len(set(clusters))
    m = mean(values)
    se = clustered_stderr(values, clusters)
    if groups == n:  # one answer per item: the ordinary Wilson interval
        return ClusteredScore(m, se, wilson_ci(round(m * n), n, z), groups, float(n))
    sums: dict[object, float] = {}
    for x, g in zip(values, clusters, strict=True):
        sums[g] = sums.get(g, 0.0) + (x - m)
    plug_in = math.fsum(s * s for s in sums.values()) / (n * n)
    spread = m * (1 - m)
    if spread <= 0:
        n_eff = float(groups)  # all right or all wrong: count items, the cautious choice
    else:
        n_eff = float(n) if plug_in <= 0 else min(float(n), spread / plug_in)
    return ClusteredScore(m, se, wilson_interval(m, n_eff, z), groups, n_eff)


def wilson_interval(p: float, n: float, z: float = 1.96) -> Interval:
    """Wilson score interval for a proportion `p` observed on a (possibly fractional) `n`.

    >>> [round(x, 4) for x in wilson_interval(0.5, 4)]
    [0.15, 0.85]
    """
    if n <= 0:
        return Interval(0.0, 1.0)
    z2 = z * z
    denom = 1 + z2 / n
    center = (p + z2 / (2 * n)) / denom
    half = z / denom * math.sqrt(max(p * (1 - p), 0.0) / n + z2 / (4 * n * n))
    return Interval(0.0 if p <= 0 else max(0.0, center - half), 1.0 if p >= 1 else min(1.0, center + half))


def format_p(p: float, n_resamples: int | None = None) -> str:
    """A p-value as printed: never "0.000". A bootstrap p of 0 reads "< 1/n_resamples"; an exact
    p below 0.001 is shown in scientific notation ("< 1e-300" where it underflowed to 0).

    >>> format_p(0.0, 1000), format_p(0.0213), format_p(2.5e-7), format_p(0.0)
    ('< 0.001', '0.021', '2.5e-07', '< 1e-300')
    """
    if p <= 0:
        return f"< {1 / n_resamples:g}" if n_resamples else "< 1e-300"
    if n_resamples and p < 1 / n_resamples:
        return f"< {1 / n_resamples:g}"
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


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
