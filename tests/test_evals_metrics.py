"""Metric arithmetic pinned on fixed inputs; expected values are worked by hand in the comments."""

from __future__ import annotations

import math
import random

import pytest

from galen.evals.metrics import (
    Interval,
    McNemar,
    accuracy,
    binom_two_sided_half,
    bootstrap_ci,
    bootstrap_std,
    clustered_score,
    clustered_stderr,
    format_p,
    macro_f1,
    maj_at_k,
    majority_vote,
    mcnemar,
    mean,
    mean_stderr,
    normal_ci,
    paired_bootstrap,
    pass_at_k,
    percentile,
    wilson_ci,
    win_rate,
)

COIN = [0.0, 1.0] * 50  # mean 0.5, sample sd 0.5025 (= sqrt(25/99))


def test_accuracy_counts_none_as_wrong() -> None:
    assert accuracy(["A", "B", "C", "D"], ["A", "B", None, "A"]) == 0.5
    with pytest.raises(ValueError, match="lengths differ"):
        accuracy(["A"], [])


def test_mean_stderr() -> None:
    # mean 5; squared deviations 9+1+1+1+0+0+4+16 = 32; var = 32/7; se = sqrt(32/7/8) = sqrt(4/7)
    m, se = mean_stderr([2, 4, 4, 4, 5, 5, 7, 9])
    assert m == 5
    assert se == pytest.approx(math.sqrt(4 / 7))
    assert se == pytest.approx(0.7559289)
    assert mean_stderr([0.7]) == (0.7, 0.0)
    assert mean_stderr([]) == (0.0, 0.0)  # an empty run scores 0 instead of crashing its report


def test_wilson_ci() -> None:
    # 8/10, z=1.96: denom 1 + 3.8416/10 = 1.38416; centre (0.8 + 0.19208)/1.38416 = 0.716738;
    # half 1.96/1.38416 * sqrt(0.016 + 0.009604) = 0.226581 -> (0.490157, 0.943319),
    # the textbook Wilson interval for 8/10 (0.4902, 0.9433)
    low, high = wilson_ci(8, 10)
    assert (low, high) == pytest.approx((0.490157, 0.943319), abs=2e-6)
    assert wilson_ci(0, 10) == pytest.approx((0.0, 0.277540), abs=1e-6)
    assert wilson_ci(10, 10) == pytest.approx((0.722460, 1.0), abs=1e-6)  # mirror of 0/10
    assert wilson_ci(0, 0) == Interval(0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_ci(11, 10)


def test_normal_ci() -> None:
    assert normal_ci(0.6, 0.05) == pytest.approx((0.502, 0.698))
    assert normal_ci(0.6, 0.05, z=1.0) == pytest.approx((0.55, 0.65))


def test_macro_f1_matches_sklearn_by_hand() -> None:
    golds = ["yes", "yes", "yes", "no", "no", "maybe"]
    preds = ["yes", "yes", "no", "no", "maybe", None]
    # yes: tp 2, fp 0, fn 1 -> 4/5; no: tp 1, fp 1, fn 1 -> 2/4; maybe: tp 0, fp 1, fn 1 -> 0
    # macro = (0.8 + 0.5 + 0) / 3 = 0.433333
    assert macro_f1(golds, preds, ["yes", "no", "maybe"]) == pytest.approx(1.3 / 3)


def test_macro_f1_zero_division_and_out_of_label_predictions() -> None:
    # "maybe" never gold nor predicted: F1 0 (zero_division=0), still averaged in -> 2/3
    assert macro_f1(["yes", "no"], ["yes", "no"], ["yes", "no", "maybe"]) == pytest.approx(2 / 3)
    # "unsure" is no label: a miss for "yes", a false positive for nothing -> yes 0, no 1 -> 0.5
    assert macro_f1(["yes", "no"], ["unsure", "no"], ["yes", "no"]) == 0.5
    assert macro_f1(["yes"], [None], ["yes", "no"]) == 0.0


def test_percentile_interpolates_like_numpy() -> None:
    assert percentile([4, 1, 3, 2], 0.025) == pytest.approx(1.075)  # 1 + 0.075 * (2 - 1)
    assert percentile([4, 1, 3, 2], 0.975) == pytest.approx(3.925)
    assert percentile([7.0], 0.5) == 7.0


def test_bootstrap_ci_is_reproducible_and_sensible() -> None:
    ci = bootstrap_ci(COIN)
    assert ci == bootstrap_ci(COIN, seed=0)
    assert ci != bootstrap_ci(COIN, seed=1)
    # normal approximation: 0.5 +/- 1.96 * 0.05 = (0.402, 0.598)
    assert ci.low == pytest.approx(0.40, abs=0.03)
    assert ci.high == pytest.approx(0.60, abs=0.03)
    assert bootstrap_ci([3.0] * 7) == (3.0, 3.0)
    assert bootstrap_ci(COIN, stat=max) == (1.0, 1.0)


def test_bootstrap_std_is_close_to_the_stderr() -> None:
    # stderr of the mean (ddof=0 plug-in, as the bootstrap sees it) = 0.5 / sqrt(100) = 0.05
    assert bootstrap_std(COIN) == pytest.approx(0.05, abs=0.005)
    assert bootstrap_std([1.0, 1.0]) == 0.0
    with pytest.raises(ValueError):
        bootstrap_std([])


def test_paired_bootstrap() -> None:
    a = [0.0] * 20
    b = [1.0] * 10 + [0.0] * 10
    diff = paired_bootstrap(a, b)
    assert diff.mean_diff == 0.5
    # se of the mean diff = 0.5 / sqrt(20) = 0.112, so roughly 0.5 +/- 0.22
    assert 0.2 < diff.ci_low < diff.mean_diff < diff.ci_high < 0.8
    assert diff.p_value == 0.0  # no resample of 20 items draws only the 10 zeros in practice

    same = paired_bootstrap(b, b)
    assert (same.mean_diff, same.ci_low, same.ci_high, same.p_value) == (0.0, 0.0, 0.0, 1.0)


def test_paired_bootstrap_p_value_by_hand() -> None:
    # deltas (b - a) = [1, 0]: observed 0.5; a resample has mean <= 0 only when it draws item 2
    # twice, probability 1/4, so p = 2 * 1/4 = 0.5
    diff = paired_bootstrap([0.0, 1.0], [1.0, 1.0], n_resamples=4000)
    assert diff.mean_diff == 0.5
    assert diff.p_value == pytest.approx(0.5, abs=0.05)
    # B worse: sign flips, same p
    flipped = paired_bootstrap([1.0, 1.0], [0.0, 1.0], n_resamples=4000)
    assert flipped.mean_diff == -0.5
    assert flipped.p_value == pytest.approx(0.5, abs=0.05)
    with pytest.raises(ValueError, match="lengths differ"):
        paired_bootstrap([1.0], [1.0, 0.0])


def test_binomial_p_values() -> None:
    # n=10, k=1: 2 * (C(10,0) + C(10,1)) / 2^10 = 2 * 11 / 1024 = 0.021484375
    assert binom_two_sided_half(1, 10) == 22 / 1024
    assert binom_two_sided_half(9, 10) == 22 / 1024
    # n=10, k=2: 2 * (1 + 10 + 45) / 1024 = 0.109375
    assert binom_two_sided_half(2, 10) == 0.109375
    # n=5, k=0: 2 / 32 = 0.0625
    assert binom_two_sided_half(0, 5) == 0.0625
    assert binom_two_sided_half(5, 10) == 1.0
    assert binom_two_sided_half(0, 0) == 1.0
    # large n stays exact and finite: k=0 of 2000 underflows to 0.0, not an error
    assert binom_two_sided_half(1000, 2000) == 1.0
    assert binom_two_sided_half(0, 2000) == 0.0


def test_mcnemar() -> None:
    # 1 item only B got right (b01), 9 only A got right (b10), 5 both right, 3 both wrong
    a = [False] * 1 + [True] * 9 + [True] * 5 + [False] * 3
    b = [True] * 1 + [False] * 9 + [True] * 5 + [False] * 3
    result = mcnemar(a, b)
    assert result == McNemar(b01=1, b10=9, statistic=1.0, p_value=22 / 1024)
    assert result.p_value == pytest.approx(0.0215, abs=1e-4)
    assert mcnemar(b, a).b01 == 9
    assert mcnemar(b, a).p_value == result.p_value


def test_mcnemar_without_discordant_pairs() -> None:
    assert mcnemar([True, False], [True, False]) == McNemar(0, 0, 0.0, 1.0)


def test_majority_vote() -> None:
    assert majority_vote(["B", "C", "C"]) == "C"
    assert majority_vote(["B", None, "C", "C", "B"]) == "B"  # tie: B seen first
    assert majority_vote([None, "D", None, None]) == "D"
    assert majority_vote([None, None]) is None
    assert majority_vote([]) is None


def test_maj_at_k() -> None:
    answers = ["A", "B", "B", "A", "A"]
    assert maj_at_k(answers, "B", 3)
    assert maj_at_k(answers, "A", 5)
    assert maj_at_k(answers, "A", 2)  # tie A/B: A first
    with pytest.raises(ValueError):
        maj_at_k(answers, "A", 6)


def test_pass_at_k() -> None:
    assert pass_at_k(5, 2, 2) == pytest.approx(0.7)  # 1 - C(3,2)/C(5,2) = 1 - 3/10
    assert pass_at_k(5, 0, 3) == 0.0
    assert pass_at_k(5, 5, 1) == 1.0


def test_win_rate() -> None:
    outcomes = ["win"] * 6 + ["loss"] * 3 + ["tie"] * 1
    r = win_rate(outcomes)
    assert (r.n, r.win, r.loss, r.tie) == (10, 0.6, 0.3, 0.1)
    assert r.net == pytest.approx(0.3)
    for rate, ci in [(r.win, r.win_ci), (r.loss, r.loss_ci), (r.tie, r.tie_ci), (r.net, r.net_ci)]:
        assert ci.low <= rate <= ci.high
    assert r.net_ci.low < 0 < r.net_ci.high  # 10 judgements cannot separate a +0.3 net from 0
    assert r == win_rate(outcomes)  # same seed, same CIs


def test_win_rate_degenerate_and_invalid() -> None:
    r = win_rate(["win"] * 4)
    assert (r.win_ci, r.net_ci, r.loss_ci) == ((1.0, 1.0), (1.0, 1.0), (0.0, 0.0))
    with pytest.raises(ValueError, match="win"):
        win_rate(["win", "draw"])
    with pytest.raises(ValueError):
        win_rate([])


def test_mean() -> None:
    assert mean([0.1] * 10) == 0.1  # fsum: no drift
    with pytest.raises(ValueError):
        mean([])


# ------------------------------------------------- parity with scipy, statsmodels, scikit-learn
# galen.evals.metrics is standard-library Python (the product does not need these libraries);
# the reference implementations are dev dependencies and pin it here on random inputs.


def _random_binary(seed: int, n: int, p: float = 0.6) -> list[float]:
    rng = random.Random(seed)
    return [float(rng.random() < p) for _ in range(n)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clustered_stderr_equals_statsmodels_cluster_robust_ols(seed: int) -> None:
    import numpy as np
    import statsmodels.api as sm

    rng = random.Random(seed)
    clusters = [f"q{rng.randrange(25)}" for _ in range(120)]  # unequal cluster sizes
    values = _random_binary(seed, 120)
    fit = sm.OLS(np.array(values), np.ones((120, 1))).fit(
        cov_type="cluster", cov_kwds={"groups": np.unique(clusters, return_inverse=True)[1]}
    )
    assert clustered_stderr(values, clusters) == pytest.approx(float(fit.bse[0]), rel=1e-9)
    # one value per cluster: the ordinary sample stderr (ddof=1), as scipy.stats.sem
    from scipy import stats

    assert clustered_stderr(values, range(120)) == pytest.approx(float(stats.sem(values)), rel=1e-12)


def test_clustered_ci_is_as_wide_as_the_items_allow() -> None:
    """k identical answers per item carry the information of one answer per item: the clustered
    interval is the k = 1 interval, where treating the n*k answers as independent would make it
    about sqrt(k) narrower."""
    from statsmodels.stats.proportion import proportion_confint

    items = _random_binary(5, 40)
    one = clustered_score(items, range(40))
    for k in (2, 4, 8):
        values = [x for x in items for _ in range(k)]
        clusters = [i for i in range(40) for _ in range(k)]
        got = clustered_score(values, clusters)
        assert got.mean == one.mean and got.n_clusters == 40 and got.n_effective == pytest.approx(40)
        assert got.ci == pytest.approx(one.ci, abs=1e-12)
        naive = wilson_ci(int(sum(values)), len(values))
        assert (naive.high - naive.low) == pytest.approx((one.ci.high - one.ci.low) / math.sqrt(k), rel=0.15)
        assert got.stderr == pytest.approx(one.stderr, rel=1e-12)
    # independent answers within items: the interval narrows towards the n*k one
    rng = random.Random(9)
    values = [float(rng.random() < 0.5) for _ in range(400)]
    spread = clustered_score(values, [i // 4 for i in range(400)], z=1.959963984540054)
    assert 250 < spread.n_effective <= 400
    low, high = proportion_confint(spread.mean * spread.n_effective, spread.n_effective, method="wilson")
    assert spread.ci == pytest.approx((low, high), abs=1e-12)


@pytest.mark.parametrize(("successes", "n"), [(0, 10), (3, 10), (8, 10), (10, 10), (37, 120), (1, 1)])
def test_wilson_ci_equals_statsmodels(successes: int, n: int) -> None:
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(successes, n, alpha=0.05, method="wilson")
    assert wilson_ci(successes, n, z=1.959963984540054) == pytest.approx((low, high), abs=1e-12)


@pytest.mark.parametrize(("k", "n"), [(0, 5), (1, 10), (3, 17), (9, 10), (40, 100), (0, 60)])
def test_binomial_and_mcnemar_equal_scipy_and_statsmodels(k: int, n: int) -> None:
    from scipy.stats import binomtest
    from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

    assert binom_two_sided_half(k, n) == pytest.approx(binomtest(k, n, 0.5).pvalue, rel=1e-9)
    a = [True] * k + [False] * (n - k) + [True] * 7 + [False] * 3
    b = [False] * k + [True] * (n - k) + [True] * 7 + [False] * 3
    ours = mcnemar(a, b)
    ref = sm_mcnemar([[7, k], [n - k, 3]], exact=True)
    assert ours.statistic == ref.statistic and ours.p_value == pytest.approx(ref.pvalue, rel=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_macro_f1_equals_sklearn(seed: int) -> None:
    from sklearn.metrics import f1_score

    rng = random.Random(seed)
    labels = ["yes", "no", "maybe"]
    golds = [rng.choice(labels) for _ in range(60)]
    preds = [rng.choice([*labels, None]) for _ in range(60)]
    ref = f1_score(golds, [p or "<none>" for p in preds], labels=labels, average="macro", zero_division=0)
    assert macro_f1(golds, preds, labels) == pytest.approx(ref, abs=1e-12)


def test_percentile_equals_numpy() -> None:
    import numpy as np

    values = [random.Random(3).random() for _ in range(37)]
    for q in (0.0, 0.025, 0.5, 0.975, 1.0):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q * 100)), abs=1e-12)


def test_format_p_never_prints_zero() -> None:
    assert format_p(0.0, 1000) == "< 0.001" and format_p(0.0004, 1000) == "< 0.001"
    assert format_p(0.0) == "< 1e-300" and format_p(1.7e-18) == "1.7e-18"
    assert format_p(0.25, 1000) == "0.250" and format_p(1.0) == "1.000"
